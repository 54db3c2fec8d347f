"""`Batch`: everything one writer transaction stores, as rows per table.

A batch carries rows as plain dicts keyed by column name (see `schema.py`), with JSON already
encoded. The writer builds tens of thousands of rows a second (`batch_builder.py`): its task run,
state and log rows, the bulk of them, come instead as one flat list of values per table, row after
row in the order of the table's columns (`Batch.table`), which the driver binds a slice at a
time; anyone reading `task_runs`, `states` or `logs` still gets dicts, made from them on
demand.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Row = dict[str, Any]
FINAL_STATE_TYPES = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")

# Batch's attributes, in the order its constructor takes them.
_FIELDS = ("flow_runs", "task_runs", "run_updates", "states", "logs", "dependencies", "events",
           "asset_events", "asset_edges", "heartbeats", "now", "replay")
# The tables whose rows may come as flat values (see `Batch.table`).
_BY_VALUES = ("task_runs", "states", "logs")
_NO_COLUMNS: Mapping[str, tuple[str, ...]] = {}
# The tables of `Batch.new_runs()` and of `Batch.appends()`, in their order.
NEW_RUN_TABLES = ("flow_runs", "task_runs")
APPEND_TABLES = ("states", "logs", "dependencies", "events", "asset_events", "asset_edges")


class Batch:
    """Everything one writer transaction stores. Immutable: made once, by keyword.

    Attributes:
        flow_runs: new flow runs (`flow_runs` columns), with their latest state folded into
            the `state_*` columns.
        task_runs: new task runs (`task_runs` columns), the same way.
        run_updates: changes to runs created by an earlier batch: `id`, `kind` ('flow'|'task')
            and any of `name`, `state_type`, `state_name`, `state_message`, `state_timestamp`,
            `start_time` (kept if already set), `end_time`, `run_count`, `result`.
        states: one `states` row per state entered, in order (see `store/states.py`); written
            after `run_updates`, so a replayed update can tell it was applied.
        logs: log rows. dependencies: dependency rows. events: event rows.
        asset_events: one row per asset event, also kept in `events` (see `store/assets.py`).
        asset_edges: one (upstream key, downstream key) row per related asset of a succeeded
            materialization: what `asset_lineage` walks.
        heartbeats: flow runs still running in the writing process.
        now: when the batch was built (seconds since the epoch); the heartbeat time.
        replay: the batch may have been stored already (a writer sends it again when it
            cannot know whether an earlier attempt committed): rows and states already
            there are left out (see `store/replay.py`).
        columns: for `task_runs`, `states` and `logs` only: the columns, in order, of rows
            given as one flat list of values rather than dicts (what the batch builder gives;
            see `table`).

    A plain class, not a dataclass: the writer process imports this module, and `dataclasses`
    (with `inspect`, which it imports) would be a fifth of that process's start-up.
    """

    __slots__ = (*(f"_{name}" if name in _BY_VALUES else name for name in _FIELDS), "_columns")
    flow_runs: list[Row]
    _task_runs: list[Any]  # dicts, or flat values (see `table`)
    run_updates: list[Row]
    _states: list[Any]
    _logs: list[Any]
    dependencies: list[Row]
    events: list[Row]
    asset_events: list[Row]
    asset_edges: list[Row]
    heartbeats: tuple[str, ...]
    now: float
    replay: bool
    _columns: Mapping[str, tuple[str, ...]]

    def __init__(
        self,
        flow_runs: list[Row] | None = None,
        task_runs: list[Any] | None = None,
        run_updates: list[Row] | None = None,
        states: list[Any] | None = None,
        logs: list[Any] | None = None,
        dependencies: list[Row] | None = None,
        events: list[Row] | None = None,
        asset_events: list[Row] | None = None,
        asset_edges: list[Row] | None = None,
        heartbeats: tuple[str, ...] = (),
        now: float = 0.0,
        replay: bool = False,
        columns: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        values = (flow_runs, task_runs, run_updates, states, logs, dependencies, events,
                  asset_events, asset_edges)
        for name, rows in zip(_FIELDS, values, strict=False):  # the lists come first
            slot = f"_{name}" if name in _BY_VALUES else name
            object.__setattr__(self, slot, [] if rows is None else rows)
        if columns and not set(columns) <= set(_BY_VALUES):
            raise ValueError(f"Rows as values are for {_BY_VALUES!r}, not {sorted(columns)!r}: "
                             f"give the rows of the other tables as dicts.")
        object.__setattr__(self, "_columns", columns or _NO_COLUMNS)
        object.__setattr__(self, "heartbeats", heartbeats)
        object.__setattr__(self, "now", now)
        object.__setattr__(self, "replay", replay)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"a Batch is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"a Batch is immutable: cannot delete {name!r}")

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in _FIELDS)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in _FIELDS)
        return f"Batch({fields})"

    def __len__(self) -> int:
        return (
            len(self.flow_runs) + self.count("task_runs") + len(self.run_updates)
            + self.count("logs") + len(self.dependencies) + len(self.events)
        )

    @property
    def task_runs(self) -> list[Row]:
        """New task runs (`task_runs` columns), with their latest state folded into the
        `state_*` columns."""
        return self._as_dicts("task_runs", self._task_runs)

    @property
    def states(self) -> list[Row]:
        """One `states` row per state entered, in order (see `store/states.py`)."""
        return self._as_dicts("states", self._states)

    @property
    def logs(self) -> list[Row]:
        """Log rows (`logs` columns)."""
        return self._as_dicts("logs", self._logs)

    def _as_dicts(self, name: str, rows: list[Any]) -> list[Row]:
        columns = self._columns.get(name)
        if columns is None:
            return rows
        width = len(columns)
        return [dict(zip(columns, rows[start:start + width], strict=True))
                for start in range(0, len(rows), width)]

    def table(self, name: str) -> tuple[tuple[str, ...] | None, list[Any]]:
        """The rows of table `name` as given: (None, dicts), or (their columns, the values of
        every row one after another, `len(columns)` a row). Writers that bind values by
        position take the values as they are: no dict, nor a sequence per row, is made."""
        rows = getattr(self, f"_{name}" if name in _BY_VALUES else name)
        return self._columns.get(name), rows

    def count(self, name: str) -> int:
        """How many rows table `name` gets."""
        columns, rows = self.table(name)
        return len(rows) if columns is None else len(rows) // len(columns)

    def new_runs(self) -> list[tuple[str, list[Row]]]:
        """(table, rows) of the runs to insert first: `ON CONFLICT DO NOTHING` (a run row
        already there is newer). `run_updates` are applied after them."""
        return [(name, getattr(self, name)) for name in NEW_RUN_TABLES]

    def appends(self) -> list[tuple[str, list[Row]]]:
        """(table, rows) to insert after `run_updates`, in this order. `states` rows go in
        with `ON CONFLICT DO NOTHING`; the others, in a replay, only if not stored yet (see
        `store/replay.py`)."""
        return [(name, getattr(self, name)) for name in APPEND_TABLES]
