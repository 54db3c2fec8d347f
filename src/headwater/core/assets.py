"""Assets: named data outputs that tasks materialize, with lineage inferred from the task graph.

    @materialize("s3://bucket/clean.csv", by="pandas")
    def clean(raw): ...

A materializing task is a task: call it, `.submit` it, `.map` it. When it succeeds, headwater
emits `materialization.succeeded` for each of its assets, naming the upstream assets it was
built from — inferred from its inputs (futures, containers, results of earlier tasks, plain
tasks in between) plus any `asset_deps` — and `referenced` for each upstream asset.
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from headwater.core.tasks import Task
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


@dataclass(frozen=True)
class Asset:
    """A data output, identified by its key (a URI such as `s3://bucket/data.csv`)."""

    key: str
    properties: AssetProperties | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        validate_key(self.key)

    def __hash__(self) -> int:
        return hash(self.key)

    def __repr__(self) -> str:
        return f"Asset(key={self.key!r})"

    def add_metadata(self, metadata: dict[str, Any]) -> None:
        """Attach metadata to this asset's materialization in the current task run."""
        add_asset_metadata(self, metadata)


def to_asset(value: Asset | str) -> Asset:
    return value if isinstance(value, Asset) else Asset(key=validate_key(value))


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


class MaterializingTask(Task):  # type: ignore[type-arg]
    """A task that materializes assets. Built with `@materialize(...)`."""

    def __init__(self, fn: Callable[..., Any], *, assets: Iterable[Asset | str],
                 materialized_by: str | None = None, **task_options: Any) -> None:
        self.assets = [to_asset(a) for a in assets]
        self.materialized_by = materialized_by
        super().__init__(fn, **task_options)
        self.asset_deps = [to_asset(a) for a in self.asset_deps]
        mark_assets_in_use()

    def with_options(self, *, assets: Iterable[Asset | str] | None = None,
                     **changes: Any) -> MaterializingTask:
        """A copy with options changed; `assets=[...]` replaces the assets it materializes."""
        new: MaterializingTask = Task.with_options(self, **changes)
        if assets is not None:
            new.assets = [to_asset(a) for a in assets]
        return new

    @classmethod
    def _option_names(cls) -> list[str]:
        return Task._option_names()

    def _rebuild(self, fn: Any, given: dict[str, Any]) -> MaterializingTask:
        return type(self)(fn, assets=self.assets, materialized_by=self.materialized_by, **given)


def materialize(*assets: Asset | str, by: str | None = None,
                **task_options: Any) -> Callable[[Callable[..., Any]], MaterializingTask]:
    """Decorate a function whose runs materialize `assets`.

    Args:
        assets: keys (strings) or `Asset`s; checked now.
        by: the tool that produces them (e.g. "dbt", "spark"), recorded with each event.
        task_options: any `@task` option (`retries`, `asset_deps`, ...).

    Raises:
        TypeError: no asset given.
        AssetKeyError: a key breaks the key rules; the message names the key and the rule.
    """
    if not assets:
        raise TypeError("materialize requires at least one asset argument, e.g. "
                        "`@materialize('s3://bucket/data.csv')`")
    checked = [to_asset(a) for a in assets]

    def decorate(fn: Callable[..., Any]) -> MaterializingTask:
        return MaterializingTask(fn, assets=checked, materialized_by=by, **task_options)

    return decorate


_assets_in_use = False


def mark_assets_in_use() -> None:
    global _assets_in_use
    _assets_in_use = True


def assets_in_use() -> bool:
    """Whether any materializing task exists: until one does, runs skip lineage bookkeeping."""
    return _assets_in_use
