"""Records as wire tuples: the compact form the store sink's writer folds into rows.

The run thread builds record objects (`records.py`); the store sink's pump thread turns each
into one tuple of plain values here: ids as 128-bit ints, user values (parameters, results,
event payloads) already JSON text. Tuples of plain values are what `marshal` writes fastest,
so the same form goes to the writer process over a pipe, or straight to the in-process writer.
Nothing of the user's object graph crosses: a result that is a 2 GB DataFrame costs its JSON
placeholder, not a pickle.

Each tuple starts with its kind (an int).
"""

from __future__ import annotations

import marshal
from typing import Any

from headwater.events._json import encode_json
from headwater.events.records import (
    DependencyAdded,
    Event,
    FlowRunCreated,
    LogEmitted,
    RunRenamed,
    StateChanged,
    TaskRunCreated,
)

# How often a writer (process or thread) asks the store whether a flow run it is recording was
# asked to stop (`headwater runs cancel`): one indexed query, only while flow runs are running.
CONTROL_SECONDS = 0.25

# Kinds, and the layout of each tuple after the kind:
FLOW = 0  # id, name, flow_name, flow_version, parameters, tags, parent_flow, parent_task, ts,
#            identity, entrypoint
TASK = 1  # id, name, task_name, task_key, flow_run, parameters, tags, ts, identity
STATE = 2  # id, is_flow, type, name, message, ts, run_count, result
RENAME = 3  # id, is_flow, name
LOG = 4  # flow_run, task_run, logger, level, message, ts
DEPENDENCY = 5  # task_run, upstream_run, parameter
EVENT = 6  # name, resource, related, payload, flow_run, task_run, ts

FINAL_TYPES = frozenset({"COMPLETED", "FAILED", "CRASHED", "CANCELLED"})
# Where each kind keeps its timestamp (for the batch-window statistic).
STAMP_INDEX = {FLOW: 9, TASK: 8, STATE: 6, LOG: 6, EVENT: 7}


def _int(value: Any) -> int | None:
    return None if value is None else int(value.int)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _float(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if number - number == 0 else 0.0  # NaN and infinities are not JSON


def _tags(tags: Any) -> tuple[str, ...]:
    return tuple(sorted(str(tag) for tag in tags)) if tags else ()


def _state(r: StateChanged) -> tuple[Any, ...]:
    # The hottest record (three per task run): no helper calls on the common path.
    state = r.state
    kind = state.type._value_
    data = encode_json(state.data) if kind in FINAL_TYPES and state.has_data else None
    ts = state.timestamp_s
    if ts.__class__ is not float or ts - ts != 0:
        ts = _float(ts)
    message = state.message
    return (STATE, r.run_id.int, r.kind == "flow", kind, str(state.name),
            None if message is None else str(message), ts, int(r.run_count), data)


def _task_run(r: TaskRunCreated) -> tuple[Any, ...]:
    parameters, flow_run_id, ts, call = r.parameters, r.flow_run_id, r.timestamp, r.call
    key = str(r.task_key)
    return (TASK, r.task_run_id.int, str(r.name), str(r.task_name), key,
            None if flow_run_id is None else flow_run_id.int,
            encode_json(parameters) if parameters else "{}",
            _tags(r.tags) if r.tags else (),
            ts if ts.__class__ is float and ts - ts == 0 else _float(ts),
            None if call is None else f"{key}#{call}")


def _flow_run(r: FlowRunCreated) -> tuple[Any, ...]:
    return (FLOW, r.flow_run_id.int, str(r.name), str(r.flow_name), _text(r.flow_version),
            encode_json(r.parameters) if r.parameters else "{}", _tags(r.tags),
            _int(r.parent_flow_run_id), _int(r.parent_task_run_id), _float(r.timestamp),
            _text(r.identity), _text(r.entrypoint))


def _log(r: LogEmitted) -> tuple[Any, ...]:
    flow_run_id, task_run_id, ts = r.flow_run_id, r.task_run_id, r.timestamp
    return (LOG, None if flow_run_id is None else flow_run_id.int,
            None if task_run_id is None else task_run_id.int, str(r.logger), int(r.level),
            str(r.message), ts if ts.__class__ is float and ts - ts == 0 else _float(ts))


def _renamed(r: RunRenamed) -> tuple[Any, ...]:
    return (RENAME, r.run_id.int, r.kind == "flow", str(r.name))


def _dependency(r: DependencyAdded) -> tuple[Any, ...]:
    return (DEPENDENCY, r.task_run_id.int, r.upstream_run_id.int, _text(r.parameter))


def _event(r: Event) -> tuple[Any, ...]:
    return (EVENT, str(r.name), encode_json(r.resource), encode_json(list(r.related)),
            encode_json(r.payload), _int(r.flow_run_id), _int(r.task_run_id),
            _float(r.timestamp))


ENCODERS: dict[type, Any] = {
    StateChanged: _state, TaskRunCreated: _task_run, LogEmitted: _log,
    FlowRunCreated: _flow_run, RunRenamed: _renamed, DependencyAdded: _dependency, Event: _event,
}


def encode(record: Any) -> tuple[Any, ...] | None:
    """`record` as a wire tuple; None for objects that are not records (they are ignored)."""
    encoder = ENCODERS.get(record.__class__)
    return None if encoder is None else encoder(record)


def stamp(item: tuple[Any, ...]) -> float | None:
    """When the record behind a wire tuple was made, if it says."""
    index = STAMP_INDEX.get(item[0])
    return None if index is None else item[index]


def marshallable(items: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """`items` without the tuples `marshal` cannot write (a str subclass somewhere, say):
    one odd value must not cost its whole batch."""
    kept = []
    for item in items:
        try:
            marshal.dumps(item)
        except ValueError:
            continue
        kept.append(item)
    return kept
