"""Rendering for the CLI: rich tables and lines, or JSON. No store access happens here."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from headwater.store.base import FlowRunView, LogView, StateView, TaskRunView
from headwater.store.history import RunDetails, run_summary

STATE_STYLES = {
    "COMPLETED": "green", "FAILED": "red", "CRASHED": "magenta", "CANCELLED": "yellow",
    "RUNNING": "blue", "PENDING": "dim", "SCHEDULED": "cyan", "PAUSED": "yellow",
}


def console() -> Console:
    # Resolved at call time, so click's test runner (which swaps sys.stdout) sees the output.
    return Console(highlight=False, soft_wrap=False)


def when(seconds: float | None, *, short: bool = False) -> str:
    if seconds is None:
        return "-"
    moment = datetime.fromtimestamp(seconds)
    if short:
        same_day = moment.date() == datetime.now().date()
        return moment.strftime("%H:%M:%S" if same_day else "%m-%d %H:%M")
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 0.1:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.2f} s"
    return f"{seconds / 60:.1f} min"


def state_text(state_type: str | None, state_name: str | None) -> Text:
    return Text(state_name or "-", style=STATE_STYLES.get(state_type or "", ""))


def print_json(value: Any) -> None:
    click_echo(json.dumps(value, indent=2, default=str))


def click_echo(text: str) -> None:
    import click

    click.echo(text)


def runs_table(runs: list[FlowRunView], title: str = "Flow runs") -> Table:
    # Simple borders and folding cells: the full id always fits (it is what users copy),
    # and names wrap rather than turn into "…" on an 80-column terminal.
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("ID", no_wrap=True)
    for column in ("Flow", "Name"):
        table.add_column(column, overflow="fold", min_width=6)
    for column in ("State", "Started", "Duration"):
        table.add_column(column, no_wrap=True)
    for run in runs:
        table.add_row(
            str(run.id), run.flow_name, run.name, state_text(run.state_type, run.state_name),
            when(run.start_time or run.created, short=True), duration(run.duration),
        )
    return table


def print_runs(runs: list[FlowRunView], as_json: bool) -> None:
    if as_json:
        print_json([run_summary(run) for run in runs])
    elif not runs:
        console().print("No flow runs recorded yet. Run a flow, e.g. `python examples/hello.py`.")
    else:
        console().print(runs_table(runs))


def _states_table(states: list[StateView]) -> Table:
    table = Table(title="State history", title_justify="left")
    for column in ("Time", "State", "Message"):
        table.add_column(column)
    for state in states:
        table.add_row(when(state.timestamp), state_text(state.type, state.name),
                      state.message or "")
    return table


def _tasks_table(task_runs: list[TaskRunView]) -> Table:
    table = Table(title=f"Task runs ({len(task_runs)})", title_justify="left")
    for column in ("Name", "Task", "State", "Runs", "Duration"):
        table.add_column(column)
    for task in task_runs[:200]:
        table.add_row(task.name, task.task_name, state_text(task.state_type, task.state_name),
                      str(task.run_count), duration(task.duration))
    if len(task_runs) > 200:
        table.add_row(f"... {len(task_runs) - 200} more (use --json)", "", "", "", "")
    return table


def print_details(details: RunDetails, as_json: bool) -> None:
    if as_json:
        print_json({
            **run_summary(details.run),
            "result": details.run.result,
            "states": [vars(s) for s in details.states],
            "task_runs": [run_summary(t) for t in details.task_runs],
            "subflows": [run_summary(f) for f in details.subflows],
            "dependencies": [vars(d) for d in details.dependencies],
        })
        return
    out = console()
    run = details.run
    out.print(Text.assemble(("Flow run ", "bold"), (run.name, "bold cyan"), f"  {run.id}"))
    out.print(Text.assemble("Flow: ", run.flow_name, "   State: ",
                            state_text(run.state_type, run.state_name),
                            f"   Duration: {duration(run.duration)}"))
    if run.state_message:
        out.print(f"Message: {run.state_message}")
    out.print(f"Parameters: {json.dumps(run.parameters, default=str)}")
    if run.result is not None:
        out.print(f"Result: {run.result[:500]}")
    out.print(_states_table(details.states))
    out.print(_tasks_table(details.task_runs))
    if details.subflows:
        out.print(runs_table(details.subflows, title="Subflow runs"))


def print_log(line: LogView, as_json: bool) -> None:
    import logging

    if as_json:
        click_echo(json.dumps({**vars(line), "flow_run_id": str(line.flow_run_id),
                               "task_run_id": str(line.task_run_id) if line.task_run_id else None}))
        return
    level = logging.getLevelName(line.level)
    stamp = datetime.fromtimestamp(line.timestamp).strftime("%H:%M:%S.%f")[:-3]
    click_echo(f"{stamp} | {level:<7} | {line.message}")
