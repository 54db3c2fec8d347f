"""Turning results into bytes and back: "pickle" (cloudpickle, the default) and "json"."""

from __future__ import annotations

import json
from typing import Any

from headwater.errors import OptionError, SerializationError


class Serializer:
    """Base class. `type` names the serializer in result records."""

    type: str = ""

    def dumps(self, value: Any) -> bytes:
        raise NotImplementedError

    def loads(self, data: bytes) -> Any:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(self.type)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class PickleSerializer(Serializer):
    """cloudpickle: almost any Python object; only Python can read it back."""

    type = "pickle"

    def dumps(self, value: Any) -> bytes:
        import cloudpickle

        try:
            return cloudpickle.dumps(value)  # type: ignore[no-any-return]
        except Exception as exc:
            raise SerializationError(
                f"Result {type(value).__name__} {value!r:.80} cannot be pickled ({exc}). Return "
                "something picklable, or set persist_result=False on the task."
            ) from exc

    def loads(self, data: bytes) -> Any:
        import cloudpickle

        return cloudpickle.loads(data)


class JSONSerializer(Serializer):
    """JSON: readable by anything; only JSON types (dict, list, str, numbers, bool, None)."""

    type = "json"

    def dumps(self, value: Any) -> bytes:
        try:
            return json.dumps(value).encode()
        except (TypeError, ValueError) as exc:
            raise SerializationError(
                f"Result {type(value).__name__} {value!r:.80} is not JSON ({exc}). Use "
                "result_serializer='pickle', or return plain dicts/lists/strings/numbers."
            ) from exc

    def loads(self, data: bytes) -> Any:
        return json.loads(data)


SERIALIZERS: dict[str, type[Serializer]] = {"pickle": PickleSerializer, "json": JSONSerializer}


def get_serializer(value: Any) -> Serializer:
    """A serializer from a name ("pickle", "json", "compressed/pickle" is not supported) or
    an instance.

    Raises:
        OptionError: an unknown name.
    """
    if value is None:
        return PickleSerializer()
    if isinstance(value, Serializer):
        return value
    if isinstance(value, str) and value.lower() in SERIALIZERS:
        return SERIALIZERS[value.lower()]()
    raise OptionError(
        f"result_serializer={value!r} is not a serializer headwater knows. Use 'pickle' "
        "(any Python object) or 'json' (plain data), or a headwater.results.Serializer.",
        option="result_serializer",
        value=value,
    )
