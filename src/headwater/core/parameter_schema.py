"""`Flow.parameters`: the JSON schema of a flow's parameters, in the shape Prefect gives it.

`parameter_schema(fn)` returns a `ParameterSchema` (a pydantic model with `title`, `type`,
`properties`, `required` and `definitions`), so code that reads `flow.parameters.properties` or
calls `.model_dump()` works unchanged. Each property names its parameter (`title`) and its place
in the signature (`position`); `*args` is an array and `**kwargs` an object, both defaulting to
empty. This module imports pydantic; `Flow.parameters` imports it on first use only.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

_EMPTY = inspect.Parameter.empty


class ParameterSchema(BaseModel):
    """A flow's parameters as a JSON schema object (deployments and UIs render forms from it)."""

    title: str = "Parameters"
    type: str = "object"
    properties: dict[str, Any] = Field(default_factory=dict)
    required: list[str] = Field(default_factory=list)
    definitions: dict[str, Any] = Field(default_factory=dict)


def _hints(fn: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn, include_extras=True)
    except Exception:  # a forward reference that does not resolve: treat those as untyped
        return dict(getattr(fn, "__annotations__", {}))


def _field(param: inspect.Parameter, hint: Any) -> tuple[Any, Any]:
    """The (annotation, FieldInfo) pydantic needs for one parameter."""
    if param.kind is inspect.Parameter.VAR_POSITIONAL:
        return list[hint], Field(default_factory=list, alias=param.name, title=param.name)
    if param.kind is inspect.Parameter.VAR_KEYWORD:
        return dict[str, hint], Field(default_factory=dict, alias=param.name, title=param.name)
    default = ... if param.default is _EMPTY else param.default
    return hint, Field(default, alias=param.name, title=param.name)


def _property_schema(name: str, annotation: Any, field: Any, position: int) -> dict[str, Any]:
    """One property's schema; a parameter pydantic cannot describe becomes untyped."""
    model = create_model(
        "Parameters", __config__=ConfigDict(arbitrary_types_allowed=True),
        value=(annotation, field),
    )
    try:
        schema = model.model_json_schema(ref_template="#/definitions/{model}")
    except Exception:
        schema = {"properties": {name: {"title": name}}}
    prop = dict(schema["properties"][name])
    if field.default_factory is not None:
        prop["default"] = field.default_factory()
    prop["position"] = position
    prop["definitions"] = schema.get("$defs", {})
    return prop


def parameter_schema(fn: Callable[..., Any]) -> ParameterSchema:
    """The schema of `fn`'s parameters, in signature order, with required ones listed."""
    hints = _hints(fn)
    properties: dict[str, Any] = {}
    required: list[str] = []
    definitions: dict[str, Any] = {}
    for position, param in enumerate(inspect.signature(fn).parameters.values()):
        annotation, field = _field(param, hints.get(param.name, Any))
        prop = _property_schema(param.name, annotation, field, position)
        definitions.update(prop.pop("definitions"))
        properties[param.name] = dict(sorted(prop.items()))
        if param.default is _EMPTY and param.kind not in (
            inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD
        ):
            required.append(param.name)
    return ParameterSchema(properties=properties, required=required, definitions=definitions)
