"""Records as wire tuples, by one codec generated from the record types.

The run thread builds record objects (`records.py`); the store sink turns each into one tuple
of plain values as it is emitted: ids as 128-bit ints, user values (parameters, results, event
payloads) already JSON text. Tuples of plain values are what `marshal` writes fastest, so the
same form goes to the writer process over a pipe, or straight to the in-process writer. Nothing
of the user's object graph crosses: a 2 GB DataFrame result costs its JSON placeholder.

Nothing here is written by hand per record. At import, each record type's fields (a named
tuple's `_fields`, a dataclass's fields, or the annotated attributes of any other class) and
their annotations give:

- its *kind*, an int: its place in `RECORD_TYPES`, the first value of its tuples;
- its *layout*: the names of the values after the kind, in order (`LAYOUTS`). A `State` field
  `state` stands for five values: `state.type`, `state.name`, `state.message`,
  `state.timestamp` and `state.data` (a final state's data as JSON, else None);
- its *encoder*: a function generated from `_CONVERSIONS` (one expression per annotation),
  compiled once, when first asked for (`ENCODERS`), as fast as one written by hand. Its
  source (`SOURCES`) is also inlined in the store sink's `emit` (`make_emit`), which then
  makes the same tuples with one call less.

Readers (the store's batch builder) find values by name through `LAYOUTS`; they never count
positions, and this module never learns what they make of the values.
"""

from __future__ import annotations

import marshal
from collections import deque
from collections.abc import Callable
from typing import Any

from headwater.errors import HeadwaterError
from headwater.events._json import encode_dict, encode_json
from headwater.events.records import (
    DependencyAdded,
    Event,
    FlowRunCreated,
    LogEmitted,
    RunRenamed,
    StateChanged,
    TaskRunCreated,
)

# The kinds are places in this tuple: append new record types, never reorder (a spill file
# saved by one process is written by the next one that opens the store).
RECORD_TYPES: tuple[type, ...] = (
    FlowRunCreated, TaskRunCreated, StateChanged, RunRenamed, LogEmitted, DependencyAdded, Event,
)
FINAL_TYPES = frozenset({"COMPLETED", "FAILED", "CRASHED", "CANCELLED"})

# Annotation (as written in records.py) -> the expression that makes its plain value from the
# field's value `{v}`. Each keeps the cheap common case free of calls.
_CONVERSIONS: dict[str, str] = {
    "UUID": "{v}.int",
    "UUID | None": "None if {v} is None else {v}.int",
    "str": "str({v})",
    "str | None": "None if {v} is None else str({v})",
    "int": "{v} if type({v}) is int else int({v})",  # int() is a call: skip it for an int
    "float": "{v} if type({v}) is float and {v} - {v} == 0.0 else _float({v})",
    "int | str | None": "{v} if {v} is None or type({v}) is int else str({v})",
    "RunKind": "{v}",  # one of two constants of the engine: already a plain str
    "dict[str, Any]": "_dict({v}) if {v} else '{{}}'",
    "frozenset[str]": "_tags({v}) if {v} else ()",
    "tuple[dict[str, Any], ...]": "_json(list({v}))",
}
# A `State` field is five values; `{v}` is the state, `{t}` its type's value, `{ts}` its
# timestamp, `{m}` its message, `{d}` its data slot (`_NO_DATA` when it has none: read
# directly, as the properties `data` and `has_data` are two calls per state).
_STATE_PARTS: tuple[tuple[str, str], ...] = (
    ("type", "{t}"),
    ("name", "str({v}.name)"),
    ("message", "None if {m} is None else str({m})"),
    ("timestamp", "{ts} if type({ts}) is float and {ts} - {ts} == 0.0 else _float({ts})"),
    ("data", "None if {d} is _NO_DATA or {t} not in _FINAL else "
             "str({d}) if type({d}) is int and -_BIG < {d} < _BIG else _json({d})"),
)


def _float(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if number - number == 0 else 0.0  # NaN and infinities are not JSON


def _tags(tags: Any) -> tuple[str, ...]:
    return tuple(sorted(str(tag) for tag in tags))


def record_fields(cls: type) -> list[tuple[str, str]]:
    """(name, annotation as text) of each field of a record type, in order: a named tuple's
    `_fields`, a dataclass's fields, or the annotated attributes of any other class."""
    if _is_named_tuple(cls):
        annotations = vars(cls).get("__annotations__", {})
        found = [(name, annotations[name]) for name in cls._fields]  # type: ignore[attr-defined]
    elif hasattr(cls, "__dataclass_fields__"):
        # Not `dataclasses.is_dataclass`: the writer process loads this module, and importing
        # `dataclasses` (with `inspect`) would add a fifth to its start-up.
        import dataclasses

        found = [(f.name, f.type) for f in dataclasses.fields(cls)]
    else:
        found = [item for klass in reversed(cls.__mro__)
                 for item in vars(klass).get("__annotations__", {}).items()]
    return [(name, _spell(ann)) for name, ann in found]


def _is_named_tuple(cls: type) -> bool:
    return issubclass(cls, tuple) and hasattr(cls, "_fields")


def _spell(annotation: Any) -> str:
    """An annotation (text, a forward reference, or an object) written as records.py writes
    it: `UUID | None`."""
    annotation = getattr(annotation, "__forward_arg__", annotation)  # NamedTuple keeps these
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "").replace("uuid.", "")


def _generate(kind: int, cls: type) -> tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]]]:
    """The layout of a record type's tuples, and its encoder."""
    names, lines, value = _parts(kind, cls)
    source = "\n".join([f"def encode_{cls.__name__}(r):", *lines, f"    return {value}"])
    namespace = _namespace()
    exec(compile(source, f"<wire encoder of {cls.__name__}>", "exec"), namespace)
    return names, namespace[f"encode_{cls.__name__}"]


def _parts(kind: int, cls: type) -> tuple[tuple[str, ...], list[str], str]:
    """The layout of a record type's tuples, and the source of its encoding: the statements
    (indented by four, reading the record `r` into locals) and the tuple's expression. Run in
    `NAMESPACE`; the store sink's `emit` inlines them (`make_emit`)."""
    fields = record_fields(cls)
    lines, values, names = [], [str(kind)], []
    unpacked = _is_named_tuple(cls)  # a tuple: all fields into locals in one step (C speed)
    if unpacked:
        lines.append(f"    {', '.join(f'v{i}' for i in range(len(fields)))}, = r")
    for index, (name, annotation) in enumerate(fields):
        v = f"v{index}"
        if annotation == "State":
            t, ts, m, d = f"t{index}", f"ts{index}", f"m{index}", f"d{index}"
            if not unpacked:
                lines.append(f"    {v} = r.{name}")
            lines += [f"    {t} = {v}.type._value_", f"    {ts} = {v}.timestamp_s",
                      f"    {m} = {v}.message", f"    {d} = {v}._data"]
            for part, expression in _STATE_PARTS:
                names.append(f"{name}.{part}")
                values.append(expression.format(v=v, t=t, ts=ts, m=m, d=d))
            continue
        template = _CONVERSIONS.get(annotation)
        if template is None:
            raise HeadwaterError(
                f"The record field {cls.__name__}.{name} is annotated {annotation!r}, which the "
                f"wire codec cannot encode. Annotate it with one of {sorted(_CONVERSIONS)} or "
                f"State, or add a conversion to _CONVERSIONS in headwater/events/codec.py.")
        if unpacked:
            pass
        elif template.count("{v}") == 1:  # read once: no local needed
            v = f"r.{name}"
        else:
            lines.append(f"    {v} = r.{name}")
        names.append(name)
        values.append(template.format(v=v))
    return tuple(names), lines, f"({', '.join(values)},)"


NAMESPACE: dict[str, Any] = {"_json": encode_json, "_dict": encode_dict, "_float": _float,
                             "_tags": _tags,
                             "_FINAL": FINAL_TYPES,
                             # ints up to here have a decimal text (Python refuses str() of
                             # ints over 4,300 digits): bigger ones go to _json's placeholder
                             "_BIG": 10**4000}
"""What the generated encoding code refers to (with `_NO_DATA`: see `_namespace`)."""


def _namespace() -> dict[str, Any]:
    """A copy of `NAMESPACE` to run generated code in. The states module (with `datetime` and
    `enum`) is imported only here, when code that encodes is first made: the writer process
    only reads tuples."""
    if "_NO_DATA" not in NAMESPACE:
        from headwater.core.states import _NO_DATA

        NAMESPACE["_NO_DATA"] = _NO_DATA
    return dict(NAMESPACE)


class _Encoders(dict[type, Callable[[Any], tuple[Any, ...]]]):
    """Record type -> its encoder, compiled when first asked for (`[]` or `get`): the writer
    process never encodes, and the flow's process encodes through `make_emit`."""

    def __missing__(self, cls: type) -> Callable[[Any], tuple[Any, ...]]:
        kind = _KIND_OF.get(cls)
        if kind is None:
            raise KeyError(cls)
        encoder = self[cls] = _generate(kind, cls)[1]
        return encoder

    def get(self, cls: type, default: Any = None) -> Any:
        try:
            return self[cls]
        except KeyError:
            return default


_KIND_OF = {cls: kind for kind, cls in enumerate(RECORD_TYPES)}
LAYOUTS: dict[int, tuple[str, tuple[str, ...]]] = {}
"""Kind -> (record type name, the names of the values after the kind)."""
ENCODERS: dict[type, Callable[[Any], tuple[Any, ...]]] = _Encoders()
"""Record type -> its encoder: a record in, its wire tuple out."""
SOURCES: dict[type, tuple[list[str], str]] = {}
"""Record type -> the source of its encoding (see `_parts`)."""
for _kind, _cls in enumerate(RECORD_TYPES):
    _names, _lines, _value = _parts(_kind, _cls)
    LAYOUTS[_kind] = (_cls.__name__, _names)
    SOURCES[_cls] = (_lines, _value)
KINDS: dict[str, int] = {name: kind for kind, (name, _) in LAYOUTS.items()}
"""Record type name -> kind."""


def position(kind: int, name: str) -> int:
    """Where the value `name` is in the tuples of `kind` (the kind itself is at 0)."""
    return 1 + LAYOUTS[kind][1].index(name)


def encode(record: Any) -> tuple[Any, ...] | None:
    """`record` as a wire tuple; None for objects that are not records (they are ignored)."""
    encoder = ENCODERS.get(record.__class__)
    return None if encoder is None else encoder(record)


_STAMPS = {kind: 1 + names.index(stamp) for kind, (_, names) in LAYOUTS.items()
           for stamp in ("timestamp", "state.timestamp") if stamp in names}


def stamp(item: tuple[Any, ...]) -> float | None:
    """When the record behind a wire tuple was made, if it says."""
    index = _STAMPS.get(item[0])
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


# -- the store sink's emit ----------------------------------------------------------------------
# `emit` runs on the run's thread four times per task run. Calling a record type's encoder from a
# general `emit` costs a dictionary look-up and a second Python call per record; `make_emit`
# writes one function instead, which tests the record's class (the commonest first) and builds
# its wire tuple in place from `SOURCES` (so the tuples are the encoders'). It never raises: a
# record it cannot encode becomes `failure(exc)` in the queue; a record of no known type is
# ignored.

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
    order = [*_FIRST, *(cls for cls in RECORD_TYPES if cls not in _FIRST)]
    lines = ["def emit(r):", "    c = type(r)"]
    for index, cls in enumerate(order):
        body, value = SOURCES[cls]
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
    namespace = _namespace()
    namespace.update({f"_T{index}": cls for index, cls in enumerate(order)})
    namespace.update(
        _append=queue.append, _queue=queue, _AT=hand_off_at, _hand_off=hand_off,
        _flow_run_created=flow_run_created, _failure=failure,
    )
    exec(compile("\n".join(lines), "<store sink emit>", "exec"), namespace)
    emit: Callable[[Any], None] = namespace["emit"]
    return emit
