"""Result records: a result's bytes plus what is needed to read them back anywhere.

On disk a record is JSON:
    {"metadata": {"storage_key", "expiration", "serializer": {"type"}, "headwater_version"},
     "result": "<base64 of the serializer's bytes>"}
so another process (or another serializer default) can read it.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from headwater.results.serializers import SERIALIZERS, Serializer


class CorruptRecord(Exception):
    """The bytes are not a complete, readable record."""


@dataclass(frozen=True)
class ResultRecord:
    storage_key: str
    serializer: str
    expiration: datetime | None
    result: bytes

    def is_expired(self, now: datetime | None = None) -> bool:
        if self.expiration is None:
            return False
        return self.expiration <= (now or datetime.now(timezone.utc))

    def value(self) -> Any:
        """The stored value, read with the serializer the record names."""
        return SERIALIZERS[self.serializer]().loads(self.result)

    def to_bytes(self) -> bytes:
        from headwater import __version__

        return json.dumps({
            "metadata": {
                "storage_key": self.storage_key,
                "expiration": self.expiration.isoformat() if self.expiration else None,
                "serializer": {"type": self.serializer},
                "headwater_version": __version__,
            },
            "result": base64.b64encode(self.result).decode(),
        }).encode()

    @classmethod
    def build(cls, key: str, value: Any, serializer: Serializer,
              expiration: datetime | None) -> ResultRecord:
        return cls(key, serializer.type, expiration, serializer.dumps(value))

    @classmethod
    def from_bytes(cls, data: bytes) -> ResultRecord:
        """Parse a record.

        Raises:
            CorruptRecord: truncated, not JSON, missing fields, or an unknown serializer.
        """
        try:
            raw = json.loads(data)
            meta = raw["metadata"]
            serializer = meta["serializer"]["type"]
            if serializer not in SERIALIZERS:
                raise CorruptRecord(f"unknown serializer {serializer!r}")
            expiration = meta.get("expiration")
            return cls(
                storage_key=str(meta["storage_key"]),
                serializer=serializer,
                expiration=datetime.fromisoformat(expiration) if expiration else None,
                result=base64.b64decode(raw["result"], validate=True),
            )
        except CorruptRecord:
            raise
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise CorruptRecord(str(exc)) from exc
