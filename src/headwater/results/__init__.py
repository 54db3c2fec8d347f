"""Persisted results: storage (local folder or fsspec URL), serializers, records, locks."""

from headwater.results.locks import FileSystemLockManager, LockManager, MemoryLockManager
from headwater.results.records import ResultRecord
from headwater.results.serializers import JSONSerializer, PickleSerializer, Serializer
from headwater.results.storage import FsspecStorage, LocalFileStorage, ResultStorage
from headwater.results.store import ResultStore

__all__ = [
    "FileSystemLockManager", "FsspecStorage", "JSONSerializer", "LocalFileStorage",
    "LockManager", "MemoryLockManager", "PickleSerializer", "ResultRecord", "ResultStorage",
    "ResultStore", "Serializer",
]
