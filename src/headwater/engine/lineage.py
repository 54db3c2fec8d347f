"""Inferring asset lineage from the task graph, and emitting asset events.

Each task run of a flow gets a set of assets that "flow out" of it: a materializing task's own
assets; for any other task, the assets flowing into it (so plain tasks in between pass lineage
on). A task's upstream runs are those whose futures or States it received, and those whose
returned objects it was passed (matched by identity, one level into containers).

All of this runs only once a materializing task exists in the process (`assets_in_use()`), so
flows without assets pay nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from headwater.core.assets import Asset, AssetContext, assets_in_use, to_asset
from headwater.events.records import Event

if TYPE_CHECKING:
    from headwater.core.context import FlowRunContext
    from headwater.core.runs import TaskRun
    from headwater.core.states import State
    from headwater.core.tasks import Task

_UNTRACKABLE = (bool, int, float, str, bytes, type(None))

SUCCEEDED = "headwater.asset.materialization.succeeded"
FAILED = "headwater.asset.materialization.failed"
REFERENCED = "headwater.asset.referenced"


class Lineage:
    """A flow run's bookkeeping: assets per task run, and which run returned which object."""

    __slots__ = ("assets_of", "returned_by")

    def __init__(self, assets_of: dict[UUID, set[Asset]] | None = None) -> None:
        self.assets_of: dict[UUID, set[Asset]] = assets_of or {}
        # id(object) -> (run id, the object). The object is kept so its id is not reused.
        self.returned_by: dict[int, tuple[UUID, Any]] = {}


def lineage_of(flow_ctx: FlowRunContext | None) -> Lineage | None:
    if flow_ctx is None or not assets_in_use():
        return None
    if flow_ctx.lineage is None:
        flow_ctx.lineage = Lineage()
    lineage: Lineage = flow_ctx.lineage
    return lineage


def _linked_runs(lineage: Lineage, value: Any, found: list[UUID]) -> None:
    for item in _one_level(value):
        hit = lineage.returned_by.get(id(item))
        if hit is not None and hit[1] is item:
            found.append(hit[0])


def _one_level(value: Any) -> list[Any]:
    if isinstance(value, _UNTRACKABLE):
        return []
    items = [value]
    if isinstance(value, dict):
        items.extend(value.values())
    elif isinstance(value, (list, tuple, set, frozenset)):
        items.extend(value)
    return items


def begin(
    task: Task[..., Any], run: TaskRun, flow_ctx: FlowRunContext | None,
    parameters: dict[str, Any], upstream_ids: list[UUID],
) -> AssetContext | None:
    """The asset context of a run about to start, or None when assets are not in play."""
    if not assets_in_use():
        return None
    downstream: list[Asset] = list(getattr(task, "assets", None) or [])
    deps = {to_asset(a) for a in task.asset_deps}
    lineage = lineage_of(flow_ctx)
    upstream: set[Asset] = set()
    if lineage is not None:
        ids = list(upstream_ids)
        for value in parameters.values():
            _linked_runs(lineage, value, ids)
        for upstream_id in ids:
            upstream |= lineage.assets_of.get(upstream_id, set())
        lineage.assets_of[run.id] = set(downstream) if downstream else upstream | deps
    if not downstream and not upstream and not deps:
        return None
    return AssetContext(downstream, upstream | deps, getattr(task, "materialized_by", None))


def link_result(flow_ctx: FlowRunContext | None, run_id: UUID, value: Any) -> None:
    """Remember that `run_id` returned `value` (and what it holds, one level deep)."""
    lineage = lineage_of(flow_ctx)
    if lineage is None:
        return
    for item in _one_level(value):
        if not isinstance(item, _UNTRACKABLE):
            lineage.returned_by[id(item)] = (run_id, item)


def _resource(asset: Asset) -> dict[str, Any]:
    resource: dict[str, Any] = {"headwater.resource.id": asset.key}
    props = asset.properties
    if props is not None:
        for field, value in (("name", props.name), ("description", props.description),
                             ("url", props.url), ("owners", props.owners)):
            if value is not None:
                resource[f"headwater.asset.{field}"] = value
    return resource


def finish(ctx: AssetContext | None, run: TaskRun, state: State, emit: Any,
           timestamp: float) -> None:
    """Emit `referenced` for upstream assets and one materialization event per asset."""
    if ctx is None or not ctx.downstream or state.name == "Cached":
        return
    if not (state.is_completed() or state.is_failed()):
        return
    upstream = sorted(ctx.upstream, key=lambda a: a.key)
    for asset in upstream:
        emit(Event(REFERENCED, _resource(asset), (), {}, run.flow_run_id, run.id, timestamp))
    related: list[dict[str, Any]] = [
        {"headwater.resource.id": a.key, "headwater.resource.role": "asset"} for a in upstream
    ]
    if ctx.materialized_by:
        related.append({"headwater.resource.id": ctx.materialized_by,
                        "headwater.resource.role": "asset-materialized-by"})
    name = SUCCEEDED if state.is_completed() else FAILED
    for asset in ctx.downstream:
        emit(Event(name, _resource(asset), tuple(related), dict(ctx.metadata.get(asset.key, {})),
                   run.flow_run_id, run.id, timestamp))


def for_remote_run(
    flow_ctx: FlowRunContext | None, task: Task[..., Any], run: TaskRun, upstream_ids: list[UUID],
) -> dict[UUID, set[Asset]] | None:
    """Before a run is shipped to another process: the assets of its upstream runs, which the
    remote engine needs to infer lineage (it sees the upstreams' ids, not this flow's records).
    Also records what flows out of the run here, in the flow's own bookkeeping."""
    lineage = lineage_of(flow_ctx)
    if lineage is None:
        return None
    known = {uid: lineage.assets_of.get(uid, set()) for uid in upstream_ids}
    downstream = set(getattr(task, "assets", None) or [])
    upstream = set().union(*known.values()) if known else set()
    deps = {to_asset(a) for a in task.asset_deps}
    lineage.assets_of[run.id] = downstream if downstream else upstream | deps
    return known
