"""The writer's batch builder: the store's (`store/batch_builder.py`) reading this codec's
wire tuples.

The events layer knows records and their wire form, never the store's columns; the store
knows its columns and reads wire values by name. This module joins the two, once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from headwater.events import codec
from headwater.events._json import encode_json, placeholder
from headwater.store.batch_builder import BatchBuilder as _StoreBatchBuilder
from headwater.store.wire_reader import WireReader

__all__ = ["BatchBuilder", "encode_json", "placeholder"]

READER = WireReader(codec.LAYOUTS)


class BatchBuilder(_StoreBatchBuilder):
    """Folds records, or their wire tuples, into one `Batch` (see the store's builder).

    Args:
        running_flows: ids of flow runs seen Running and not yet final; kept up to date here
            and read by the writer to send heartbeats.
    """

    def __init__(self, running_flows: set[str]) -> None:
        super().__init__(READER, running_flows)

    def add_all(self, records: Iterable[Any]) -> None:
        """Fold in record objects; objects that are not records are ignored."""
        self.add_wire(item for item in map(codec.encode, records) if item is not None)

    def add(self, record: Any) -> None:
        self.add_all((record,))
