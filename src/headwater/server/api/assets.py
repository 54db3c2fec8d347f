"""`/api/assets` and `/api/flows`: the asset catalog, one asset, its lineage; flows by name."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from headwater.server.api.convert import asset_out, materialization_out
from headwater.server.api.deps import Store
from headwater.server.api.models import AssetDetailOut, AssetOut, FlowOut, LineageOut
from headwater.store.history import asset_details

router = APIRouter(prefix="/api")
Key = Annotated[str, Query(min_length=1, max_length=512,
                           description="The asset's key, e.g. s3://bucket/data.csv.")]


@router.get("/flows", response_model=list[FlowOut], tags=["flows"])
def list_flows(store: Store) -> list[FlowOut]:
    """Every flow with stored runs: its name, run count and newest run."""
    return [FlowOut(name=f.name, runs=f.runs, last_created=f.last_created)
            for f in store.read_flows()]


@router.get("/assets", response_model=list[AssetOut], tags=["assets"])
def list_assets(store: Store) -> list[AssetOut]:
    """Every asset, materialized or only referenced, sorted by key."""
    return [asset_out(a) for a in store.read_assets()]


@router.get("/assets/detail", response_model=AssetDetailOut, tags=["assets"])
def read_asset(
    store: Store, key: Key, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> AssetDetailOut:
    """One asset and its materializations, newest first. 404 (with close keys) if unknown."""
    found = store.read_assets([key.strip()])
    if not found:
        asset_details(store, key)  # raises AssetNotFoundError, suggesting close keys
    history = store.read_asset_materializations(key.strip(), limit=limit)
    return AssetDetailOut(asset=asset_out(found[0]),
                          materializations=[materialization_out(m) for m in history])


@router.get("/assets/lineage", response_model=LineageOut, tags=["assets"])
def read_lineage(
    store: Store, key: Key,
    depth: Annotated[int | None, Query(ge=1, le=50, description="Links to follow each way; "
                                       "leave out for the whole lineage.")] = 2,
) -> LineageOut:
    """The assets upstream and downstream of one asset, with the links between them."""
    lineage = store.asset_lineage(key.strip(), depth=depth)
    return LineageOut(key=lineage.key, depth=lineage.depth, upstream=list(lineage.upstream),
                      downstream=list(lineage.downstream),
                      edges=[list(edge) for edge in lineage.edges])
