"""The asset model: `Asset`, its key rules and the current task run's asset context.

Kept apart from `headwater.core.assets` (which builds materializing tasks) so that `Task` can
turn its `asset_deps` into `Asset`s without importing the task machinery back.
"""

from __future__ import annotations

import contextvars
import re
from dataclasses import dataclass, field
from typing import Any

from headwater.errors import OptionError

MAX_KEY_LENGTH = 512
_SCHEME = re.compile(r"^[a-z0-9]+://")
_FORBIDDEN = ("\n", "\r", "\t", "\0", " ", "#", "?", "&", "%", '"', "'", "<", ">", "[", "]",
              "{", "}", "|", "\\", "^", "`")


class AssetKeyError(OptionError):
    """An asset key breaks one of the rules for keys."""


def validate_key(key: Any) -> str:
    """The key, if it is a valid asset key.

    Raises:
        AssetKeyError: naming the key and the rule it breaks.
    """
    if not isinstance(key, str):
        raise AssetKeyError(
            f"Asset key {key!r} must be a string such as 's3://bucket/data.csv'.",
            option="asset", value=key,
        )
    if len(key) > MAX_KEY_LENGTH:
        raise AssetKeyError(
            f"Asset key {key[:40]!r}... is {len(key)} characters; keys cannot exceed "
            f"{MAX_KEY_LENGTH}.", option="asset", value=key,
        )
    if not _SCHEME.match(key):
        raise AssetKeyError(
            f"Asset key {key!r} must be a valid URI with a lowercase scheme, e.g. "
            "'storage://bucket/folder/asset.csv' or 'postgres://db/table'.",
            option="asset", value=key,
        )
    for char in _FORBIDDEN:
        if char in key:
            raise AssetKeyError(
                f"Asset key {key!r} contains {char!r}, which keys cannot contain "
                f"(forbidden: spaces, control characters and {''.join(_FORBIDDEN[5:])}).",
                option="asset", value=key,
            )
    return key


@dataclass(frozen=True)
class AssetProperties:
    """Descriptive facts about an asset, shown with its history."""

    name: str | None = None
    url: str | None = None
    description: str | None = None
    owners: list[str] | None = None

    def __post_init__(self) -> None:
        if self.description is not None and len(self.description) > 2500:
            raise OptionError(
                f"Asset description is {len(self.description)} characters; at most 2500 are "
                "allowed.", option="description", value=self.description[:40],
            )

    def __hash__(self) -> int:
        return hash((self.name, self.url, self.description, tuple(self.owners or ())))


@dataclass(frozen=True, kw_only=True)
class Asset:
    """A data output, identified by its key (a URI such as `s3://bucket/data.csv`).

    Arguments are keyword-only, as in Prefect: `Asset(key="s3://bucket/data.csv")`.
    """

    key: str
    properties: AssetProperties | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        try:
            validate_key(self.key)
        except AssetKeyError as exc:
            raise invalid_asset(exc) from None

    def __hash__(self) -> int:
        return hash(self.key)

    def __repr__(self) -> str:
        return f"Asset(key={self.key!r})"

    def add_metadata(self, metadata: dict[str, Any]) -> None:
        """Attach metadata to this asset's materialization in the current task run."""
        add_asset_metadata(self, metadata)


def invalid_asset(error: AssetKeyError) -> Exception:
    """The pydantic `ValidationError` a bad key raises, as Prefect's pydantic `Asset` does, so
    code that catches it (or `ValueError`) works unchanged. It carries our message, which
    names the key and the rule it breaks. pydantic is imported only here, on the error path."""
    from pydantic_core import PydanticCustomError, ValidationError

    return ValidationError.from_exception_data("Asset", [{
        "type": PydanticCustomError("value_error", str(error)),
        "loc": ("key",),
        "input": error.value,
    }])


def to_asset(value: Asset | str) -> Asset:
    """`value` as an `Asset`.

    Raises:
        pydantic.ValidationError: a string that is not a valid asset key.
    """
    return value if isinstance(value, Asset) else Asset(key=value)


class AssetContext:
    """The assets of the task run in progress: what it materializes and their metadata."""

    __slots__ = ("downstream", "materialized_by", "metadata", "upstream")

    def __init__(self, downstream: list[Asset], upstream: set[Asset],
                 materialized_by: str | None) -> None:
        self.downstream = downstream
        self.upstream = upstream
        self.materialized_by = materialized_by
        self.metadata: dict[str, dict[str, Any]] = {}


asset_context_var: contextvars.ContextVar[AssetContext | None] = contextvars.ContextVar(
    "headwater_asset_context", default=None
)


def add_asset_metadata(asset: Asset | str, metadata: dict[str, Any]) -> None:
    """Attach metadata (row counts, schema, ...) to an asset this task materializes.

    Repeated calls merge. Raises:
        RuntimeError: outside a materializing task run.
        ValueError: `asset` is not one this task materializes.
    """
    ctx = asset_context_var.get()
    if ctx is None or not ctx.downstream:
        raise RuntimeError(
            "add_asset_metadata() was called outside a materializing task run. Call it inside "
            "a function decorated with @materialize(...)."
        )
    key = asset.key if isinstance(asset, Asset) else asset
    if key not in {a.key for a in ctx.downstream}:
        raise ValueError(
            f"Can only add metadata to assets that are arguments to @materialize; {key!r} is "
            f"not one of {[a.key for a in ctx.downstream]}."
        )
    ctx.metadata[key] = {**ctx.metadata.get(key, {}), **metadata}
