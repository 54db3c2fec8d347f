"""The spill: records that wait, in order, while the run store cannot be written.

A writer that fails to commit a batch keeps its wire tuples here and tries again later; every
batch after it waits behind it, so rows are written in the order they were made. The spill is
bounded: up to `memory_limit` records in memory, then frames appended to a file of this
process's own (mode 0600, in `HEADWATER_HOME/spill`, a folder made 0700) up to `file_limit`
bytes. A spill that cannot grow (both bounds reached, or the file cannot be written: disk full)
refuses records and counts them in `lost`, with the flow runs they belonged to.

A writer that must stop before the store is back (the end of a process) saves what waits to a
file (`save`); the next writer that opens the same store writes it (`take_over`). Files are
named after a hash of the store's URL, never the URL itself (it may hold a password).

Each file begins with a frame naming its format (a hash of the codec's layouts): a file that a
different version of headwater left behind is set aside (`.incompatible`) with a warning,
never read as if its tuples had today's layouts.
"""

from __future__ import annotations

import contextlib
import importlib
import marshal
import os
import struct
from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

from headwater.events import codec

if TYPE_CHECKING:  # paths come from `settings.home()`: the writer process starts without
    from pathlib import Path  # `pathlib`, and loads it only to spill

Items = list[tuple[Any, ...]]
_HEADER = struct.Struct(">I")
MEMORY_LIMIT = 200_000  # records kept in memory before the file is used
HARD_MEMORY_LIMIT = 1_000_000  # records kept in memory when the file cannot be written
FILE_LIMIT = 1 << 30  # bytes in one spill file
REPLAY = (-1,)  # first tuple of a frame that may have been stored already (a replay)


def _records(items: Items) -> int:
    """How many records `items` holds: a replay's marker is not one."""
    return len(items) - (1 if items and items[0] == REPLAY else 0)


def _sha256_hex(data: bytes) -> str:
    """SHA-256 of `data` in hex, from Python's built-in module where there is one: the same
    digest as `hashlib`'s, without loading OpenSSL (a twentieth of the writer process's
    start-up)."""
    for name in ("_sha2", "_sha256"):  # Python 3.12 and later; 3.11
        with contextlib.suppress(ImportError):
            return str(importlib.import_module(name).sha256(data).hexdigest())
    import hashlib

    return hashlib.sha256(data).hexdigest()


FORMAT = _sha256_hex(repr(sorted(codec.LAYOUTS.items())).encode())[:16]
_MARK = "headwater-spill"


class IncompatibleSpill(Exception):
    """A spill file without this version's format frame (left by another headwater)."""


def spill_folder() -> Path:
    """Where spill files live: `HEADWATER_HOME/spill`."""
    from headwater import settings

    return settings.home() / "spill"


def store_key(url: str) -> str:
    """A short name for a store's URL, safe to show (no password)."""
    return _sha256_hex(url.encode())[:16]


# Where the flow run's id is in the tuples that name one; a state names one if it is a flow's.
_FLOW_AT = {codec.KINDS[name]: codec.position(codec.KINDS[name], "flow_run_id")
            for name in ("FlowRunCreated", "TaskRunCreated", "LogEmitted")}
_STATE = codec.KINDS["StateChanged"]
_STATE_RUN, _STATE_KIND = codec.position(_STATE, "run_id"), codec.position(_STATE, "kind")


def _flow_of(item: tuple[Any, ...]) -> int | None:
    kind = item[0]
    if kind == _STATE:
        return item[_STATE_RUN] if item[_STATE_KIND] == "flow" else None
    at = _FLOW_AT.get(kind)
    return None if at is None else item[at]


def _frame(items: Items) -> bytes:
    try:
        body = marshal.dumps(items)
    except ValueError:
        body = marshal.dumps(codec.marshallable(items))
    return _HEADER.pack(len(body)) + body


def read_frames(handle: BinaryIO) -> Iterator[Items]:
    """The frames of a spill file, in order, after its format frame; a torn last frame ends
    them.

    Raises:
        IncompatibleSpill: the file does not begin with this version's format frame.
    """
    frames = _frames(handle)
    first = next(frames, None)
    if first is None:  # empty, or torn before its first frame was whole: nothing to read
        return
    if first != [(_MARK, FORMAT)]:
        raise IncompatibleSpill(f"format {first[0][1] if _marked(first) else 'unknown'}")
    yield from frames


def _marked(frame: Any) -> bool:
    return (isinstance(frame, list) and len(frame) == 1 and isinstance(frame[0], tuple)
            and len(frame[0]) == 2 and frame[0][0] == _MARK)


def _frames(handle: BinaryIO) -> Iterator[Any]:
    while True:
        header = handle.read(4)
        if len(header) < 4:
            return
        (length,) = _HEADER.unpack(header)
        body = handle.read(length)
        if len(body) < length:
            return
        try:
            yield marshal.loads(body)
        except (ValueError, EOFError, TypeError):
            return


class Spill:
    """Records waiting for the store, oldest first.

    Args:
        key: `store_key` of the store's URL (names the file).
        memory_limit: records kept in memory before frames go to a file.
        file_limit: bytes in the file before records are refused.
    """

    def __init__(self, key: str, *, memory_limit: int = MEMORY_LIMIT,
                 file_limit: int = FILE_LIMIT) -> None:
        self.key = key
        self.memory_limit = memory_limit
        self.file_limit = file_limit
        self._memory: deque[Items] = deque()
        self.in_memory = 0
        self.path: Path | None = None
        self._writing: BinaryIO | None = None
        self._reading: Iterator[Items] | None = None
        self._reading_handle: BinaryIO | None = None
        self._file_bytes = 0
        self.in_file = 0
        self.file_failed = False
        self.lost = 0
        self.lost_flows: set[int] = set()

    def __len__(self) -> int:
        return self.in_memory + self.in_file

    def put(self, items: Items) -> None:
        """Keep `items` behind everything already waiting (or count them lost)."""
        if not items:
            return
        if self._writing is None and self.in_memory + _records(items) <= self.memory_limit:
            self._memory.append(items)
            self.in_memory += _records(items)
            return
        if not self.file_failed and self._to_file(items):
            return
        if self._writing is None and self.in_memory + _records(items) <= HARD_MEMORY_LIMIT:
            self._memory.append(items)  # the file failed before it held anything
            self.in_memory += _records(items)
            return
        self.lost += _records(items)
        self.lost_flows.update(f for f in map(_flow_of, items) if f is not None)

    def peek(self) -> Items | None:
        """The oldest waiting items (still waiting until `pop`), or None."""
        if self._memory:
            return self._memory[0]
        if self.in_file:
            if self._reading is None:
                assert self.path is not None and self._writing is not None
                self._writing.flush()
                self._reading_handle = open(self.path, "rb")  # noqa: SIM115
                self._reading = read_frames(self._reading_handle)
            items = next(self._reading, None)
            if items is None:  # the file holds less than it was sent: count it lost
                self.lost += self.in_file
                self._forget_file()
                return None
            self._memory.append(items)
            self.in_memory += _records(items)
            self.in_file -= _records(items)
            return items
        return None

    def pop(self) -> None:
        """Forget the items `peek` returned: they are stored."""
        items = self._memory.popleft()
        self.in_memory -= _records(items)
        if not self._memory and not self.in_file and self.path is not None:
            self._forget_file()

    def _to_file(self, items: Items) -> bool:
        data = _frame(items)
        try:
            if self._writing is None:
                folder = spill_folder()
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
                path = folder / f"{self.key}-{os.getpid()}-{id(self):x}.spill"
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                self._writing, self.path = os.fdopen(fd, "wb"), path
                mark = _frame([(_MARK, FORMAT)])
                self._writing.write(mark)
                self._file_bytes += len(mark)
            if self._file_bytes + len(data) > self.file_limit:
                return False
            self._writing.write(data)
            self._writing.flush()
        except OSError:
            self.file_failed = True  # disk full, read-only home, a size limit
            return False
        self._file_bytes += len(data)
        self.in_file += _records(items)
        return True

    def _forget_file(self) -> None:
        for handle in (self._writing, self._reading_handle):
            if handle is not None:
                with contextlib.suppress(OSError):
                    handle.close()
        if self.path is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()
        self._writing = self._reading_handle = None
        self._reading = None
        self.path = None
        self._file_bytes = self.in_file = 0

    def save(self) -> Path | None:
        """Move everything waiting into the file, for a later writer; None if it could not be
        saved (then it is counted in `lost`)."""
        while self._memory:
            items = self._memory.popleft()
            self.in_memory -= _records(items)
            if self.file_failed or not self._to_file(items):
                self.lost += _records(items) + sum(_records(rest) for rest in self._memory)
                self._memory.clear()
                self.in_memory = 0
                return None
        if self._writing is not None:
            with contextlib.suppress(OSError):
                self._writing.close()
            self._writing = None
        if self.path is not None:  # complete: any writer may take it over now
            saved = self.path.with_suffix(".saved")
            try:
                self.path.rename(saved)
            except OSError:
                return self.path
            self.path = saved
        return self.path


def save_unconfirmed(
    url: object, sent: list[Items], queued: Items
) -> tuple[int, Path | None]:
    """Save to a spill file what a stuck writer has not confirmed: `sent` (frames that may
    have been stored: kept as replays) and `queued` (never sent).

    Returns:
        (how many records, the file; None if there is no URL to name it or it failed).
    """
    count = sum(map(len, sent)) + len(queued)
    if not isinstance(url, str) or not count:
        return count, None
    spill = Spill(store_key(url), memory_limit=0)
    for items in sent:
        if items:
            spill.put([REPLAY, *items])
    spill.put(queued)
    return count, spill.save()


def take_over(key: str) -> Iterator[Items]:
    """Frames left in spill files for this store by writers that are gone, oldest file first;
    each file is claimed (renamed) before it is read, and deleted once read."""
    folder = spill_folder()
    try:
        names = [*folder.glob(f"{key}-*.saved"), *folder.glob(f"{key}-*.spill")]
        names.sort(key=lambda p: p.stat().st_mtime)
    except OSError:
        return
    for path in names:
        try:
            pid = int(path.name.split("-")[1])
        except (IndexError, ValueError):
            continue
        if path.suffix == ".spill" and (pid == os.getpid() or _alive(pid)):
            continue  # still being written
        claimed = path.with_suffix(f".taken-{os.getpid()}")
        try:
            path.rename(claimed)
            handle = open(claimed, "rb")  # noqa: SIM115
        except OSError:
            continue  # another writer took it first
        with handle:
            try:
                yield from read_frames(handle)
            except IncompatibleSpill as exc:
                _set_aside(claimed, exc)
                continue
        with contextlib.suppress(OSError):
            claimed.unlink()


def _set_aside(path: Path, why: IncompatibleSpill) -> None:
    """Keep a spill file this version cannot read, and say so once, with where it is."""
    kept = path.with_name(path.name.split(".")[0] + ".incompatible")
    try:
        path.rename(kept)
    except OSError:
        kept = path
    import logging

    logging.getLogger("headwater.store").warning(
        "A spill file of records that waited for this run store was written by another version "
        "of headwater (%s; this version reads format %s), so its records were not written: it "
        "is kept as %s. Run the version that wrote it against this store to write them, or "
        "delete the file.", why, FORMAT, kept,
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True
