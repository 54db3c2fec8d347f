"""Wrappers that change how an argument is treated: `unmapped`, `allow_failure`, `quote`.

    add.map([1, 2, 3], unmapped(10))        # 10 goes to every mapped call
    report(allow_failure(risky_future))     # runs even if risky failed; gets its exception
    inspect_later(quote(big_structure))     # passed as is: not searched for futures

An annotation is a one-element tuple (as in Prefect, so tools that unpack tuples see the
value): `annotation.value`, `annotation.unwrap()`, `annotation.rewrap(other)`. Two annotations
are equal when they are of the same type and hold equal values; an annotation never equals a
plain tuple.
"""

from __future__ import annotations

import json
import warnings
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def _first(annotation: tuple[Any, ...]) -> Any:
    return tuple.__getitem__(annotation, 0)


class BaseAnnotation(tuple, Generic[T]):  # type: ignore[type-arg]
    """Holds one value; subclasses say what the engine should do with it."""

    __slots__ = ()

    def __new__(cls, value: T) -> BaseAnnotation[T]:
        return super().__new__(cls, (value,))

    @property
    def value(self) -> T:
        """The value held (`unmapped` overrides item access, so read the tuple's own)."""
        return _first(self)  # type: ignore[no-any-return]

    def unwrap(self) -> T:
        return self.value

    def rewrap(self, value: Any) -> BaseAnnotation[Any]:
        return type(self)(value)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and tuple.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash((type(self).__name__, id(self.value)))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.value!r})"


class unmapped(BaseAnnotation[T]):
    """Pass the same value to every call of a `.map`, instead of mapping over it."""

    __slots__ = ()

    def __getitem__(self, _: Any) -> T:  # type: ignore[override]
        return self.value


class allow_failure(BaseAnnotation[T]):
    """Run the downstream task even if this upstream failed; it receives the exception."""

    __slots__ = ()


class quote(BaseAnnotation[T]):
    """Pass the value untouched: not searched for futures, not recorded as a dependency."""

    __slots__ = ()

    def unquote(self) -> T:
        """The value (Prefect's name for `unwrap`)."""
        return self.value


class Quote(quote[T]):
    """Deprecated spelling of `quote`."""

    __slots__ = ()

    def __new__(cls, value: T) -> Quote[T]:
        warnings.warn("Use of `Quote` is deprecated. Use `quote` instead.", DeprecationWarning,
                      stacklevel=2)
        return super().__new__(cls, value)  # type: ignore[return-value]


class opaque(BaseAnnotation[T]):
    """Resolve a future or state at the top level, but do not search inside the value."""

    __slots__ = ()


class freeze(BaseAnnotation[T]):
    """A deployment parameter that runs may not change; a task given one receives the value.

    Raises:
        ValueError: the value is not JSON serializable (a parameter must be).
    """

    __slots__ = ()

    def __new__(cls, value: T) -> freeze[T]:
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            raise ValueError("Value must be JSON serializable") from None
        return super().__new__(cls, value)  # type: ignore[return-value]

    def unfreeze(self) -> T:
        """The value."""
        return self.value
