"""Writing a spill file's records into a run store chosen by the user (`headwater db recover`).

A writer that cannot reach its store saves what waits to a spill file named after the store's
URL; the next writer of the same URL writes it. When the URL itself was wrong (a misspelt
scheme), no writer ever opens that store: once the URL is fixed, this writes the file into the
store it names. Every batch is written as a replay, so records the store holds already are left
out, and recovering a file twice changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from headwater.errors import HeadwaterError
from headwater.events import _spill, codec

if TYPE_CHECKING:
    from headwater.store.base import RunStore

BATCH_RECORDS = 20_000  # most records in one transaction
_CREATED = codec.KINDS["FlowRunCreated"]
_CREATED_ID = codec.position(_CREATED, "flow_run_id")
_CREATED_NAME = codec.position(_CREATED, "name")
_CREATED_FLOW = codec.position(_CREATED, "flow_name")


class NotASpillFile(HeadwaterError):
    """The file is not a spill file this version of headwater can read (the message says
    why)."""


@dataclass
class Recovered:
    """What `recover` wrote: how many records, and the flow runs they belong to (id ->
    "flow-name/run-name", or "" for a run whose creation record was not in the file)."""

    records: int = 0
    flow_runs: dict[UUID, str] = field(default_factory=dict)


def spill_files() -> list[Path]:
    """Spill files waiting in `HEADWATER_HOME/spill`, oldest first."""
    folder = _spill.spill_folder()
    try:
        found = [path for path in folder.iterdir() if path.is_file()]
        return sorted(found, key=lambda path: path.stat().st_mtime)
    except OSError:
        return []


def recover(path: Path, store: RunStore) -> Recovered:
    """Write the records of the spill file at `path` into `store`, oldest first, as replays.

    Raises:
        NotASpillFile: the file is not a spill file, or one of another version of headwater.
        OSError: the file cannot be read.
        StoreUnavailableError: the store cannot be written (what was written stays; running
            it again writes the rest).
    """
    from headwater.events._rows import BatchBuilder

    done = Recovered()
    pending: list[tuple[Any, ...]] = []

    def write() -> None:
        builder = BatchBuilder(set())
        builder.add_wire(pending)
        store.write_batch(builder.build(now=time.time(), replay=True))
        done.records += len(pending)
        pending.clear()

    with open(path, "rb") as handle:
        for items in _read(path, handle):
            for item in items:
                if item == _spill.REPLAY:
                    continue
                pending.append(item)
                flow = _spill._flow_of(item)
                if item[0] == _CREATED:
                    done.flow_runs[UUID(int=item[_CREATED_ID])] = (
                        f"{item[_CREATED_FLOW]}/{item[_CREATED_NAME]}")
                elif flow is not None:
                    done.flow_runs.setdefault(UUID(int=flow), "")
            if len(pending) >= BATCH_RECORDS:
                write()
    if pending:
        write()
    return done


def _read(path: Path, handle: Any) -> Iterator[list[tuple[Any, ...]]]:
    """The record frames of a spill file, after checking its format frame."""
    frames = _spill._frames(handle)
    first = next(frames, None)
    if first is None:
        if path.stat().st_size:  # not even one whole frame
            raise NotASpillFile(f"{str(path)!r} is not a headwater spill file.")
        return  # an empty file: nothing to write
    if not _spill._marked(first):
        raise NotASpillFile(f"{str(path)!r} is not a headwater spill file.")
    if first[0][1] != _spill.FORMAT:
        raise NotASpillFile(
            f"{str(path)!r} was saved by another version of headwater (format {first[0][1]}; "
            f"this version reads format {_spill.FORMAT}): recover it with the version that "
            f"saved it."
        )
    yield from frames
