"""Rendering for the CLI: rich tables and lines, or JSON. No store access happens here."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from headwater.store.base import (
    AssetMaterializationView,
    AssetView,
    FlowRunView,
    LogView,
    StateView,
    TaskRunView,
)
from headwater.store.history import (
    AssetDetails,
    RunDetails,
    asset_summary,
    materialization_summary,
    run_summary,
)

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


def unique_prefixes(ids: list[str], shortest: int = 13) -> dict[str, str]:
    """The shortest prefix of each id that no other listed id starts with (at least
    `shortest` characters: the creation time to the millisecond), so it can be copied into
    any command that takes an id."""
    prefixes = {}
    for run_id in ids:
        length = shortest
        while length < len(run_id) and any(
            other != run_id and other.startswith(run_id[:length]) for other in ids
        ):
            length += 1
        prefixes[run_id] = run_id[:length]
    return prefixes


def runs_table(
    runs: list[FlowRunView], title: str = "Flow runs",
    subflows: dict[Any, list[FlowRunView]] | None = None,
) -> Table:
    # Simple borders, no cell ever split mid-word (long names end in "…"), subflows indented
    # under their parent: the table fits an 80-column terminal. `--json` gives full ids.
    children = subflows or {}
    rows = [(run, 0) for run in runs]
    nested: list[tuple[FlowRunView, int]] = []
    for run, _ in rows:
        nested.append((run, 0))
        nested.extend((child, 1) for child in children.get(run.id, []))
    ids = unique_prefixes([str(run.id) for run, _ in nested])
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    # An id is only useful whole (it is what a user copies), and so are the state, the start
    # and the duration: those columns keep their width; the flow and run names give way.
    id_width = max(map(len, ids.values()), default=8)
    flow_width = min(24, max([10, *(len(run.flow_name) + 2 * depth for run, depth in nested)]))
    fixed = id_width + 9 + 8 + 8 + 2 * 5  # ID, State, Started, Took, and the gaps between
    name_width = max(6, console().width - fixed - flow_width - 1)
    if name_width == 6:  # a narrow terminal: the flow column gives way too
        flow_width = max(6, console().width - fixed - name_width - 1)
    table.add_column("ID", no_wrap=True, min_width=id_width)
    table.add_column("Flow", no_wrap=True, overflow="ellipsis", max_width=flow_width)
    table.add_column("Name", no_wrap=True, overflow="ellipsis", max_width=name_width)
    table.add_column("State", no_wrap=True, min_width=9)
    table.add_column("Started", no_wrap=True, min_width=8)
    table.add_column("Took", no_wrap=True, min_width=8)
    for run, depth in nested:
        table.add_row(
            ids[str(run.id)], ("└ " if depth else "") + run.flow_name, run.name,
            state_text(run.state_type, run.state_name),
            when(run.start_time or run.created, short=True), duration(run.duration),
        )
    return table


def print_runs(
    runs: list[FlowRunView], as_json: bool, *, filtered: bool = False,
    subflows: dict[Any, list[FlowRunView]] | None = None,
) -> None:
    if as_json:
        print_json([run_summary(run) for run in runs])
    elif not runs and filtered:
        console().print("No flow run matches these filters. Try `headwater runs ls` without "
                        "them.")
    elif not runs:
        console().print("No flow runs recorded yet. Run a flow, e.g. `python examples/hello.py`.")
    else:
        console().print(runs_table(runs, subflows=subflows))


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


ASSET_STATUS_STYLES = {"succeeded": "green", "failed": "red"}


def asset_status(status: str | None) -> Text:
    if status is None:
        return Text("referenced only", style="dim")
    return Text(status.capitalize(), style=ASSET_STATUS_STYLES.get(status, ""))


def print_assets(assets: list[AssetView], as_json: bool) -> None:
    if as_json:
        print_json([asset_summary(asset) for asset in assets])
        return
    if not assets:
        console().print("No assets recorded yet. Run a flow with a @materialize task, e.g. "
                        "`python examples/assets_pipeline.py`.")
        return
    table = Table(title="Assets", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("Key", no_wrap=True, overflow="ellipsis", min_width=12)
    table.add_column("Name", no_wrap=True, overflow="ellipsis")
    for column in ("Latest", "Materialized", "Count"):
        table.add_column(column, no_wrap=True)
    for asset in assets:
        table.add_row(asset.key, str(asset.properties.get("name") or ""),
                      asset_status(asset.latest_status), when(asset.latest_time, short=True),
                      str(asset.materializations))
    console().print(table)


def _run_label(flow_runs: dict[Any, FlowRunView], item: AssetMaterializationView) -> str:
    run = flow_runs.get(item.flow_run_id)
    if run is not None:
        return f"{run.flow_name}/{run.name} {run.id}"
    return str(item.flow_run_id) if item.flow_run_id else "-"


def _history_table(details: AssetDetails) -> Table:
    flow_runs = {run.id: run for run in details.flow_runs}
    table = Table(title=f"Materializations, newest first ({len(details.history)} shown)",
                  title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("Time", "Status", "Flow run", "Task run", "Upstream", "Metadata"):
        table.add_column(column, overflow="fold")
    for item in details.history:
        task = details.task_runs.get(item.task_run_id) if item.task_run_id else None
        table.add_row(
            when(item.timestamp), asset_status(item.status), _run_label(flow_runs, item),
            task.name if task is not None else str(item.task_run_id or "-"),
            "\n".join(item.upstream) or "-",
            json.dumps(item.metadata, default=str) if item.metadata else "",
        )
    return table


def print_asset_details(details: AssetDetails, as_json: bool) -> None:
    asset, lineage, latest = details.asset, details.lineage, details.latest
    if as_json:
        print_json({
            **asset_summary(asset),
            "latest": materialization_summary(latest, details.task_runs) if latest else None,
            "history": [materialization_summary(m, details.task_runs) for m in details.history],
            "upstream": list(lineage.upstream), "downstream": list(lineage.downstream),
            "edges": [list(edge) for edge in lineage.edges],
            "flow_runs": [run_summary(run) for run in details.flow_runs],
        })
        return
    out = console()
    out.print(Text.assemble(("Asset ", "bold"), (asset.key, "bold cyan")))
    for field in ("name", "description", "url", "owners"):
        if asset.properties.get(field):
            out.print(f"{field.capitalize()}: {asset.properties[field]}")
    if latest is None:
        out.print(Text.assemble("Latest: ", asset_status(None),
                                f" (last seen {when(asset.last_seen)})"))
    else:
        flow_runs = {run.id: run for run in details.flow_runs}
        by = f" by {latest.materialized_by}" if latest.materialized_by else ""
        out.print(Text.assemble("Latest: ", asset_status(latest.status),
                                f" at {when(latest.timestamp)}{by}, flow run "
                                f"{_run_label(flow_runs, latest)}"))
    out.print(f"Materializations: {asset.materializations}")
    out.print(f"Upstream:   {', '.join(lineage.upstream) or '(none)'}")
    out.print(f"Downstream: {', '.join(lineage.downstream) or '(none)'}")
    if details.history:
        out.print(_history_table(details))
    if details.flow_runs:
        out.print(runs_table(details.flow_runs, title="Flow runs that materialized it"))


def print_log(line: LogView, as_json: bool, task_name: str | None = None) -> None:
    import logging

    if as_json:
        click_echo(json.dumps({**vars(line), "flow_run_id": str(line.flow_run_id),
                               "task_run_id": str(line.task_run_id) if line.task_run_id else None,
                               "task_run_name": task_name}))
        return
    level = logging.getLevelName(line.level)
    stamp = datetime.fromtimestamp(line.timestamp).strftime("%H:%M:%S.%f")[:-3]
    who = f"Task run {task_name!r}" if task_name else "Flow run"
    click_echo(f"{stamp} | {level:<7} | {who} - {line.message}")
