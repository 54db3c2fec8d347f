"""Binding call arguments to parameters, and validating flow parameters with pydantic.

`CallSignature` turns `(args, kwargs)` into the `{name: value}` dict runs record, and back.
`ParameterValidator` coerces flow parameters against their type hints; it imports pydantic only
the first time a flow with annotated parameters is called.
"""

from __future__ import annotations

import inspect
import operator
import typing
from collections.abc import Callable
from typing import Any

from headwater.errors import ParameterBindError, ParameterTypeError

_POK = inspect.Parameter.POSITIONAL_OR_KEYWORD
_PO = inspect.Parameter.POSITIONAL_ONLY
_VAR_POS = inspect.Parameter.VAR_POSITIONAL
_VAR_KW = inspect.Parameter.VAR_KEYWORD
_EMPTY = inspect.Parameter.empty
_KEPT_AS_IS = (int, float, str, bool)


class CallSignature:
    """The signature of a flow or task function, with fast paths for the common cases."""

    __slots__ = (
        "_values", "fn_name", "names", "params", "signature", "simple", "var_keyword",
        "var_positional",
    )

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn_name = getattr(fn, "__name__", repr(fn))
        self.signature = inspect.signature(fn)
        self.params = tuple(self.signature.parameters.values())
        self.names = tuple(p.name for p in self.params)
        # "simple": every parameter is positional-or-keyword without a default, so positional
        # arguments map one-to-one onto names. Most task functions look like this.
        self.simple = all(p.kind is _POK and p.default is _EMPTY for p in self.params)
        self.var_keyword = next((p.name for p in self.params if p.kind is _VAR_KW), None)
        self.var_positional = next((p.name for p in self.params if p.kind is _VAR_POS), None)
        # The values of two or more parameters, in order, read in C (picklable, as a task
        # pickled by value carries its signature).
        self._values: Callable[[dict[str, Any]], tuple[Any, ...]] | None = (
            operator.itemgetter(*self.names) if len(self.names) > 1 else None)

    def bind(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], apply_defaults: bool = True
    ) -> dict[str, Any]:
        """The call's parameters by name, defaults filled in (unless `apply_defaults=False`).

        Raises:
            ParameterBindError: the arguments do not fit the signature.
        """
        if self.simple and not kwargs and len(args) == len(self.names):
            return dict(zip(self.names, args, strict=True))
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError as exc:
            shown_sig = ", ".join(str(p) for p in self.params)
            raise ParameterBindError(
                f"Error binding parameters for function {self.fn_name!r}: {exc}.\n"
                f"Function {self.fn_name!r} has signature '{shown_sig}' but received "
                f"args: {args!r} and kwargs: {sorted(kwargs)!r}."
            ) from None
        if apply_defaults:
            bound.apply_defaults()
        arguments = dict(bound.arguments)
        if self.var_positional in arguments:  # `*args` is recorded as a list, as in Prefect
            arguments[self.var_positional] = list(arguments[self.var_positional])
        return arguments

    def complete(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """`parameters` with defaults filled in for any parameter that is missing."""
        if len(parameters) == len(self.names):
            return parameters
        full: dict[str, Any] = {}
        for param in self.params:
            if param.name in parameters:
                full[param.name] = parameters[param.name]
            elif param.kind is _VAR_POS:
                full[param.name] = []
            elif param.kind is _VAR_KW:
                full[param.name] = {}
            elif param.default is not _EMPTY:
                full[param.name] = param.default
        return full

    def to_call(self, parameters: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Split parameters back into positional and keyword arguments for the function."""
        if self.simple:
            values = self._values
            if values is not None:
                return values(parameters), {}
            names = self.names
            return ((parameters[names[0]],) if names else ()), {}
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        positional = True  # until a positional parameter is missing (its default applies)
        for param in self.params:
            if param.name not in parameters:
                if param.kind is _PO or param.kind is _POK:
                    positional = False
                continue
            value = parameters[param.name]
            if param.kind is _VAR_POS:
                args.extend(value)
            elif param.kind is _VAR_KW:
                kwargs.update(value)
            elif (param.kind is _PO or param.kind is _POK) and positional:
                args.append(value)
            else:
                kwargs[param.name] = value
        return tuple(args), kwargs


def describe_type(annotation: Any) -> str:
    """`int` for classes, `list[int]` / `Optional[str]` for typing constructs."""
    if isinstance(annotation, type) and not typing.get_args(annotation):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


class ParameterValidator:
    """Validates and coerces flow parameters against the function's type hints."""

    __slots__ = ("_aliases", "_annotations", "_defaults", "_exact", "_fn", "_model", "_names")

    def __init__(self, fn: Callable[..., Any], signature: CallSignature) -> None:
        self._fn = fn
        self._model: Any = None
        self._defaults = {p.name: p.default for p in signature.params}
        hints = _type_hints(fn)
        annotations: dict[str, Any] = {}
        for param in signature.params:
            if param.name not in hints:
                continue
            hint = hints[param.name]
            if param.kind is _VAR_POS:
                hint = tuple[hint, ...]  # type: ignore[valid-type]
            elif param.kind is _VAR_KW:
                hint = dict[str, hint]  # type: ignore[valid-type]
            annotations[param.name] = hint
        self._annotations = annotations
        self._names = tuple(annotations)
        self._aliases: dict[str, str] = {}
        # When every hint is one of these classes, a value of exactly that class is what
        # validation would return (pydantic's lax mode keeps it as it is): no model call.
        self._exact: tuple[tuple[str, type], ...] | None = (
            tuple(annotations.items())
            if all(hint in _KEPT_AS_IS for hint in annotations.values()) else None
        )

    @property
    def needed(self) -> bool:
        """False when no parameter is annotated: there is nothing to validate."""
        return bool(self._annotations)

    def _build(self) -> Any:
        import pydantic  # deferred: only flows that validate pay for pydantic

        fields: dict[str, Any] = {}
        for index, name in enumerate(self._names):
            # Field names are synthetic so that parameter names pydantic forbids as field names
            # (leading underscores, `model_config`, ...) still validate; the alias keeps the
            # user's name in error locations.
            field = f"p{index}"
            self._aliases[name] = field
            fields[field] = (self._annotations[name], pydantic.Field(default=None, alias=name))
        return pydantic.create_model(
            f"{getattr(self._fn, '__name__', 'flow')}_parameters",
            __config__=pydantic.ConfigDict(arbitrary_types_allowed=True),
            **fields,
        )

    def validate(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """Coerced parameters, e.g. `"5"` → `5` for an `int` hint.

        A value that *is* the parameter's default is left alone: defaults are the author's own.

        Raises:
            ParameterTypeError: one or more values do not fit; every problem is listed.
        """
        exact = self._exact
        if exact is not None:  # every hint a plain class: values of exactly it stay as they are
            for name, kind in exact:
                if name in parameters and parameters[name].__class__ is not kind:
                    break
            else:
                return parameters
        to_check = {
            name: parameters[name]
            for name in self._names
            if name in parameters and parameters[name] is not self._defaults.get(name)
        }
        if not to_check:
            return parameters
        if self._model is None:
            self._model = self._build()
        import pydantic

        try:
            model = self._model.model_validate(to_check)
        except pydantic.ValidationError as exc:
            raise self._error(exc) from None
        coerced = dict(parameters)
        for name in to_check:
            coerced[name] = getattr(model, self._aliases[name])
        return coerced

    def _error(self, exc: Any) -> ParameterTypeError:
        lines = ["Flow run received invalid parameters:"]
        errors: list[dict[str, Any]] = []
        for err in exc.errors(include_url=False):
            loc = [str(part) for part in err.get("loc", ())]
            name = loc[0] if loc else "?"
            expected = describe_type(self._annotations.get(name, Any))
            value = err.get("input")
            where = ".".join(loc) or name
            lines.append(
                f" - {where}: {err.get('msg')} (expected {expected}, got {value!r})"
            )
            errors.append(
                {"parameter": name, "expected": expected, "value": value, "message": err.get("msg")}
            )
        lines.append("Pass values of the annotated types, or use validate_parameters=False.")
        return ParameterTypeError("\n".join(lines), errors=errors)


def _type_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    """Resolved type hints; falls back to raw annotations when a name cannot be resolved."""
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception:
        hints = dict(getattr(fn, "__annotations__", {}))
    hints.pop("return", None)
    return hints
