"""The runtime: the sink runs report to, the clock they read and wait on, and their run control.

One `Runtime` object is current at a time, held in a context variable: by default the
process's own (its sink opened from the settings on first use), or one a block of code set with
`use_runtime` (a worker collecting a remote task run's records, a test). Runs capture the
runtime when they start, so the threads and callbacks that serve them report to the same place.

    with use_runtime(Runtime(sink=MemorySink(), clock=FrozenClock())):
        my_flow()
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from headwater.engine.clock import Clock
from headwater.engine.control import RunControl
from headwater.events.base import EventSink

if TYPE_CHECKING:
    from uuid import UUID


class Runtime:
    """The sink, the clock and the run control that runs use.

    Args:
        sink: where records go; None opens the default sink (settings) on first use.
        clock: the engine's clock; default real time.
        control: cancel requests; default a new, empty `RunControl`.
    """

    __slots__ = ("_lock", "_sink", "clock", "control")

    def __init__(
        self, sink: EventSink | None = None, clock: Clock | None = None,
        control: RunControl | None = None,
    ) -> None:
        if sink is not None and not isinstance(sink, EventSink):
            raise TypeError(
                f"Runtime(sink={sink!r}) needs an EventSink. Subclass headwater.events.EventSink."
            )
        self._sink = sink
        self.clock = clock or Clock()
        self.control = control or RunControl()
        self._lock = threading.Lock()
        if sink is not None:
            sink.on_cancel_requested(self.control.request_cancel)

    @property
    def sink(self) -> EventSink:
        """The sink, opened from the settings the first time it is needed."""
        sink = self._sink
        if sink is None:
            with self._lock:
                if self._sink is None:
                    from headwater.events import open_default_sink

                    opened = open_default_sink()
                    opened.on_cancel_requested(self.control.request_cancel)
                    self._sink = opened
                sink = self._sink
        return sink

    def set_sink(self, sink: EventSink) -> EventSink | None:
        """Replace the sink; returns the previous one (None if none was opened yet)."""
        if not isinstance(sink, EventSink):
            raise TypeError(
                f"set_sink() needs an EventSink, got {sink!r}. Subclass headwater.events.EventSink."
            )
        sink.on_cancel_requested(self.control.request_cancel)
        with self._lock:
            previous, self._sink = self._sink, sink
        return previous

    def cancel_requested(self, scope: tuple[UUID, ...]) -> bool:
        return self.control.cancel_requested(scope)

    def __repr__(self) -> str:
        return f"Runtime(sink={self._sink!r}, clock={self.clock!r})"


_process = Runtime()
_current: contextvars.ContextVar[Runtime | None] = contextvars.ContextVar(
    "headwater_runtime", default=None
)


def current_runtime() -> Runtime:
    """The runtime of the calling code: the one a `use_runtime` block set, else the process's."""
    return _current.get() or _process


def process_runtime() -> Runtime:
    """The process's own runtime (what code outside any `use_runtime` block uses)."""
    return _process


@contextmanager
def use_runtime(runtime: Runtime) -> Iterator[Runtime]:
    """Make `runtime` current for the code in the block (this thread or task, and what it
    starts with a copy of its context)."""
    token = _current.set(runtime)
    try:
        yield runtime
    finally:
        _current.reset(token)


# -- the sink and the clock, one at a time --------------------------------------------------------
def current_sink() -> EventSink:
    """The sink runs report to now."""
    return current_runtime().sink


def set_sink(sink: EventSink) -> EventSink | None:
    """Make `sink` the process's sink for the rest of the process; returns the previous one."""
    return _process.set_sink(sink)


@contextmanager
def use_sink(sink: EventSink) -> Iterator[EventSink]:
    """Send every run's records to `sink` inside the block (process-wide), then flush it and
    restore the previous sink."""
    previous = _process.set_sink(sink)
    try:
        yield sink
    finally:
        sink.flush()
        with _process._lock:
            _process._sink = previous


def current_clock() -> Clock:
    """The clock of the current runtime."""
    return current_runtime().clock


@contextmanager
def use_clock(clock: Clock) -> Iterator[Clock]:
    """Make `clock` the engine's clock inside the block (process-wide)."""
    runtime = current_runtime()
    previous, runtime.clock = runtime.clock, clock
    try:
        yield clock
    finally:
        runtime.clock = previous
