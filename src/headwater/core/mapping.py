"""Turning one `.map(...)` call into the parameters of each mapped task run (pure logic)."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from typing import Any, overload

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
    """One parameter dict per mapped run (all of them at once; see `MappedCalls`).

    Iterable values are mapped element by element; `unmapped(x)` and non-iterables go to every
    run; `allow_failure` / `quote` / `opaque` wrap each element of the value they hold.

    Raises:
        MappingMissingIterable: no argument is iterable.
        MappingLengthMismatch: the iterables differ in length (the error lists each length).
    """
    return list(MappedCalls(parameters, var_keyword))


class MappedCalls(Sequence[dict[str, Any]]):
    """The parameter dicts of a `.map`'s runs, each made when it is asked for.

    A million-element map then holds its input lists, not a million dicts at once: each run's
    dict lives only as long as its run is in flight. `complete` (defaults filled in) is applied
    to each dict as it is made.

    Raises:
        MappingMissingIterable: no argument is iterable.
        MappingLengthMismatch: the iterables differ in length (the error lists each length).
    """

    def __init__(
        self, parameters: dict[str, Any], var_keyword: str | None = None,
        complete: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        flat = dict(parameters)
        extra_keys: list[str] = []
        if var_keyword is not None and isinstance(flat.get(var_keyword), dict):
            extra = flat.pop(var_keyword)
            extra_keys = list(extra)
            flat.update(extra)

        mapped: dict[str, Sequence[Any]] = {}
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
                # An immutable sequence is indexed where it is (a range makes no million ints).
                mapped[name] = value if type(value) in (range, tuple) else list(value)
            else:
                static[name] = value

        if not mapped:
            raise MappingMissingIterable(
                "No iterable parameters were received. Parameters for map must include at "
                f"least one iterable. Parameters: {parameters!r}. Pass a list (or wrap a list "
                "that should go to every call in unmapped(...))."
            )
        lengths = {name: len(values) for name, values in mapped.items()}
        if len(set(lengths.values())) > 1:
            raise MappingLengthMismatch(
                "Received iterable parameters with different lengths. Parameters for map must "
                f"all be the same length. Got lengths: {lengths}. Wrap arguments that should "
                "go to every call in unmapped(...)."
            )
        self._count = next(iter(lengths.values()))
        self._static = static
        self._mapped = mapped
        self._extra_keys = extra_keys
        self._var_keyword = var_keyword
        self._complete = complete

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [self._call(i) for i in range(*index.indices(self._count))]
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError("mapped call index out of range")
        return self._call(index)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return map(self._call, range(self._count))

    def _call(self, index: int) -> dict[str, Any]:
        call = dict(self._static)
        for name, values in self._mapped.items():
            call[name] = values[index]
        if self._extra_keys:
            var_keyword = self._var_keyword
            call[var_keyword] = {key: call.pop(key) for key in self._extra_keys}  # type: ignore[index]
        complete = self._complete
        return call if complete is None else complete(call)

    def any_value(self, predicate: Callable[[Any], bool]) -> bool:
        """Whether `predicate` holds for any value some run gets (each value looked at once,
        without making the dicts)."""
        if any(predicate(value) for value in self._static.values()):
            return True
        return any(predicate(item) for values in self._mapped.values() for item in values)
