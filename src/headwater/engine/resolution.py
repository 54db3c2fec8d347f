"""Finding futures in a task's arguments and replacing them with their results.

Futures (and States) are found at the top level and inside lists, tuples (named tuples too),
sets and dict values. `quote(x)` stops the search; `allow_failure(x)` lets a failed upstream
through as its exception; `opaque(x)` resolves x itself but does not look inside it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from headwater.core.annotations import allow_failure, freeze, opaque, quote, unmapped
from headwater.core.futures import TaskRunFuture
from headwater.core.states import State, StateType
from headwater.errors import UpstreamTaskError

_PLAIN = frozenset({int, float, str, bytes, bool, type(None), complex})
_CONTAINERS = (list, tuple, set, frozenset, dict)
_ANNOTATIONS = (quote, allow_failure, opaque, unmapped, freeze)


def needs_resolution(value: Any) -> bool:
    """True if `value` holds a future, a State or an annotation anywhere the resolver looks."""
    kind = type(value)
    if kind in _PLAIN:
        return False
    if isinstance(value, (TaskRunFuture, State, *_ANNOTATIONS)):
        return True
    if kind is dict:
        return any(needs_resolution(v) for v in value.values())
    if isinstance(value, _CONTAINERS):
        return any(needs_resolution(v) for v in value)
    return False


def collect_futures(value: Any, found: list[TaskRunFuture[Any]]) -> None:
    """Append every future `value` holds (not inside `quote`) to `found`."""
    kind = type(value)
    if kind in _PLAIN:
        return
    if isinstance(value, TaskRunFuture):
        found.append(value)
    elif isinstance(value, quote):
        return
    elif isinstance(value, (allow_failure, opaque, unmapped, freeze)):
        collect_futures(value.value, found)
    elif kind is dict:
        for item in value.values():
            collect_futures(item, found)
    elif isinstance(value, _CONTAINERS):
        for item in value:
            collect_futures(item, found)


def collect_upstream_ids(value: Any, on_upstream: Callable[[UUID], None]) -> None:
    """Call `on_upstream(run_id)` for every future and run-linked State in `value`."""
    kind = type(value)
    if kind in _PLAIN or isinstance(value, quote):
        return
    if isinstance(value, TaskRunFuture):
        on_upstream(value.task_run_id)
    elif isinstance(value, State):
        if value.state_details.task_run_id is not None:
            on_upstream(value.state_details.task_run_id)
    elif isinstance(value, (allow_failure, opaque, unmapped, freeze)):
        collect_upstream_ids(value.value, on_upstream)
    elif isinstance(value, dict):
        for item in value.values():
            collect_upstream_ids(item, on_upstream)
    elif isinstance(value, _CONTAINERS):
        for item in value:
            collect_upstream_ids(item, on_upstream)


def _state_value(state: State, allowed: bool, run_id: UUID | None) -> Any:
    if state.type is StateType.COMPLETED:
        return state._result()
    if allowed and (state.is_final() or state.name == "NotReady"):
        return state._result(raise_on_failure=False) if state.is_final() else None
    raise UpstreamTaskError(
        f"Upstream task run '{run_id}' did not reach a 'COMPLETED' state."
    )


def resolve(
    value: Any, on_upstream: Callable[[UUID], None], allowed: bool = False
) -> Any:
    """`value` with futures and States replaced by their results and annotations removed.

    Args:
        on_upstream: called with the id of each upstream run found.
        allowed: inside `allow_failure`: failed upstreams give their exception.

    Raises:
        UpstreamTaskError: an upstream did not complete (outside `allow_failure`).
    """
    kind = type(value)
    if kind in _PLAIN:
        return value
    if isinstance(value, TaskRunFuture):
        on_upstream(value.task_run_id)
        return _state_value(value.state, allowed, value.task_run_id)
    if isinstance(value, State):
        run_id = value.state_details.task_run_id
        if run_id is not None:
            on_upstream(run_id)
        return _state_value(value, allowed, run_id)
    if isinstance(value, quote):
        return value.value
    if isinstance(value, allow_failure):
        return resolve(value.value, on_upstream, True)
    if isinstance(value, opaque):
        inner = value.value
        if isinstance(inner, (TaskRunFuture, State)):
            return resolve(inner, on_upstream, allowed)
        return inner
    if isinstance(value, (unmapped, freeze)):
        return resolve(value.value, on_upstream, allowed)
    if isinstance(value, list):
        return [resolve(v, on_upstream, allowed) for v in value]
    if isinstance(value, dict):
        return {k: resolve(v, on_upstream, allowed) for k, v in value.items()}
    if isinstance(value, tuple):
        items = [resolve(v, on_upstream, allowed) for v in value]
        if hasattr(value, "_fields"):  # named tuple
            return kind(*items)
        return tuple(items) if kind is tuple else kind(items)
    if isinstance(value, (set, frozenset)):
        return kind(resolve(v, on_upstream, allowed) for v in value)
    return value
