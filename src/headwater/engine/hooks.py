"""State-change hooks, run by the engine as effects so sync and async runs share the logic.

A hook is called as `hook(flow_or_task, run, state)`; a coroutine it returns is awaited. A hook
that raises is logged with its name and the remaining hooks still run: hooks observe a run,
they never change its state.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Generator
from typing import Any

from headwater.core.options import hook_name
from headwater.core.states import State, StateType
from headwater.engine.drivers import Call, Effect, Outcome

_KIND_BY_TYPE = {
    StateType.COMPLETED: "completion",
    StateType.FAILED: "failure",
    StateType.CRASHED: "crashed",
    StateType.CANCELLED: "cancellation",
    StateType.RUNNING: "running",
}


def hooks_for(obj: Any, state: State) -> list[Callable[..., Any]]:
    """The hooks of `obj` that fire when a run enters `state` (empty if none apply)."""
    kind = _KIND_BY_TYPE.get(state.type)
    if kind is None:
        return []
    hooks: list[Callable[..., Any]] | None = getattr(obj, f"on_{kind}_hooks", None)
    return hooks or []


def run_hooks(
    obj: Any, run: Any, state: State, logger: logging.LoggerAdapter  # type: ignore[type-arg]
) -> Generator[Effect, Outcome | None, None]:
    """Call each hook that applies to `state`, in order, logging (not raising) failures."""
    for hook in hooks_for(obj, state):
        name = hook_name(hook)
        logger.info("Running hook %r in response to entering state %r", name, state.name)
        outcome = yield Call(
            hook, (obj, run, state), awaits=inspect.iscoroutinefunction(hook)
        )
        assert outcome is not None
        if outcome.exc is None:
            logger.info("Hook %r finished running successfully", name)
        elif isinstance(outcome.exc, Exception):
            logger.error(
                "An error was encountered while running hook %r: %r. The run's state is "
                "unchanged; fix the hook to stop this message.",
                name,
                outcome.exc,
                exc_info=(type(outcome.exc), outcome.exc, outcome.exc.__traceback__),
            )
        else:  # KeyboardInterrupt and friends are not the hook's to swallow
            raise outcome.exc
