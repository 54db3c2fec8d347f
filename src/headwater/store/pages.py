"""What the run store reads for a UI: pages with cursors, counts by state, aggregates.

A page of a history of 1,000,000 flow runs, or of a flow run with 100,000 task runs, is one
indexed query in SQL; nothing here reads every row to show twenty. A cursor is the sort key
of the last row shown (`(created, id)` for flow runs), so the next page starts after it,
whatever was written in between: no OFFSET that drifts, or that costs more the deeper it goes.

The filters and views live here; every store implements the methods on `RunStore` that take
and return them (`sql_pages.py` for SQL, `memory_pages.py` for memory).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Every state type a run can be in, as stored in `state_type`, in the order a UI shows them.
STATE_TYPES = (
    "SCHEDULED", "PENDING", "RUNNING", "PAUSED", "CANCELLING", "COMPLETED", "FAILED",
    "CANCELLED", "CRASHED",
)
# What a run that has no state yet (its first record is not stored yet) is counted as.
NO_STATE = "PENDING"


@dataclass(frozen=True)
class TaskRunFilter:
    """Which task runs of one flow run `read_task_run_page` and `count_task_runs` select.

    Attributes:
        state_types: only runs whose state type is one of these (e.g. "FAILED").
        task_key: only runs of this task (its `task_key`).
        window: (start, end), seconds since the epoch: only runs that were running at some
            moment in it (started before `end`, and not ended before `start`).
        order: "created" (creation order) or "start_time" (only runs that started).
        after: the cursor: the sort key and id of the last run of the previous page.
        limit: at most this many runs.
    """

    state_types: tuple[str, ...] = ()
    task_key: str | None = None
    window: tuple[float, float] | None = None
    order: str = "created"
    after: tuple[float, str] | None = None
    limit: int = 100


@dataclass(frozen=True)
class LogFilter:
    """Which log lines of a flow run (and its task runs) `read_log_page` returns.

    Attributes:
        after_id: only lines with a larger id (follow a running flow with the last id seen).
        before_id: only lines with a smaller id (page back from the oldest id shown).
        min_level: only lines at this logging level or above (e.g. 30 for warnings).
        task_run_id: only lines of this task run (text id).
        newest_first: the newest `limit` lines, newest first; otherwise the oldest, in order.
        limit: at most this many lines.
    """

    after_id: int = 0
    before_id: int | None = None
    min_level: int = 0
    task_run_id: str | None = None
    newest_first: bool = False
    limit: int = 200


@dataclass(frozen=True)
class FlowSummaryView:
    """One flow, by name, as its runs show it.

    Attributes:
        name: the flow's name.
        runs: how many flow runs of it are stored.
        last_created: when its newest run was created (seconds since the epoch).
    """

    name: str
    runs: int
    last_created: float


@dataclass(frozen=True)
class TaskGroupView:
    """The task runs of one task inside one flow run, added up.

    Attributes:
        task_key: the task's key. task_name: its name.
        total: how many task runs. states: how many in each state type.
        first_start: the earliest start among them. last_end: the latest end.
        total_duration: the sum of their durations (finished runs), seconds.
        max_duration: the longest one, seconds.
    """

    task_key: str
    task_name: str
    total: int
    states: dict[str, int] = field(default_factory=dict)
    first_start: float | None = None
    last_end: float | None = None
    total_duration: float = 0.0
    max_duration: float | None = None


@dataclass(frozen=True)
class DependencyGroupView:
    """How many task runs of `downstream_key` used a result of `upstream_key` in one flow run.

    `upstream_kind` is "task" (a task key) or "flow" (a subflow run's flow name), or "run"
    when the upstream run is not stored.
    """

    upstream_kind: str
    upstream_key: str
    downstream_key: str
    count: int


def count_by_state(pairs: list[tuple[str | None, int]]) -> dict[str, int]:
    """`(state_type, count)` rows as a dict, a missing state counted as `NO_STATE`."""
    counts: dict[str, int] = {}
    for state_type, count in pairs:
        key = state_type or NO_STATE
        counts[key] = counts.get(key, 0) + int(count)
    return counts


def check_state_types(values: tuple[str, ...]) -> tuple[str, ...]:
    """Upper-case state types, each one of `STATE_TYPES`.

    Raises:
        ValueError: a value is not a state type; the message lists them.
    """
    wanted = tuple(v.strip().upper() for v in values)
    for value, given in zip(wanted, values, strict=True):
        if value not in STATE_TYPES:
            raise ValueError(
                f"{given!r} is not a state type. Use one of: "
                f"{', '.join(t.lower() for t in STATE_TYPES)}."
            )
    return wanted


def histogram_edges(start: float, end: float, buckets: int) -> list[float]:
    """The `buckets + 1` edges that split [start, end) into equal buckets."""
    width = (end - start) / buckets
    return [start + width * i for i in range(buckets)] + [end]
