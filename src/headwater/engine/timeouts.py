"""Calling user code under a time limit that really stops it.

Sync code in the main thread is interrupted by SIGALRM; sync code in any other thread by an
asynchronous exception injected into that thread. Both interrupt Python code within a few
milliseconds; code blocked inside a C call (a long `time.sleep`, a socket read) is interrupted
by SIGALRM in the main thread, and elsewhere as soon as the C call returns to Python.
Async code is cancelled with `asyncio.wait_for`.

The interrupt is a `BaseException` (`_Expired`), so a user's `except Exception:` cannot swallow
it; it is turned into the run's timeout error on the way out.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


class _Expired(BaseException):
    """Raised inside user code when its time is up."""


def timeout_message(seconds: float) -> str:
    return f"Scope timed out after {seconds:g} second(s)."


def call_with_timeout(
    fn: Callable[..., T],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    seconds: float,
    error: type[BaseException],
) -> T:
    """`fn(*args, **kwargs)`, raising `error` if it runs longer than `seconds`."""
    in_main = threading.current_thread() is threading.main_thread()
    if in_main and hasattr(signal, "setitimer") and signal.getitimer(signal.ITIMER_REAL)[0] == 0:
        return _call_with_alarm(fn, args, kwargs, seconds, error)
    return _call_with_watchdog(fn, args, kwargs, seconds, error)


def _call_with_alarm(
    fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any],
    seconds: float, error: type[BaseException],
) -> T:
    armed = [True]

    def on_alarm(signum: int, frame: Any) -> None:
        if armed[0]:
            raise _Expired

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        try:
            return fn(*args, **kwargs)
        finally:
            armed[0] = False
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    except _Expired:
        raise error(timeout_message(seconds)) from None


def _call_with_watchdog(
    fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any],
    seconds: float, error: type[BaseException],
) -> T:
    import ctypes

    target = threading.get_ident()
    lock = threading.Lock()
    finished = [False]

    def expire() -> None:
        with lock:
            if not finished[0]:
                ctypes.pythonapi.PyThreadState_SetAsyncExc(
                    ctypes.c_ulong(target), ctypes.py_object(_Expired)
                )

    watchdog = threading.Timer(seconds, expire)
    watchdog.daemon = True
    watchdog.start()
    try:
        try:
            return fn(*args, **kwargs)
        finally:
            with lock:
                finished[0] = True
            watchdog.cancel()
    except _Expired:
        raise error(timeout_message(seconds)) from None


async def await_with_timeout(
    awaitable: Awaitable[T], seconds: float, error: type[BaseException]
) -> T:
    """Await under a limit. A `TimeoutError` raised by the user's own code passes through."""
    import asyncio

    task = asyncio.ensure_future(awaitable)
    try:
        done, _ = await asyncio.wait({task}, timeout=seconds)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if task in done:
        return task.result()
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    except BaseException:
        pass
    raise error(timeout_message(seconds))
