"""Assets: named data outputs that tasks materialize, with lineage inferred from the task graph.

    @materialize("s3://bucket/clean.csv", by="pandas")
    def clean(raw): ...

A materializing task is a task: call it, `.submit` it, `.map` it. When it succeeds, headwater
emits `materialization.succeeded` for each of its assets, naming the upstream assets it was
built from — inferred from its inputs (futures, containers, results of earlier tasks, plain
tasks in between) plus any `asset_deps` — and `referenced` for each upstream asset.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from headwater.core._asset import (
    MAX_KEY_LENGTH,
    Asset,
    AssetContext,
    AssetKeyError,
    AssetProperties,
    add_asset_metadata,
    asset_context_var,
    to_asset,
    validate_key,
)
from headwater.core.tasks import Task

__all__ = [
    "MAX_KEY_LENGTH", "Asset", "AssetContext", "AssetKeyError", "AssetProperties",
    "MaterializingTask", "add_asset_metadata", "asset_context_var", "assets_in_use",
    "mark_assets_in_use", "materialize", "to_asset", "validate_key",
]

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
