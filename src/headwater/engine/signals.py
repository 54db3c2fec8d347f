"""SIGTERM during a flow run: end the run Crashed, run its hooks, record it, then exit.

Python's default for SIGTERM kills the process on the spot: the run would stay "Running"
forever and nothing would flush. While a top-level flow runs in the main thread we turn
SIGTERM into an exception (`TerminationSignal`, a `SystemExit`), so the engine records the
crash and flushes before the process exits with status 143, as a killed process would.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class TerminationSignal(SystemExit):
    """Raised in the main thread when the process receives SIGTERM during a flow run."""

    def __init__(self) -> None:
        super().__init__(128 + signal.SIGTERM)


def _on_sigterm(signum: int, frame: Any) -> None:
    raise TerminationSignal()


@contextmanager
def sigterm_as_exception() -> Iterator[None]:
    """Inside the block, SIGTERM raises `TerminationSignal` (main thread, default handler only).

    A handler the application installed itself is left alone.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    try:
        previous = signal.getsignal(signal.SIGTERM)
    except (ValueError, OSError):  # platforms without SIGTERM
        yield
        return
    if previous not in (signal.SIG_DFL, None):
        yield
        return
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
