"""User values as JSON text for the run store: never fails, never grows without bound.

Parameters, results and event payloads are encoded where they can be, and as a readable
placeholder where they cannot (a future, an open file, an object whose `repr` raises):
storing history never fails because of a user's value.
"""

from __future__ import annotations

import json
import sys
from datetime import date, datetime, time
from typing import Any

MAX_TEXT = 64 * 1024  # longest JSON text stored for one value; longer ones are cut, and say so
_quote = json.encoder.encode_basestring  # a str as a JSON string literal (C speed)


def placeholder(value: Any) -> str:
    """A readable stand-in for a value JSON cannot hold."""
    run_id = getattr(value, "task_run_id", None)
    kind = type(value).__name__
    if run_id is not None and "Future" in kind:
        return f"<{kind} of task run {run_id}>"
    try:
        text = repr(value)
    except Exception:
        return f"<unrepresentable {kind}>"
    return text if len(text) <= 200 else text[:197] + "..."


def _default(value: Any) -> Any:
    if isinstance(value, _as_text()):
        return str(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        try:
            return sorted(value)
        except TypeError:
            return list(value)
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {value}"
    return placeholder(value)


def _as_text() -> tuple[type, ...]:
    """The types stored as their `str`: `UUID` and `PurePath`, of the modules loaded. A value of
    either type means its module is loaded; the writer process, which encodes only its own
    placeholders, then needs neither `uuid` (with `platform`) nor `pathlib` for it."""
    uuid, pathlib = sys.modules.get("uuid"), sys.modules.get("pathlib")
    return ((uuid.UUID,) if uuid is not None else ()) + (
        (pathlib.PurePath,) if pathlib is not None else ())


# The C encoder, made once: `JSONEncoder.encode` would build it again for every value. No
# cycle markers: a cyclic value ends in RecursionError, and becomes a placeholder.
_make = getattr(json.encoder, "c_make_encoder", None)  # None without the C accelerator
_chunks = _make and _make(None, _default, _quote, None, ": ", ", ", False, False, True)
_slow = json.JSONEncoder(default=_default, ensure_ascii=False).encode


def _encode(value: Any) -> str:
    return "".join(_chunks(value, 0)) if _chunks else _slow(value)


def encode_json(value: Any) -> str:
    """`value` as JSON text; never raises. Unserializable parts become placeholders."""
    kind = type(value)
    if kind is int:  # the commonest results, cheaply
        try:
            return str(value)
        except ValueError:  # over Python's 4,300 digits: a placeholder (below)
            pass
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is str and len(value) < MAX_TEXT:
        return _quote(value)
    try:
        text = _encode(value)
    except Exception:  # e.g. non-string dict keys, cycles, a __repr__ that raises
        text = json.dumps(placeholder(value), ensure_ascii=False)
    if len(text) > MAX_TEXT:
        text = json.dumps(f"<{len(text):,} characters of JSON, cut> {text[:1000]}")
    return text


def encode_dict(value: dict[Any, Any]) -> str:
    """A dict (parameters, payloads) as JSON text, as `encode_json` writes it.

    The common case, a few plain values under str keys, is joined here: for so few items,
    setting up the C encoder costs more than the Python below (about 0.6 µs against 0.4 for
    one int). Anything else goes to `encode_json`."""
    try:
        return _plain_dict(value)
    except ValueError:  # an int over Python's 4,300 digits: encode_json makes a placeholder
        return encode_json(value)


def _plain_dict(value: dict[Any, Any]) -> str:
    if len(value) == 1:  # one parameter, as every mapped task has: no list to join
        (key, item), = value.items()
        if type(key) is str:
            if type(item) is int:
                return f"{{{_quote(key)}: {item}}}"
            if type(item) is str and len(item) < 1024:
                return f"{{{_quote(key)}: {_quote(item)}}}"
    if len(value) <= 8:
        parts = []
        for key, item in value.items():
            if type(key) is not str:
                break
            kind = type(item)
            if kind is int:
                parts.append(f"{_quote(key)}: {item}")
            elif kind is str:
                parts.append(f"{_quote(key)}: {_quote(item)}")
            elif item is None:
                parts.append(f"{_quote(key)}: null")
            elif kind is bool:
                parts.append(f"{_quote(key)}: {'true' if item else 'false'}")
            else:
                break
        else:
            text = "{" + ", ".join(parts) + "}"
            if len(text) <= MAX_TEXT:
                return text
    return encode_json(value)
