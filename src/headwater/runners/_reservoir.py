"""Worker threads kept between pools.

Every flow run opens a task runner of its own, and its pool starts workers on demand: up to
32 threads for a flow that submits faster than they start. Starting a thread costs a few
hundred µs on a busy CPU (the starter waits until the new thread runs), so a pool of 32 paid
~6 ms to start and join its threads, once per flow run. Instead, a worker whose pool shuts down
parks here, and the next pool adopts it: a put on a queue, no start, no join.

At most `MAX_PARKED` threads wait here (the others end); they are daemon threads, idle on a
queue, so they never keep the interpreter from exiting. A forked child starts with none (the
parent's threads do not exist there). As with any reused pool thread, what a task keeps in a
`threading.local` outlives its flow run, and a tracer set with `threading.settrace` after a
thread started does not reach it.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable

MAX_PARKED = 64  # twice a pool's default bound: two flow runs' workers at once

_lock = threading.Lock()
_parked = 0  # threads that will take the next message from _inbox
_inbox: queue.SimpleQueue[tuple[Callable[[], object], str]] = queue.SimpleQueue()


def start(entry: Callable[[], object], name: str) -> None:
    """Call `entry()` in a parked thread, renamed `name`, or else in a new daemon thread;
    when it returns, the thread parks for the next caller."""
    global _parked
    with _lock:
        adopted = _parked > 0
        if adopted:
            _parked -= 1
    if adopted:
        _inbox.put((entry, name))  # exactly one parked thread takes it
    else:
        threading.Thread(target=_live, args=(entry,), name=name, daemon=True).start()


def parked() -> int:
    """How many threads wait to be adopted."""
    return _parked


def _live(entry: Callable[[], object]) -> None:
    global _parked
    while True:
        entry()  # a pool's worker loop: it never raises (each run's exception goes to its future)
        del entry
        with _lock:
            if _parked >= MAX_PARKED:
                return
            _parked += 1
        entry, name = _inbox.get()
        threading.current_thread().name = name


def _forget_parent_threads() -> None:
    global _lock, _parked, _inbox
    _lock = threading.Lock()
    _parked = 0
    _inbox = queue.SimpleQueue()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_parent_threads)
