"""What the run store reads for a UI: pages with cursors, counts by state, aggregates.

A page of a history of 1,000,000 flow runs, or of a flow run with 100,000 task runs, is one
indexed query in SQL; nothing here reads every row to show twenty. A cursor is the sort key
of the last row shown (`(created, id)` for flow runs), so the next page starts after it,
whatever was written in between: no OFFSET that drifts, or that costs more the deeper it goes.

The filters and views live here; every store implements the methods on `RunStore` that take
and return them (`sql_pages.py` for SQL, `memory_pages.py` for memory).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from uuid import UUID

from headwater.store.views import FlowRunFilter, LogView, TaskRunView

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


class PageMethods:
    """The pages and aggregates a UI reads: part of `RunStore`, implemented by every store."""

    def count_flow_runs(self, filter: FlowRunFilter | None = None) -> dict[str, int]:
        """How many flow runs match `filter` (its `limit` and `after` ignored), by state type.

        Returns:
            State type -> count; a type with no run is left out (a run with no state yet
            counts as PENDING).
        """
        raise NotImplementedError

    def flow_run_histogram(
        self, filter: FlowRunFilter | None, *, start: float, end: float, buckets: int
    ) -> list[dict[str, int]]:
        """Flow runs created in [start, end), in `buckets` equal intervals, by state type.

        Args:
            filter: which runs (its time bounds, `limit` and `after` ignored).
            start, end: the interval, seconds since the epoch (`end > start`).
            buckets: how many intervals (at least 1).

        Returns:
            One dict per interval, oldest first: state type -> count.
        """
        raise NotImplementedError

    def count_subflows(self, parent_ids: Sequence[UUID]) -> dict[UUID, int]:
        """How many subflow runs each of these flow runs has (parents without any left out)."""
        raise NotImplementedError

    def read_flows(self) -> list[FlowSummaryView]:
        """Every flow with stored runs, by name: its run count and newest run's creation."""
        raise NotImplementedError

    def read_task_run(self, run_id: UUID | str) -> TaskRunView:
        """One task run, by its full id or a unique prefix of it.

        Raises:
            RunNotFoundError: no task run has that id, or the prefix matches several.
        """
        raise NotImplementedError

    def read_task_runs_by_id(self, ids: Sequence[UUID]) -> list[TaskRunView]:
        """The task runs with these full ids, in no particular order (unknown ids left out)."""
        raise NotImplementedError

    def read_task_run_page(self, flow_run_id: UUID, filter: TaskRunFilter) -> list[TaskRunView]:
        """One page of the task runs of a flow run, in the filter's order.

        Args:
            flow_run_id: the flow run.
            filter: which task runs, their order, the cursor and the page size.

        Raises:
            ValueError: `filter.order` is neither "created" nor "start_time".
        """
        raise NotImplementedError

    def count_task_runs(
        self, flow_run_id: UUID, filter: TaskRunFilter | None = None
    ) -> dict[str, int]:
        """How many task runs of a flow run match `filter` (order, cursor and limit ignored),
        by state type."""
        raise NotImplementedError

    def task_run_summary(self, flow_run_id: UUID) -> list[TaskGroupView]:
        """The task runs of a flow run added up per task: counts by state, durations.

        Returns:
            One view per task key, in the order of each task's first start (tasks never
            started last, by key).
        """
        raise NotImplementedError

    def dependency_summary(self, flow_run_id: UUID) -> list[DependencyGroupView]:
        """The dependencies of a flow run's task runs, added up per (upstream, downstream)
        task: enough to draw the graph of a run with 100,000 task runs.

        Returns:
            The groups, sorted by upstream key then downstream key.
        """
        raise NotImplementedError

    def read_log_page(self, flow_run_id: UUID, filter: LogFilter) -> list[LogView]:
        """One page of the log lines of a flow run and its task runs: the lines stored with
        the flow run's id (the engine gives a task run's lines its flow run's id too), so a
        page is one range of one index.

        Returns:
            Oldest first, or newest first with `filter.newest_first`.
        """
        raise NotImplementedError

    def read_change_token(self, flow_run_id: UUID | None = None) -> str:
        """A short text that changes whenever something is committed about a flow run (its
        states, its task runs' states, its logs), or with None about any flow run's state.

        Cheap to ask once a second: a UI polls it and reloads only when it changes.
        """
        raise NotImplementedError
