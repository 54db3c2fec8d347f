"""State history rows: one row of `states` per state a flow or task run entered.

Rows are append-only. Each is named by its run, timestamp, type, run count and `seq` (`KEY`):
a replayed batch brings the same names again, and the store inserts them with
`ON CONFLICT DO NOTHING` (the memory store keeps a set of them). `seq` numbers the states of
one run that agree on all the rest within one batch, which only a stopped clock makes.

A run update that moves a run to a new state (`state_type` ...) comes with that state's row:
`transition` builds both for the updates the stores make themselves (Crashed, Pending, ends).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from headwater.store.batch import Row

if TYPE_CHECKING:  # a writer makes rows here without loading the readers' views
    from headwater.store.views import StateView

KEY = ("run_id", "timestamp", "type", "run_count", "seq")
"""The columns that name one state row (the unique constraint `uq_states_transition`)."""


def state_row(
    run_id: str, kind: str, type: str, name: str, message: str | None, timestamp: float,
    run_count: int, data: str | None = None, seq: int = 0,
) -> Row:
    """One `states` row (the columns in their order, `id` left to the store).

    Args:
        run_id: the run's id as text.
        kind: "flow" or "task".
        type: the state type, upper case ("COMPLETED").
        name: the state name ("Completed", "Retrying").
        message: the state's message, if any.
        timestamp: when the run entered it, seconds since the epoch.
        run_count: the run's attempt when it entered it.
        data: a final state's result as JSON text.
        seq: 0, or the place among states of this run in one batch with the same key.
    """
    return {
        "run_id": run_id, "kind": kind, "type": type, "name": name[:64], "message": message,
        "timestamp": timestamp, "run_count": run_count, "data": data, "seq": seq,
    }


def state_key(row: Row) -> tuple[Any, ...]:
    """The name of a state row (`KEY`'s values)."""
    return (row["run_id"], row["timestamp"], row["type"], row["run_count"], row["seq"])


def transition(
    run_id: str, kind: str, run_count: int, type: str, name: str, message: str | None,
    now: float, **columns: Any,
) -> tuple[Row, Row]:
    """A run update to a new state, and that state's row.

    Args:
        run_id, kind: the run.
        run_count: its attempt (kept as it is).
        type, name, message: the new state.
        now: the state's timestamp.
        columns: more columns of the update (`end_time`, `heartbeat`, ...).

    Returns:
        (the `Batch.run_updates` entry, the `states` row).
    """
    update = {
        "id": run_id, "kind": kind, "state_type": type, "state_name": name,
        "state_message": message, "state_timestamp": now, **columns,
    }
    return update, state_row(run_id, kind, type, name, message, now, run_count)


def state_view(row: Any) -> StateView:
    """A stored `states` row as the view readers get."""
    from uuid import UUID

    from headwater.store.views import StateView

    return StateView(
        run_id=UUID(str(row["run_id"])), kind=row["kind"], type=row["type"], name=row["name"],
        message=row["message"], timestamp=row["timestamp"], run_count=row["run_count"],
        data=row["data"], id=row.get("id") or 0,
    )


def latest_key(update: Row) -> tuple[Any, ...] | None:
    """For a run update from a batch, the (run, timestamp, type, run count) of the newest state
    it applies, or None if it applies no state: a replay skips it when that state is stored."""
    if "state_type" not in update:
        return None
    return (update["id"], update["state_timestamp"], update["state_type"], update["run_count"])
