"""Where result records live: a local folder (default) or any fsspec URL.

Writes are atomic: bytes go to a temporary name first and are renamed into place, so a reader
sees either the old record, the new one, or none — never half of one, even if the writer is
killed in the middle.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

from headwater._private import make_private_dir
from headwater._redact import redact_url
from headwater.errors import OptionError


class ResultStorage:
    """Base class: a flat key → bytes store."""

    def read_bytes(self, key: str) -> bytes | None:
        """The bytes stored under `key`, or None if there are none."""
        raise NotImplementedError

    def write_bytes(self, key: str, data: bytes) -> None:
        """Store `data` under `key`, atomically replacing what was there."""
        raise NotImplementedError

    def location(self, key: str) -> str:
        """Where `key` lives, for messages."""
        return key


class LocalFileStorage(ResultStorage):
    """Files in a folder; the key is the file name."""

    def __init__(self, basepath: str | Path) -> None:
        self.basepath = Path(basepath).expanduser()
        self._made = False  # its folder was made (once per storage, not once per result)

    def _path(self, key: str) -> Path:
        if not key or "/" in key or "\\" in key or key in (".", ".."):
            raise OptionError(
                f"Result key {key!r} cannot be used as a file name. Keys must not be empty or "
                "contain '/'; check result_storage_key.",
                option="result_storage_key",
                value=key,
            )
        return self.basepath / key

    def read_bytes(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def write_bytes(self, key: str, data: bytes) -> None:
        """Write atomically: readers see the old record or the whole new one, never part.

        No fsync per record: it would cost more than the rest of a task run, and what it
        protects against (a power cut before the page cache reaches the disk) can only leave a
        record incomplete, which reads as a miss (`ResultStore.read`): the task runs again.
        """
        path = self._path(key)
        if not self._made:
            make_private_dir(path.parent)
            self._made = True
        try:
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{key}.", suffix=".tmp")
        except FileNotFoundError:  # the folder was removed since
            make_private_dir(path.parent)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{key}.", suffix=".tmp")
        # mkstemp makes the file 0600, and os.replace keeps that mode: results stay private.
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def location(self, key: str) -> str:
        return str(self.basepath / key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LocalFileStorage) and other.basepath == self.basepath

    def __hash__(self) -> int:
        return hash(self.basepath)

    def __repr__(self) -> str:
        return f"LocalFileStorage({str(self.basepath)!r})"


class FsspecStorage(ResultStorage):
    """Any fsspec filesystem: `memory://results`, `s3://bucket/prefix` (with s3fs), ..."""

    def __init__(self, url: str) -> None:
        try:
            import fsspec
        except ImportError as exc:
            raise ImportError(
                f"result_storage={redact_url(url)!r} needs fsspec: pip install fsspec (and the "
                "backend, e.g. s3fs for s3://)."
            ) from exc
        self.url = url.rstrip("/")
        self.fs, self.root = fsspec.core.url_to_fs(self.url)

    def _path(self, key: str) -> str:
        return f"{self.root.rstrip('/')}/{key}"

    def read_bytes(self, key: str) -> bytes | None:
        try:
            data: Any = self.fs.cat_file(self._path(key))
        except (FileNotFoundError, KeyError):
            return None
        return bytes(data)

    def write_bytes(self, key: str, data: bytes) -> None:
        path = self._path(key)
        tmp = f"{path}.{uuid.uuid4().hex}.tmp"
        self.fs.pipe_file(tmp, data)
        try:
            self.fs.mv(tmp, path)
        except Exception:
            # Object stores without rename: a single PUT is already all-or-nothing.
            self.fs.pipe_file(path, data)
            self.fs.rm_file(tmp)

    def location(self, key: str) -> str:
        return f"{redact_url(self.url)}/{key}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FsspecStorage) and other.url == self.url

    def __hash__(self) -> int:
        return hash(self.url)

    def __repr__(self) -> str:
        return f"FsspecStorage({redact_url(self.url)!r})"


_DEFAULTS: dict[str, LocalFileStorage] = {}


def default_storage() -> LocalFileStorage:
    """The storage `HEADWATER_LOCAL_STORAGE_PATH` names (one object per path: asked for once
    per persisted task run)."""
    from headwater import settings

    path = str(settings.local_storage_path())
    storage = _DEFAULTS.get(path)
    if storage is None:
        storage = _DEFAULTS[path] = LocalFileStorage(path)
    return storage


def get_storage(value: Any) -> ResultStorage:
    """Storage from a `ResultStorage`, a folder path, or a URL (`file://`, `memory://`, ...).

    Raises:
        OptionError: a value that is none of those.
    """
    if value is None:
        return default_storage()
    if isinstance(value, ResultStorage):
        return value
    if isinstance(value, Path):
        return LocalFileStorage(value)
    if isinstance(value, str):
        if value.startswith("file://"):
            return LocalFileStorage(value[len("file://"):])
        if "://" in value:
            return FsspecStorage(value)
        return LocalFileStorage(value)
    raise OptionError(
        f"result_storage={value!r} is not a storage headwater can use. Give a folder path, an "
        "fsspec URL such as 'memory://results' or 's3://bucket/prefix', or a ResultStorage.",
        option="result_storage",
        value=value,
    )
