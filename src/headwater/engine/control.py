"""Run control: which flow runs of this process have been asked to stop.

A cancel request is written to the run store by whoever asks (`headwater runs cancel`, the UI,
a serve process); the store sink sees it for the flow runs this process is running and tells
the `RunControl` of the runtime. The engine asks it between effects: before a task run starts,
between retries, before a flow run starts and when its body returns. A run that has not started
ends `Cancelled`; code already running is not interrupted (a timeout still stops it).

Asking is one dict lookup per run id in scope, and an empty dict when nothing was cancelled.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # `uuid` (with `platform`) is imported where an id is made from text: the
    from uuid import UUID  # runtime loads this module before it starts the writer process

Listener = Callable[["UUID"], None]


def _as_uuid(value: Any) -> UUID:
    from uuid import UUID

    return value if isinstance(value, UUID) else UUID(str(value))


class RunControl:
    """Cancel requests for the flow runs of this process."""

    __slots__ = ("_listeners", "_lock", "_running", "cancelled")

    def __init__(self) -> None:
        # flow run id -> when the request arrived. Empty almost always: the engine checks
        # `control.cancelled` first, one attribute, before asking about a scope.
        self.cancelled: dict[UUID, float] = {}
        self._listeners: list[Listener] = []
        # Flow runs of this process, by their id's int (a UUID hashes in Python code; this
        # table changes twice per flow run).
        self._running: dict[int, Callable[[], object]] = {}
        self._lock = threading.Lock()

    def request_cancel(self, flow_run_id: UUID | str) -> bool:
        """Ask a flow run (and everything inside it) to stop. True if this is news.

        The run's own callback (`watch`; the engine's records `Cancelling`) and the listeners
        are called once per run.
        """
        run_id = _as_uuid(flow_run_id)
        with self._lock:
            if run_id in self.cancelled:
                return False
            self.cancelled[run_id] = time.time()
            watcher = self._running.get(run_id.int)
            listeners = list(self._listeners)
        if watcher is not None:
            watcher()
        for listener in listeners:
            listener(run_id)
        return True

    def watch(self, flow_run_id: UUID, on_cancel: Callable[[], object]) -> None:
        """A flow run of this process started: call `on_cancel()` when it is asked to stop."""
        with self._lock:
            self._running[flow_run_id.int] = on_cancel

    def running(self, flow_run_id: UUID) -> bool:
        """Whether the flow run is running in this process (between `watch` and `forget`)."""
        run_id = _as_uuid(flow_run_id)
        return run_id.int in self._running

    def cancel_requested(self, scope: Iterable[UUID]) -> bool:
        """Whether any run in `scope` (a flow run and its parents) was asked to stop."""
        cancelled = self.cancelled
        if not cancelled:
            return False
        return any(run_id in cancelled for run_id in scope)

    def requested_at(self, flow_run_id: UUID) -> float | None:
        """When the request for `flow_run_id` arrived here (None if there was none)."""
        return self.cancelled.get(flow_run_id)

    def forget(self, flow_run_id: UUID) -> None:
        """A flow run ended: drop its request and its callback (keeps the tables small in
        long-lived processes)."""
        with self._lock:
            if self.cancelled:
                self.cancelled.pop(flow_run_id, None)
            self._running.pop(flow_run_id.int, None)

    def add_listener(self, listener: Listener) -> None:
        """Call `listener(flow_run_id)` for every new cancel request."""
        with self._lock:
            self._listeners.append(listener)

    def __repr__(self) -> str:
        return f"RunControl(cancelled={sorted(map(str, self.cancelled))})"
