"""`ResultStore`: read and write result records; a bad record is a miss, never a crash."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from headwater.results.records import CorruptRecord, ResultRecord
from headwater.results.serializers import Serializer
from headwater.results.storage import ResultStorage

logger = logging.getLogger("headwater.results")


class ResultStore:
    """Result records in one storage, written with one serializer."""

    def __init__(self, storage: ResultStorage, serializer: Serializer) -> None:
        self.storage = storage
        self.serializer = serializer

    def read(self, key: str) -> ResultRecord | None:
        """The record under `key` if it exists, is readable and has not expired; else None.

        A corrupt, truncated or unreadable record logs a warning and counts as a miss.
        """
        try:
            data = self.storage.read_bytes(key)
        except OSError as exc:
            logger.warning("Could not read result record %s (%s); running the task instead.",
                           self.storage.location(key), exc)
            return None
        if data is None:
            return None
        try:
            record = ResultRecord.from_bytes(data)
        except CorruptRecord as exc:
            logger.warning(
                "Ignoring the result record at %s: it is corrupt or incomplete (%s). The task "
                "runs again and the record is rewritten.", self.storage.location(key), exc,
            )
            return None
        if record.is_expired():
            return None
        return record

    def write(self, key: str | None, value: Any, expiration: datetime | None) -> ResultRecord:
        """Persist `value` under `key` (a fresh random key if None); returns the record."""
        record = ResultRecord.build(key or uuid.uuid4().hex, value, self.serializer, expiration)
        self.storage.write_bytes(record.storage_key, record.to_bytes())
        return record
