"""Stable hashes of Python values, for cache keys.

`hash_objects` hashes a JSON rendering (sorted keys, with encodings for common types) and
falls back to cloudpickle for anything JSON cannot express. Equal inputs give equal keys across
processes and runs.
"""

from __future__ import annotations

import json
from typing import Any

from headwater.errors import HeadwaterError

# The modules below are imported where a key is made: the engine loads this module for every
# flow, and most runs make no cache key (hashlib loads OpenSSL; decimal is a large module).


class HashError(HeadwaterError, ValueError):
    """A value could not be turned into a stable hash."""


def _encode(value: Any) -> Any:
    import dataclasses
    import datetime as dt
    import decimal
    import enum
    import pathlib
    import uuid

    if isinstance(value, (set, frozenset)):
        return {"__set__": sorted(json.dumps(v, default=_encode, sort_keys=True) for v in value)}
    if isinstance(value, bytes):
        return {"__bytes__": value.hex()}
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return {"__datetime__": value.isoformat()}
    if isinstance(value, dt.timedelta):
        return {"__timedelta__": value.total_seconds()}
    if isinstance(value, (uuid.UUID, decimal.Decimal, pathlib.PurePath)):
        return {f"__{type(value).__name__}__": str(value)}
    if isinstance(value, enum.Enum):
        return {"__enum__": f"{type(value).__qualname__}.{value.name}"}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"__class__": type(value).__qualname__, "data": dataclasses.asdict(value)}
    dump = getattr(value, "model_dump", None)  # pydantic v2 models
    if callable(dump):
        return {"__class__": type(value).__qualname__, "data": dump(mode="json")}
    raise TypeError(f"{type(value).__name__} is not JSON-encodable for hashing")


def hash_objects(*args: Any, raise_on_failure: bool = False, **kwargs: Any) -> str | None:
    """An md5 hex digest of the arguments; None (or HashError) if they cannot be serialised."""
    import hashlib

    try:
        text = json.dumps((args, kwargs), default=_encode, sort_keys=True)
        return hashlib.md5(text.encode()).hexdigest()
    except (TypeError, ValueError) as json_error:
        try:
            import cloudpickle

            return hashlib.md5(cloudpickle.dumps((args, kwargs))).hexdigest()
        except Exception as pickle_error:
            if raise_on_failure:
                raise HashError(
                    "Unable to create a hash: the objects can be serialised neither as JSON "
                    f"({json_error}) nor with cloudpickle ({pickle_error})."
                ) from None
            return None
