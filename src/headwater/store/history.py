"""What the CLI and the server ask of run history: functions over a `RunStore`.

Commands parse their input, call one of these, and render what comes back. Nothing here
prints or knows about click.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from headwater.errors import ParameterParseError
from headwater.store.base import (
    FINAL_STATE_TYPES,
    DependencyView,
    FlowRunFilter,
    FlowRunView,
    LogView,
    PruneResult,
    RunStore,
    StateView,
    TaskRunView,
)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class RunDetails:
    """Everything `headwater runs inspect` shows about one flow run."""

    run: FlowRunView
    states: list[StateView]
    task_runs: list[TaskRunView]
    subflows: list[FlowRunView]
    dependencies: list[DependencyView]


def detect_crashes(store: RunStore, *, now: float | None = None) -> list[UUID]:
    """Mark Crashed the flow runs whose process stopped heartbeating.

    A run is crashed when it is not final and its last heartbeat (or its creation) is older
    than `HEADWATER_CRASH_AFTER_SECONDS` (default 30 s; heartbeats come every 5 s).

    Returns:
        The ids of the runs marked Crashed now.
    """
    from headwater import settings

    now = time.time() if now is None else now
    return store.mark_crashed(heartbeat_before=now - settings.crash_after_seconds(), now=now)


def list_runs(
    store: RunStore, *, flow: str | None = None, state: str | None = None, limit: int | None = 20
) -> list[FlowRunView]:
    """The newest flow runs, after marking crashed ones (so none shows "Running" forever)."""
    detect_crashes(store)
    return store.read_flow_runs(FlowRunFilter(flow_name=flow, state=state, limit=limit))


def inspect_run(store: RunStore, run_id: str) -> RunDetails:
    """One flow run with its state history, task runs, subflows and lineage.

    Raises:
        RunNotFoundError: no flow run has that id (or unique id prefix).
    """
    detect_crashes(store)
    run = store.read_flow_run(run_id)
    return RunDetails(
        run=run,
        states=store.read_states(run.id),
        task_runs=store.read_task_runs(run.id),
        subflows=store.read_flow_runs(FlowRunFilter(parent_flow_run_id=run.id, limit=None)),
        dependencies=store.read_dependencies(run.id),
    )


def run_logs(
    store: RunStore,
    run_id: str,
    *,
    follow: bool = False,
    poll_seconds: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[LogView]:
    """The log lines of a flow run; with `follow`, keep yielding new ones until it ends.

    Raises:
        RunNotFoundError: no flow run has that id.
    """
    run = store.read_flow_run(run_id)
    last = 0
    while True:
        finished = store.read_flow_run(str(run.id)).state_type in FINAL_STATE_TYPES
        for line in store.read_logs(run.id, after_id=last):
            last = line.id
            yield line
        if not follow or finished:
            return
        sleep(poll_seconds)
        detect_crashes(store)  # so following a run whose process died ends


def parse_duration(text: str) -> float:
    """`30d`, `12h`, `90m`, `45s` or `2w` as seconds.

    Raises:
        ParameterParseError: the text is not a number followed by one of s, m, h, d, w.
    """
    match = _DURATION.match(text)
    if match is None:
        raise ParameterParseError(
            f"{text!r} is not a duration. Write a number and a unit, e.g. '30d' (days), "
            f"'12h', '90m', '45s' or '2w'."
        )
    return float(match.group(1)) * _UNITS[match.group(2).lower()]


def prune_older_than(store: RunStore, older_than: str, *, now: float | None = None) -> PruneResult:
    """Delete flow runs created more than `older_than` ago (e.g. '30d'), with everything
    that belongs to them."""
    seconds = parse_duration(older_than)
    now = time.time() if now is None else now
    return store.prune(created_before=now - seconds)


def run_summary(run: FlowRunView | TaskRunView) -> dict[str, Any]:
    """A run as plain JSON-ready values (for `--json`)."""
    summary: dict[str, Any] = {
        "id": str(run.id),
        "name": run.name,
        "state": run.state_name,
        "state_type": run.state_type,
        "message": run.state_message,
        "created": run.created,
        "start_time": run.start_time,
        "end_time": run.end_time,
        "duration": run.duration,
        "run_count": run.run_count,
        "parameters": run.parameters,
        "tags": list(run.tags),
    }
    if isinstance(run, FlowRunView):
        summary["flow_name"] = run.flow_name
        summary["parent_flow_run_id"] = (
            str(run.parent_flow_run_id) if run.parent_flow_run_id else None
        )
    else:
        summary["task_name"] = run.task_name
        summary["flow_run_id"] = str(run.flow_run_id) if run.flow_run_id else None
    return summary
