"""The store sink's `emit`, generated with every record type's encoding inlined.

`emit` runs on the run's thread four times per task run. Calling a record type's encoder from
a general `emit` costs a dictionary look-up and a second Python call per record; this module
writes one function instead, which tests the record's class (the commonest first) and builds
its wire tuple in place, from the same source as `codec.ENCODERS` (so the tuples are the
same). Its guarantees are `emit`'s: it never blocks and never raises (a record it cannot
encode becomes an `EncodeFailure` in the queue, reported by the pump), and a record of no
known type is ignored.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from headwater.events import codec
from headwater.events.records import FlowRunCreated, LogEmitted, StateChanged, TaskRunCreated

# The order the tests are made in: a task run emits three StateChanged and one TaskRunCreated.
_FIRST = (StateChanged, TaskRunCreated, LogEmitted)


def make_emit(
    queue: deque[Any],
    *,
    hand_off_at: int,
    hand_off: Callable[[], None],
    flow_run_created: Callable[[Any], None],
    failure: Callable[[Exception], Any],
) -> Callable[[Any], None]:
    """An `emit(record)` that appends the record's wire tuple to `queue`.

    Args:
        queue: where the tuples go.
        hand_off_at: once `queue` is this long, `emit` calls `hand_off()`.
        hand_off: sends the queue on (see `StoreSink._hand_off`).
        flow_run_created: called with each `FlowRunCreated` after it is queued.
        failure: makes what is queued in place of a record whose encoding raised.
    """
    order = [*_FIRST, *(cls for cls in codec.RECORD_TYPES if cls not in _FIRST)]
    lines = ["def emit(r):", "    c = type(r)"]
    for index, cls in enumerate(order):
        body, value = codec.SOURCES[cls]
        lines += [f"    {'if' if index == 0 else 'elif'} c is _T{index}:", "        try:"]
        lines += [f"        {line}" for line in body]  # body lines come indented by four
        lines += [f"            _append({value})",
                  "        except Exception as exc:",  # never the user's flow's problem
                  "            _append(_failure(exc))"]
        if cls is FlowRunCreated:
            lines.append("        _flow_run_created(r)")
    lines += [
        "    else:",
        "        return",  # not a record: ignored
        "    if len(_queue) >= _AT:",
        "        _hand_off()",
    ]
    namespace: dict[str, Any] = dict(codec.NAMESPACE)
    namespace.update({f"_T{index}": cls for index, cls in enumerate(order)})
    namespace.update(
        _append=queue.append, _queue=queue, _AT=hand_off_at, _hand_off=hand_off,
        _flow_run_created=flow_run_created, _failure=failure,
    )
    exec(compile("\n".join(lines), "<store sink emit>", "exec"), namespace)
    emit: Callable[[Any], None] = namespace["emit"]
    return emit
