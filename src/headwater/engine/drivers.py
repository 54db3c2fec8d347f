"""The engine's drivers: one run logic, two ways of waiting.

A run's logic (`task_run.task_run_steps`, `flow_run.flow_run_steps`) is a generator that
decides everything and *yields effects* — "call this function", "sleep this long". A driver
performs each effect and sends the outcome back. `drive_sync` performs them by blocking,
`drive_async` by awaiting. That is the only difference between sync and async runs, so the
state, retry and hook decisions exist once.

The async driver never blocks its event loop: a `Call` marked `blocking` (a lock, a cache read,
a flush), and a sync call under a timeout, run in a thread while the loop goes on; waiting for
futures is awaited.
"""

from __future__ import annotations

import concurrent.futures
import inspect
from collections.abc import Callable, Coroutine, Generator
from typing import Any, TypeVar, Union

from headwater.core._loops import in_running_loop
from headwater.engine.runtime import current_clock
from headwater.engine.timeouts import await_with_timeout, call_with_timeout

__all__ = [
    "Call", "Effect", "Outcome", "Sleep", "Steps", "Wait", "drive_async", "drive_sync",
    "in_running_loop", "run_coro_sync",
]

T = TypeVar("T")


class Call:
    """Call `fn(*args, **kwargs)`; await the result if `awaits`; stop it after `timeout` s.

    `blocking` marks a sync call that may wait on something else (a lock, I/O): the async
    driver runs it in a thread, so its event loop goes on.
    """

    __slots__ = ("args", "awaits", "blocking", "fn", "kwargs", "timeout", "timeout_error")

    def __init__(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
        *,
        awaits: bool = False,
        timeout: float | None = None,
        timeout_error: type[BaseException] = TimeoutError,
        blocking: bool = False,
    ) -> None:
        self.fn = fn
        self.args = args
        self.kwargs = kwargs or {}
        self.awaits = awaits
        self.blocking = blocking
        self.timeout = timeout
        self.timeout_error = timeout_error


class Sleep:
    """Wait `seconds` on the engine clock."""

    __slots__ = ("seconds",)

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds


class Wait:
    """Wait until every `concurrent.futures.Future` in `futures` is done."""

    __slots__ = ("futures",)

    def __init__(self, futures: list[Any]) -> None:
        self.futures = futures


class Outcome:
    """What a `Call` produced: a value, or the exception it raised."""

    __slots__ = ("exc", "value")

    def __init__(self, value: Any = None, exc: BaseException | None = None) -> None:
        self.value = value
        self.exc = exc


Effect = Union[Call, Sleep, Wait]  # noqa: UP007 (a runtime alias; `|` needs 3.10 classes)
Steps = Generator[Effect, Outcome | None, T]


def _call_sync(effect: Call) -> Outcome:
    try:
        if effect.timeout is not None and not effect.awaits:
            value = call_with_timeout(
                effect.fn, effect.args, effect.kwargs, effect.timeout, effect.timeout_error
            )
        else:
            value = effect.fn(*effect.args, **effect.kwargs)
            if effect.awaits or inspect.iscoroutine(value):
                value = run_coro_sync(_await(value, effect))
        return Outcome(value)
    except BaseException as exc:  # the run logic decides what each exception means
        return Outcome(exc=exc)


async def _await(value: Any, effect: Call) -> Any:
    if effect.timeout is not None:
        return await await_with_timeout(value, effect.timeout, effect.timeout_error)
    return await value


async def _call_async(effect: Call) -> Outcome:
    try:
        if effect.awaits:
            value = await _await(effect.fn(*effect.args, **effect.kwargs), effect)
        elif effect.blocking or effect.timeout is not None:
            return await _in_thread(effect)
        else:
            value = effect.fn(*effect.args, **effect.kwargs)
            if inspect.iscoroutine(value):
                value = await value
        return Outcome(value)
    except BaseException as exc:
        return Outcome(exc=exc)


async def _in_thread(effect: Call) -> Outcome:
    """Perform a blocking call in a thread of the loop's executor, keeping the context (so the
    call still belongs to its run)."""
    import asyncio
    import contextvars

    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    return await loop.run_in_executor(None, context.run, _call_sync, effect)


def drive_sync(steps: Steps[T]) -> T:
    """Run a run's logic to the end, blocking the calling thread."""
    send: Outcome | None = None
    while True:
        try:
            effect = steps.send(send)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        kind = type(effect)
        if kind is Call:
            send = _call_sync(effect)  # type: ignore[arg-type]
        elif kind is Wait:
            concurrent.futures.wait(effect.futures)  # type: ignore[union-attr]
            send = None
        else:
            current_clock().sleep(effect.seconds)  # type: ignore[union-attr]
            send = None


async def drive_async(steps: Steps[T]) -> T:
    """Run a run's logic to the end on the running event loop."""
    send: Outcome | None = None
    while True:
        try:
            effect = steps.send(send)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        kind = type(effect)
        if kind is Call:
            send = await _call_async(effect)  # type: ignore[arg-type]
        elif kind is Wait:
            pending = [f for f in effect.futures if not f.done()]  # type: ignore[union-attr]
            if pending:
                import asyncio

                await asyncio.wait([asyncio.wrap_future(f) for f in pending])
            send = None
        else:
            await current_clock().sleep_async(effect.seconds)  # type: ignore[union-attr]
            send = None


# -- running coroutines from sync code ----------------------------------------------------------
def run_coro_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code that has no running loop in its thread."""
    if in_running_loop():
        coro.close()
        raise RuntimeError(
            "Cannot run an async flow or task to completion from sync code while an event loop "
            "is running in this thread. Make the caller async and await it."
        )
    import asyncio

    return asyncio.run(coro)
