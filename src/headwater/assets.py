"""Assets: `@materialize(...)`, `Asset`, `AssetProperties`, `add_asset_metadata`."""

from headwater.core.assets import (
    Asset,
    AssetKeyError,
    AssetProperties,
    MaterializingTask,
    add_asset_metadata,
    materialize,
)

__all__ = [
    "Asset", "AssetKeyError", "AssetProperties", "MaterializingTask", "add_asset_metadata",
    "materialize",
]
