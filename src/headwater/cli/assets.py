"""`headwater assets ...`: list recorded assets, show one with its history and lineage."""

from __future__ import annotations

import click

from headwater.cli import render


@click.group()
def assets() -> None:
    """List the assets flows have materialized, and show one's history and lineage."""


@assets.command("ls")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def ls(as_json: bool) -> None:
    """List every recorded asset, materialized or only referenced, sorted by key."""
    from headwater.store import using_store
    from headwater.store.history import list_assets

    with using_store() as store:
        found = list_assets(store)
    render.print_assets(found, as_json)


@assets.command()
@click.argument("key")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1),
              help="Show at most this many materializations, newest first.")
@click.option("--depth", default=1, show_default=True, type=click.IntRange(min=1),
              help="Follow this many lineage links upstream and downstream.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def show(key: str, limit: int, depth: int, as_json: bool) -> None:
    """Show one asset: its latest materialization, history, upstream and downstream assets,
    and the flow runs that materialized it.

    KEY is the asset's full key, e.g. s3://bucket/data.csv (see `headwater assets ls`).
    """
    from headwater.store import using_store
    from headwater.store.history import asset_details

    with using_store() as store:
        details = asset_details(store, key, limit=limit, depth=depth)
    render.print_asset_details(details, as_json)
