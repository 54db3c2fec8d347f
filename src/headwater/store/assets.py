"""Asset history in the run store: the rows an asset event becomes, and what every store shares
to read them back.

Asset events are stored twice: as a plain row of `events` (what `read_events` returns for a
flow run), and as one `asset_events` row keyed by the asset, so that an asset's history is an
indexed lookup rather than a scan of every event's JSON. Each upstream asset of a succeeded
materialization also becomes an `asset_edges` row (upstream key, downstream key), indexed both
ways, which `asset_lineage` walks. A failed materialization adds no edge: it built nothing.

The event names are the ones `headwater.engine.lineage` emits; a test checks they agree (the
store does not import the engine).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from headwater.store.batch import Row

if TYPE_CHECKING:  # a writer makes rows here without loading the readers' views
    from headwater.store.views import AssetLineageView, AssetMaterializationView

EVENT_KINDS = {
    "headwater.asset.materialization.succeeded": "succeeded",
    "headwater.asset.materialization.failed": "failed",
    "headwater.asset.referenced": "referenced",
}
MATERIALIZED = ("succeeded", "failed")
RESOURCE_ID = "headwater.resource.id"
ROLE = "headwater.resource.role"
PROPERTY_PREFIX = "headwater.asset."
MAX_KEY = 512


def asset_rows(
    name: str,
    resource: dict[str, Any],
    related: Iterable[dict[str, Any]],
    metadata_json: str,
    flow_run_id: str | None,
    task_run_id: str | None,
    timestamp: float,
) -> tuple[Row | None, list[Row]]:
    """The `asset_events` row and `asset_edges` rows of one event (None, [] if it is not an
    asset event, or names no asset).

    Args:
        name: the event's name.
        resource: the event's resource (`headwater.resource.id` is the asset's key).
        related: the event's related resources: role "asset" is an upstream asset, role
            "asset-materialized-by" the tool that made it.
        metadata_json: the event's payload, already encoded as JSON text.
        flow_run_id, task_run_id: the runs that emitted it, as text.
        timestamp: when it happened.
    """
    kind = EVENT_KINDS.get(name)
    key = resource.get(RESOURCE_ID) if isinstance(resource, dict) else None
    if kind is None or not isinstance(key, str) or not key:
        return None, []
    key = key[:MAX_KEY]
    upstream: list[str] = []
    by: str | None = None
    for item in related:
        if not isinstance(item, dict) or not isinstance(item.get(RESOURCE_ID), str):
            continue
        if item.get(ROLE) == "asset":
            upstream.append(item[RESOURCE_ID][:MAX_KEY])
        elif item.get(ROLE) == "asset-materialized-by":
            by = item[RESOURCE_ID][:255]
    upstream = sorted(set(upstream))
    properties = {
        k[len(PROPERTY_PREFIX):]: v for k, v in resource.items() if k.startswith(PROPERTY_PREFIX)
    }
    row: Row = {
        "asset_key": key, "kind": kind, "timestamp": timestamp,
        "flow_run_id": flow_run_id, "task_run_id": task_run_id, "materialized_by": by,
        "upstream": json.dumps(upstream), "metadata": metadata_json,
        "properties": json.dumps(properties, default=str) if properties else "{}",
    }
    edges: list[Row] = []
    if kind == "succeeded":
        edges = [
            {"upstream_key": up, "downstream_key": key, "timestamp": timestamp,
             "flow_run_id": flow_run_id, "task_run_id": task_run_id}
            for up in upstream if up != key
        ]
    return row, edges


def materialization_view(row: Any) -> AssetMaterializationView:
    """An `asset_events` row (a materialization) as its view."""
    from headwater.store.views import AssetMaterializationView, decode_json, to_uuid

    return AssetMaterializationView(
        key=row["asset_key"], status=row["kind"], timestamp=row["timestamp"],
        metadata=decode_json(row["metadata"], {}), materialized_by=row["materialized_by"],
        flow_run_id=to_uuid(row["flow_run_id"]), task_run_id=to_uuid(row["task_run_id"]),
        upstream=tuple(decode_json(row["upstream"], [])),
    )


def properties_of(text: str | None) -> dict[str, Any]:
    """A stored `properties` column as a dict."""
    from headwater.store.views import decode_json

    value = decode_json(text, {})
    return value if isinstance(value, dict) else {}


EdgeLookup = Callable[[set[str]], set[tuple[str, str]]]


def walk_lineage(
    key: str,
    depth: int | None,
    edges_into: EdgeLookup,
    edges_out_of: EdgeLookup,
) -> AssetLineageView:
    """Breadth-first search both ways from `key`, one edge lookup per level and direction.

    Args:
        key: where to start.
        depth: levels to follow each way (None: until nothing new is found).
        edges_into: the (upstream, downstream) edges whose downstream is one of the keys.
        edges_out_of: the (upstream, downstream) edges whose upstream is one of the keys.

    Raises:
        ValueError: `depth` is less than 1.
    """
    from headwater.store.views import AssetLineageView

    if depth is not None and depth < 1:
        raise ValueError(
            f"depth={depth!r} follows no links. Use depth=1 for direct neighbours, a larger "
            f"number for more, or None for the whole lineage."
        )
    found: set[tuple[str, str]] = set()

    def walk(lookup: EdgeLookup, far_end: int) -> set[str]:
        seen = {key}
        frontier = {key}
        level = 0
        while frontier and (depth is None or level < depth):
            edges = lookup(frontier)
            found.update(edges)
            frontier = {edge[far_end] for edge in edges} - seen
            seen |= frontier
            level += 1
        return seen - {key}

    upstream = walk(edges_into, 0)
    downstream = walk(edges_out_of, 1)
    return AssetLineageView(
        key=key, depth=depth, upstream=tuple(sorted(upstream)),
        downstream=tuple(sorted(downstream)), edges=tuple(sorted(found)),
    )
