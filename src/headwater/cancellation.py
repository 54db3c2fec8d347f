"""Cancelling a flow run, from any process that shares its run store.

    from headwater import cancel_flow_run
    cancel_flow_run("0193f2a4")          # an id or a unique prefix, as `headwater runs ls` shows

The request is a row in the run store. The process running the flow sees it within a fraction
of a second (its store writer looks while runs are running): task runs that have not started
end `Cancelled`, a task run already running finishes its current call (a timeout still stops
it), no retry starts, and the flow run ends `Cancelled` once its body returns, after its
`on_cancellation` hooks. A run in this very process is told at once.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING
from uuid import UUID

if TYPE_CHECKING:
    from headwater.store.base import FlowRunView, RunStore

POLL_SECONDS = 0.05


def cancel_flow_run(
    run_id: UUID | str, *, store: RunStore | None = None, requested_by: str = "api"
) -> FlowRunView | None:
    """Ask a flow run to stop.

    Args:
        run_id: the flow run's id, or a unique prefix of it.
        store: the run store to write the request to; default the one the settings name.
        requested_by: who asks, kept with the request.

    Returns:
        The run as it was when asked (None with `HEADWATER_STORE=memory`, where only runs of
        this process can be cancelled).

    Raises:
        RunNotFoundError: no flow run has that id (or the prefix matches several).
        RunFinishedError: the run already ended.
    """
    from headwater import settings
    from headwater.engine.runtime import process_runtime

    control = process_runtime().control
    if store is None and settings.store_kind() == "memory":
        local = _as_uuid(run_id)
        if local is None or not control.running(local):
            from headwater.errors import RunNotFoundError

            raise RunNotFoundError(
                f"No flow run with the id {str(run_id)!r} is running in this process, and "
                "with HEADWATER_STORE=memory no other process can be reached. Give the full "
                "id of a running flow run, or use a SQLite or PostgreSQL store.",
                run_id=str(run_id),
            )
        control.request_cancel(local)
        return None
    from headwater.store import using_store

    if store is not None:
        view = store.request_cancel(run_id, requested_by=requested_by)
    else:
        with using_store() as opened:
            view = opened.request_cancel(run_id, requested_by=requested_by)
    if control.running(view.id):  # it runs here: no need to wait for the writer to look
        control.request_cancel(view.id)
    return view


def wait_until_final(
    run_id: UUID | str, *, timeout: float, store: RunStore | None = None
) -> FlowRunView:
    """The flow run once it is in a final state, or as it is when `timeout` seconds passed.

    Raises:
        RunNotFoundError: no flow run has that id.
    """
    from headwater.store import using_store
    from headwater.store.base import FINAL_STATE_TYPES

    def poll(opened: RunStore) -> FlowRunView:
        deadline = time.monotonic() + timeout
        while True:
            view = opened.read_flow_run(run_id)
            if view.state_type in FINAL_STATE_TYPES or time.monotonic() >= deadline:
                return view
            time.sleep(POLL_SECONDS)

    if store is not None:
        return poll(store)
    with using_store() as opened:
        return poll(opened)


def _as_uuid(value: UUID | str) -> UUID | None:
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value).strip())
    except ValueError:
        return None
