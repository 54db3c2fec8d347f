"""Locks for SERIALIZABLE caching: one computation per cache key at a time.

`MemoryLockManager` serialises threads of one process; `FileSystemLockManager` serialises
processes on one machine (or on a shared filesystem that supports `flock`).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from headwater._private import make_private_dir


class LockManager:
    """Base class: `acquire(key, timeout)` blocks until the key is ours; `release(key)`."""

    def acquire(self, key: str, timeout: float | None = None) -> bool:
        raise NotImplementedError

    def release(self, key: str) -> None:
        raise NotImplementedError


class MemoryLockManager(LockManager):
    """Per-key locks shared by the threads of this process."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    def _lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def acquire(self, key: str, timeout: float | None = None) -> bool:
        return self._lock(key).acquire(timeout=-1 if timeout is None else timeout)

    def release(self, key: str) -> None:
        self._lock(key).release()

    def __deepcopy__(self, memo: Any) -> MemoryLockManager:
        return self  # a lock manager is shared, never copied


class FileSystemLockManager(LockManager):
    """Per-key lock files (`flock`) in a folder: works across processes.

    Args:
        lock_files_directory: where the `<key>.lock` files live.
    """

    def __init__(self, lock_files_directory: str | Path) -> None:
        self.directory = Path(lock_files_directory).expanduser()
        self._held: dict[str, int] = {}
        self._threads = MemoryLockManager()  # flock is per process: order threads first

    def acquire(self, key: str, timeout: float | None = None) -> bool:
        import fcntl

        deadline = None if timeout is None else time.monotonic() + timeout
        if not self._threads.acquire(key, timeout):
            return False
        make_private_dir(self.directory)
        fd = os.open(self.directory / f"{key}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._held[key] = fd
                return True
            except BlockingIOError:
                if deadline is not None and time.monotonic() >= deadline:
                    os.close(fd)
                    self._threads.release(key)
                    return False
                time.sleep(0.01)

    def release(self, key: str) -> None:
        import fcntl

        fd = self._held.pop(key)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
        self._threads.release(key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FileSystemLockManager) and other.directory == self.directory

    def __hash__(self) -> int:
        return hash(self.directory)

    def __deepcopy__(self, memo: Any) -> FileSystemLockManager:
        return self
