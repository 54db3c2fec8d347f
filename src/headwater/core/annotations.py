"""Wrappers that change how an argument is treated: `unmapped`, `allow_failure`, `quote`.

    add.map([1, 2, 3], unmapped(10))        # 10 goes to every mapped call
    report(allow_failure(risky_future))     # runs even if risky failed; gets its exception
    inspect_later(quote(big_structure))     # passed as is: not searched for futures
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

T = TypeVar("T")


class BaseAnnotation(Generic[T]):
    """Holds one value; subclasses say what the engine should do with it."""

    __slots__ = ("value",)

    def __init__(self, value: T) -> None:
        self.value = value

    def unwrap(self) -> T:
        return self.value

    def rewrap(self, value: Any) -> BaseAnnotation[Any]:
        return type(self)(value)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.value == self.value

    def __hash__(self) -> int:
        return hash((type(self).__name__, id(self.value)))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.value!r})"


class unmapped(BaseAnnotation[T]):
    """Pass the same value to every call of a `.map`, instead of mapping over it."""

    __slots__ = ()

    def __getitem__(self, _: Any) -> T:
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


class opaque(BaseAnnotation[T]):
    """Resolve a future or state at the top level, but do not search inside the value."""

    __slots__ = ()
