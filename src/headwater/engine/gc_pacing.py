"""The cyclic garbage collector's pace while top-level flow runs run in this process.

A flow that submits 10,000 tasks holds every run's future, run and final state until it has
them all: tens of thousands of young container objects, besides the queued requests. With the
interpreter's default young threshold (700 net allocations), the collector then makes a young
collection every hundred task runs or so, an older one every thousand and a full one about
once per flow, each walking those objects again: measured on a pinned CPU, 4.6 of a submitted
run's 16.8 µs of the flow's own CPU. A later young collection with more objects in it does
about the same work in all, and the older ones, counted in young collections, come that much
more rarely.

So while at least one top-level flow run is running here, the young threshold is raised to
`HEADWATER_GC_THRESHOLD` (default 10,000) if it is lower; when the last one ends, the
thresholds it replaced are put back (unless the program changed them meanwhile: then they are
the program's). Reference cycles are still collected, a little later; other code running in
the process meanwhile gets the same pace. `HEADWATER_GC_THRESHOLD=0` leaves the collector
alone.
"""

from __future__ import annotations

import gc
import threading

DEFAULT_THRESHOLD = 10_000

_lock = threading.Lock()
_running = 0  # top-level flow runs between enter() and leave()
_replaced: tuple[int, ...] | None = None  # the thresholds enter() replaced
_set_to = 0  # the young threshold enter() set


def threshold() -> int:
    """The young threshold flow runs ask for (`HEADWATER_GC_THRESHOLD`; 0: none).

    Raises:
        SettingError: the setting is not a whole number >= 0.
    """
    from headwater import settings

    return settings.get_int("HEADWATER_GC_THRESHOLD", DEFAULT_THRESHOLD)


def enter(young: int) -> None:
    """A top-level flow run starts (`young` from `threshold()`): if it is the first, raise the
    young threshold to `young` when it is lower. Never raises."""
    global _running, _replaced, _set_to
    with _lock:
        _running += 1
        if _running > 1:
            return
        current = gc.get_threshold()
        if young and current[0] < young:
            _replaced, _set_to = current, young
            gc.set_threshold(young, *current[1:])


def leave() -> None:
    """A top-level flow run ended: put the thresholds back after the last one."""
    global _running, _replaced
    with _lock:
        _running -= 1
        if _running or _replaced is None:
            return
        if gc.get_threshold()[0] == _set_to:  # else the program set its own meanwhile
            gc.set_threshold(*_replaced)
        _replaced = None
