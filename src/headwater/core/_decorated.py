"""What `Flow` and `Task` share: wrapping a function, binding to methods, options, hooks."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from typing import Any, ClassVar

from headwater.core import options as opt
from headwater.errors import OptionError

# `inspect` (which loads ast, dis and tokenize) and the parameters module that needs it are
# imported when the first function is decorated: `import headwater` alone does without them.

_UNBOUND: Any = object()


class Decorated:
    """Base of `Flow` and `Task`.

    Subclasses set `_kind` ("flow"/"task"), `_hook_kinds` (the hook lists they accept) and build
    their options in `_configure`. The options a user passed are kept in `_given`, so
    `with_options` can rebuild the object with some of them changed.
    """

    _kind: ClassVar[str] = ""
    _hook_kinds: ClassVar[tuple[str, ...]] = ()

    fn: Callable[..., Any]
    name: str
    isasync: bool
    _given: dict[str, Any]

    def _wrap(self, fn: Any) -> None:
        self._isclassmethod = isinstance(fn, classmethod)
        self._isstaticmethod = isinstance(fn, staticmethod)
        if self._isclassmethod or self._isstaticmethod:
            fn = fn.__func__
        if not callable(fn):
            raise TypeError(
                f"@{self._kind} needs a function, got {type(fn).__name__} {fn!r}. Decorate a "
                f"'def' (or 'async def') function."
            )
        import inspect

        from headwater.core.parameters import CallSignature

        opt.check_reserved_arguments(fn, kind=self._kind)
        self.fn = fn
        self.isasync = inspect.iscoroutinefunction(fn)
        # Looked up once: a submitted run asks it every time (`engine/generators.py`).
        self._isgenerator = inspect.isgeneratorfunction(inspect.unwrap(fn))
        self._signature = CallSignature(fn)
        self._bound: Any = _UNBOUND
        with contextlib.suppress(AttributeError):  # callable objects lack __name__ etc.
            functools.update_wrapper(self, fn)  # type: ignore[arg-type]

    # -- options ----------------------------------------------------------------------------------
    def with_options(self, **changes: Any) -> Any:
        """A copy of this object with some options changed; the original is untouched.

        An option passed as None keeps its current value (as in Prefect); to remove a timeout
        pass `timeout_seconds=0`.

        Raises:
            OptionError: an option this object does not have.
        """
        valid = self._option_names()
        unknown = sorted(set(changes) - set(valid))
        if unknown:
            raise OptionError(
                f"{type(self).__name__}.with_options() got unknown option(s) {unknown}. "
                f"Valid options: {', '.join(valid)}.",
                option=unknown[0],
                value=changes[unknown[0]],
            )
        given = dict(self._given)
        for kind in self._hook_kinds:  # hooks added later with @obj.on_<kind> are kept too
            given[f"on_{kind}"] = list(self._hooks(kind))
        for key, value in changes.items():
            if value is not None:
                given[key] = value
        fn: Any = self.fn
        if self._isclassmethod:
            fn = classmethod(fn)
        elif self._isstaticmethod:
            fn = staticmethod(fn)
        new = self._rebuild(fn, given)
        new._bound = self._bound
        return new

    def _rebuild(self, fn: Any, given: dict[str, Any]) -> Any:
        """A new object of this type from a function and options (subclasses add their own)."""
        return type(self)(fn, **given)  # type: ignore[call-arg]

    @classmethod
    def _option_names(cls) -> list[str]:
        import inspect

        params = inspect.signature(cls.__init__).parameters
        return [p for p in params if p not in ("self", "fn")]

    # -- hooks ------------------------------------------------------------------------------------
    def _hooks(self, kind: str) -> list[Callable[..., Any]]:
        hooks: list[Callable[..., Any]] = getattr(self, f"on_{kind}_hooks")
        return hooks

    def _register_hook(self, kind: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        if not callable(fn):
            raise OptionError(
                f"@{self.name}.on_{kind} needs a function, got {fn!r}.",
                option=f"on_{kind}",
                value=fn,
            )
        self._hooks(kind).append(fn)
        return fn

    # -- methods ----------------------------------------------------------------------------------
    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        """Bind to the instance (methods) or the class (classmethods); staticmethods stay unbound.

        Each access returns a fresh copy, so one instance's binding never leaks into another's.
        """
        if self._isstaticmethod:
            return self
        if self._isclassmethod:
            bound = type(self).__copy__(self)  # what copy.copy(self) calls
            bound._bound = owner if owner is not None else type(instance)
            return bound
        if instance is None:
            return self
        bound = type(self).__copy__(self)
        bound._bound = instance
        return bound

    def _bind(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], apply_defaults: bool = True
    ) -> dict[str, Any]:
        if self._bound is not _UNBOUND:
            args = (self._bound, *args)
        return self._signature.bind(args, kwargs, apply_defaults=apply_defaults)

    def _returns_coroutine(self) -> bool:
        """Whether calling this async object hands back a coroutine: always, as for any async
        callable in Python and in Prefect. Inside a sync flow, run it with `asyncio.run(...)`,
        or `.submit()` it (the task runner runs it on an event loop of its own).
        """
        return True

    # -- copying and pickling -------------------------------------------------------------------
    def __copy__(self) -> Any:
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        return new

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        import copy

        new = object.__new__(type(self))
        memo[id(self)] = new
        for key, value in self.__dict__.items():
            new.__dict__[key] = copy.deepcopy(value, memo)
        return new

    def __reduce_ex__(self, protocol: Any) -> Any:
        """Pickled by reference (module and name) when it can be imported from there as this
        very object, so a worker imports it instead of receiving its code, options and hooks;
        by value otherwise (a script's `__main__`, a copy made by `with_options`, a bound method).
        """
        module, qualname = getattr(self, "__module__", None), getattr(self, "__qualname__", "")
        if (module and module != "__main__" and self._bound is _UNBOUND
                and "<locals>" not in qualname and _lookup(module, qualname) is self):
            return (_import_decorated, (module, qualname))
        return object.__reduce_ex__(self, protocol)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, fn={self.fn.__qualname__})"


def _lookup(module: str, qualname: str) -> Any:
    import inspect
    import sys

    found: Any = sys.modules.get(module)
    for part in qualname.split("."):
        if found is None:
            return None
        found = inspect.getattr_static(found, part, None)
    return found


def _import_decorated(module: str, qualname: str) -> Any:
    """Unpickle a flow or task pickled by reference: import its module and look it up."""
    import importlib
    import inspect

    found: Any = importlib.import_module(module)
    for part in qualname.split("."):
        found = inspect.getattr_static(found, part)
    return found


def _md5_hex(data: bytes) -> str:
    """MD5 of `data` in hex (a task's key, a flow's version), from Python's built-in module
    where there is one: the same digest as `hashlib`'s, without loading OpenSSL (`_hashlib`,
    about 2 ms) when a task is decorated or a flow runs."""
    import importlib

    try:
        md5 = importlib.import_module("_md5").md5
    except ImportError:
        from hashlib import md5
    return str(md5(data).hexdigest())
