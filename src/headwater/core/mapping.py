"""Turning one `.map(...)` call into the parameters of each mapped task run (pure logic)."""

from __future__ import annotations

import io
from typing import Any

from headwater.core.annotations import BaseAnnotation, unmapped
from headwater.errors import MappingLengthMismatch, MappingMissingIterable


def is_mappable(value: Any) -> bool:
    """Iterable, except for str, bytes and open files (mapped over, they'd give characters)."""
    if isinstance(value, (str, bytes, io.IOBase)):
        return False
    try:
        iter(value)
    except TypeError:
        return False
    return True


def expand(parameters: dict[str, Any], var_keyword: str | None = None) -> list[dict[str, Any]]:
    """One parameter dict per mapped run.

    Iterable values are mapped element by element; `unmapped(x)` and non-iterables go to every
    run; `allow_failure` / `quote` / `opaque` wrap each element of the value they hold.

    Raises:
        MappingMissingIterable: no argument is iterable.
        MappingLengthMismatch: the iterables differ in length (the error lists each length).
    """
    flat = dict(parameters)
    extra_keys: list[str] = []
    if var_keyword is not None and isinstance(flat.get(var_keyword), dict):
        extra = flat.pop(var_keyword)
        extra_keys = list(extra)
        flat.update(extra)

    mapped: dict[str, list[Any]] = {}
    static: dict[str, Any] = {}
    for name, value in flat.items():
        if isinstance(value, unmapped):
            static[name] = value.value
        elif isinstance(value, BaseAnnotation):
            inner = value.unwrap()
            if is_mappable(inner):
                mapped[name] = [value.rewrap(item) for item in inner]
            else:
                static[name] = value
        elif is_mappable(value):
            mapped[name] = list(value)
        else:
            static[name] = value

    if not mapped:
        raise MappingMissingIterable(
            "No iterable parameters were received. Parameters for map must include at least "
            f"one iterable. Parameters: {parameters!r}. Pass a list (or wrap a list that should "
            "go to every call in unmapped(...))."
        )
    lengths = {name: len(values) for name, values in mapped.items()}
    if len(set(lengths.values())) > 1:
        raise MappingLengthMismatch(
            "Received iterable parameters with different lengths. Parameters for map must all "
            f"be the same length. Got lengths: {lengths}. Wrap arguments that should go to "
            "every call in unmapped(...)."
        )
    count = next(iter(lengths.values()))
    calls = []
    for index in range(count):
        call = dict(static)
        for name, values in mapped.items():
            call[name] = values[index]
        if extra_keys:
            call[var_keyword] = {key: call.pop(key) for key in extra_keys}  # type: ignore[index]
        calls.append(call)
    return calls
