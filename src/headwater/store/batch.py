"""`Batch`: everything one writer transaction stores, as rows per table.

A batch carries rows as plain dicts keyed by column name (see `schema.py`), with JSON already
encoded: the writer builds tens of thousands of them a second (`batch_builder.py`), and dicts go
straight to `executemany` without another copy.
"""

from __future__ import annotations

from typing import Any

Row = dict[str, Any]
FINAL_STATE_TYPES = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")

# Batch's attributes, in the order its constructor takes them.
_FIELDS = ("flow_runs", "task_runs", "run_updates", "states", "logs", "dependencies", "events",
           "asset_events", "asset_edges", "heartbeats", "now", "replay")


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

    A plain class, not a dataclass: the writer process imports this module, and `dataclasses`
    (with `inspect`, which it imports) would be a fifth of that process's start-up.
    """

    __slots__ = _FIELDS
    flow_runs: list[Row]
    task_runs: list[Row]
    run_updates: list[Row]
    states: list[Row]
    logs: list[Row]
    dependencies: list[Row]
    events: list[Row]
    asset_events: list[Row]
    asset_edges: list[Row]
    heartbeats: tuple[str, ...]
    now: float
    replay: bool

    def __init__(
        self,
        flow_runs: list[Row] | None = None,
        task_runs: list[Row] | None = None,
        run_updates: list[Row] | None = None,
        states: list[Row] | None = None,
        logs: list[Row] | None = None,
        dependencies: list[Row] | None = None,
        events: list[Row] | None = None,
        asset_events: list[Row] | None = None,
        asset_edges: list[Row] | None = None,
        heartbeats: tuple[str, ...] = (),
        now: float = 0.0,
        replay: bool = False,
    ) -> None:
        values = (flow_runs, task_runs, run_updates, states, logs, dependencies, events,
                  asset_events, asset_edges)
        for name, rows in zip(_FIELDS, values, strict=False):  # the lists come first
            object.__setattr__(self, name, [] if rows is None else rows)
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
            len(self.flow_runs) + len(self.task_runs) + len(self.run_updates) + len(self.logs)
            + len(self.dependencies) + len(self.events)
        )

    def new_runs(self) -> list[tuple[str, list[Row]]]:
        """(table, rows) of the runs to insert first: `ON CONFLICT DO NOTHING` (a run row
        already there is newer). `run_updates` are applied after them."""
        return [("flow_runs", self.flow_runs), ("task_runs", self.task_runs)]

    def appends(self) -> list[tuple[str, list[Row]]]:
        """(table, rows) to insert after `run_updates`, in this order. `states` rows go in
        with `ON CONFLICT DO NOTHING`; the others, in a replay, only if not stored yet (see
        `store/replay.py`)."""
        return [("states", self.states), ("logs", self.logs),
                ("dependencies", self.dependencies), ("events", self.events),
                ("asset_events", self.asset_events), ("asset_edges", self.asset_edges)]
