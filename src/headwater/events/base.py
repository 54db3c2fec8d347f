"""The event seam: the one place the engine reports what happens.

The engine calls `emit(record)` for every run created, state changed, log line and dependency.
`emit` must be cheap and must never raise into the run: a sink that writes somewhere slow
queues the record and writes it from its own thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from uuid import UUID

    from headwater.events.records import Record


class EventSink:
    """Base class of every sink. Subclasses override `emit`; `flush` and `close` are optional."""

    def emit(self, record: Record) -> None:
        """Take one record. Called on the hot path from any thread: keep it O(1)."""
        raise NotImplementedError

    def flush(self, timeout: float | None = None) -> None:
        """Make every record emitted so far durable. Called when a flow run ends.

        Args:
            timeout: the longest to wait, in seconds; None waits as long as it takes.
        """

    def close(self) -> None:
        """Flush and release resources. The sink is not used afterwards."""
        self.flush()

    def on_cancel_requested(self, callback: Callable[[UUID], object]) -> None:
        """Call `callback(flow_run_id)` when the store asks a flow run of this process to stop.

        Only a sink that reads the store back can see such requests (the store sink); the
        default does nothing, and in-process requests reach the run control directly.
        """


class NullSink(EventSink):
    """Drops every record: for runs whose history nobody wants."""

    def emit(self, record: Record) -> None:
        return None
