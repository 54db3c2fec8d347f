"""Where run records go: the `EventSink` seam and the process-wide current sink.

The engine asks `current_sink()` once per run. By default that is the store sink writing to
the run store settings name (`HEADWATER_DATABASE_URL`, default the SQLite file
`HEADWATER_HOME/headwater.db`); `HEADWATER_STORE=memory` keeps records in a `MemorySink`.
`use_sink(sink)` swaps it for a block of code and `set_sink(sink)` for the rest of the process.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from headwater.events.base import EventSink, NullSink

__all__ = ["EventSink", "NullSink", "current_sink", "override_sink", "set_sink", "use_sink"]

_sink: EventSink | None = None
# A per-context sink that wins over the process-wide one: a task run executing on a Dask
# worker thread in this very process collects its records without touching the global sink.
_override: contextvars.ContextVar[EventSink | None] = contextvars.ContextVar(
    "headwater_sink_override", default=None
)
_lock = threading.Lock()


def _default_sink() -> EventSink:
    from headwater import settings

    kind = settings.store_kind()
    if kind == "memory":
        from headwater.events.memory import MemorySink

        return MemorySink()
    if kind not in (None, "sqlite", "postgres", "postgresql", "sql"):
        from headwater.errors import SettingError

        raise SettingError(
            f"HEADWATER_STORE={kind!r} is not a run store. Use 'memory', or unset it and set "
            f"HEADWATER_DATABASE_URL to choose the database (default: SQLite in HEADWATER_HOME)."
        )
    # Only the queue and the pump thread start here; the store (and SQLAlchemy) is opened by
    # the writer (a process of its own, by default), so the first run never waits for it.
    from headwater.events.store import StoreSink

    settings.store_writer()  # a bad HEADWATER_STORE_WRITER is reported here, in the caller
    return StoreSink(settings.database_url())


def current_sink() -> EventSink:
    """The sink runs report to now."""
    sink = _override.get()
    if sink is not None:
        return sink
    sink = _sink
    if sink is None:
        with _lock:
            if _sink is None:
                set_sink(_default_sink())
            sink = _sink
    assert sink is not None
    return sink


def set_sink(sink: EventSink) -> EventSink | None:
    """Make `sink` the current sink for the whole process; returns the previous one."""
    global _sink
    if not isinstance(sink, EventSink):
        raise TypeError(
            f"set_sink() needs an EventSink, got {sink!r}. Subclass headwater.events.EventSink."
        )
    previous, _sink = _sink, sink
    return previous


@contextmanager
def use_sink(sink: EventSink) -> Iterator[EventSink]:
    """Send every run's records to `sink` inside the block, then restore the previous sink."""
    global _sink
    previous = set_sink(sink)
    try:
        yield sink
    finally:
        sink.flush()
        _sink = previous


@contextmanager
def override_sink(sink: EventSink) -> Iterator[EventSink]:
    """Send records emitted by the current context (this thread or task) to `sink`."""
    token = _override.set(sink)
    try:
        yield sink
    finally:
        _override.reset(token)
