"""The batch writer: wire tuples in, one transaction per batch out, heartbeats, failures once.

One implementation for both places a store sink writes from: its own thread (`writer="thread"`)
and the writer process (`_writer_process.py`). It opens the store lazily, marks Crashed the
runs of dead processes when it first opens it, and never raises: a failed write is reported
once through `report`, its records are counted as dropped, and writing is retried after
`RETRY_AFTER_FAILURE_SECONDS`.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import astuple, dataclass
from typing import Any

from headwater.events._rows import BatchBuilder
from headwater.events._wire import stamp
from headwater.store.base import RunStore

RETRY_AFTER_FAILURE_SECONDS = 5.0
Report = Callable[[int, str], None]  # (logging level, message)


@dataclass
class WriterStats:
    """What the writer has done so far (read them in tests and benchmarks).

    Attributes:
        records: records stored. batches: transactions committed. dropped: records lost to
        write failures. failures: failed writes. max_window: the longest a record waited
        between being made and being committed (seconds): commit time minus the timestamp of
        each batch's first record. max_write: the longest one transaction took (seconds).
    """

    records: int = 0
    batches: int = 0
    dropped: int = 0
    failures: int = 0
    max_window: float = 0.0
    max_write: float = 0.0

    def as_tuple(self) -> tuple[Any, ...]:
        return astuple(self)

    def update_from(self, values: tuple[Any, ...]) -> None:
        (self.records, self.batches, self.dropped, self.failures, self.max_window,
         self.max_write) = values


class BatchWriter:
    """Writes batches of wire tuples to a run store.

    Args:
        store: the store, or a function that makes it (called on the first write).
        crash_after_seconds: on opening, flow runs silent this long are marked Crashed.
        report: called with (level, message) for the one error of an outage and for the
            warning when writing works again.
    """

    def __init__(
        self,
        store: RunStore | Callable[[], RunStore],
        *,
        crash_after_seconds: float,
        report: Report,
    ) -> None:
        self._store_or_factory = store
        self.store: RunStore | None = store if isinstance(store, RunStore) else None
        self.crash_after_seconds = crash_after_seconds
        self.report = report
        self.stats = WriterStats()
        self.running_flows: set[str] = set()
        self._cancels_seen: set[str] = set()
        self._reported = False
        self._failed_at: float | None = None

    def write(
        self, items: list[tuple[Any, ...]], *, heartbeat: bool = False, replay: bool = False
    ) -> None:
        """Fold `items` into one batch and commit it, with heartbeats for the running flow
        runs when `heartbeat` is set. Never raises.

        Args:
            replay: the items may have been committed already (by a writer process that died
                before saying so): what the store holds already is left out.
        """
        try:
            builder = BatchBuilder(self.running_flows)
            try:
                builder.add_wire(items)
            except Exception:  # a tuple we cannot fold must not cost the others their rows
                builder = self._fold_one_by_one(items)
            heartbeats = tuple(self.running_flows) if heartbeat else ()
            if builder.count or heartbeats:
                self._commit(builder, heartbeats, _oldest(items), replay)
        except Exception as exc:  # the writer must outlive any bug: flushes wait on it
            self.failed(exc, len(items))

    def cancel_requests(self) -> list[str]:
        """The flow runs being recorded here that were asked to stop since the last call (each
        reported once). Never raises: run control must not get in the way of writing."""
        running = self.running_flows
        if not running or self.store is None:
            return []
        try:
            asked = self.store.read_cancel_requests(list(running))
        except Exception:
            return []
        seen = self._cancels_seen
        seen &= running  # forget runs that finished
        new = [run_id for run_id in asked if run_id not in seen]
        seen.update(new)
        return new

    def retry_now(self) -> None:
        """Write at the next batch, even within the pause after a failure."""
        self._failed_at = None

    def _fold_one_by_one(self, items: list[tuple[Any, ...]]) -> BatchBuilder:
        builder = BatchBuilder(self.running_flows)
        for item in items:
            try:
                builder.add_wire((item,))
            except Exception as exc:
                self.failed(exc, 1)
        return builder

    def _commit(self, builder: BatchBuilder, heartbeats: tuple[str, ...], oldest: float | None,
                replay: bool = False) -> None:
        stats = self.stats
        if (self._failed_at is not None
                and time.monotonic() - self._failed_at < RETRY_AFTER_FAILURE_SECONDS):
            stats.dropped += builder.count
            return
        try:
            store = self._open()
            started = time.monotonic()
            store.write_batch(builder.build(heartbeats=heartbeats, now=time.time(),
                                            replay=replay))
        except Exception as exc:
            self.failed(exc, builder.count)
            return
        done = time.monotonic()
        if self._failed_at is not None:
            self.report(logging.WARNING, (
                f"headwater is writing run history again; {stats.dropped} records were lost "
                f"while the run store could not be written."
            ))
            self._failed_at = None
        stats.records += builder.count
        stats.batches += 1
        stats.max_write = max(stats.max_write, done - started)
        if oldest is not None:  # items are in order: the batch's first record waited longest
            stats.max_window = max(stats.max_window, time.time() - oldest)

    def _open(self) -> RunStore:
        store = self.store
        if store is None:
            factory = self._store_or_factory
            assert callable(factory)
            store = factory()
            now = time.time()
            try:
                store.mark_crashed(heartbeat_before=now - self.crash_after_seconds, now=now)
            except BaseException:
                store.close()
                raise
            self.store = store
        return store

    def failed(self, exc: BaseException, count: int) -> None:
        """Count a failure; report the first one of an outage."""
        self.stats.failures += 1
        self.stats.dropped += count
        self._failed_at = time.monotonic()
        if self._reported:
            return
        self._reported = True
        url = getattr(exc, "url", "") or getattr(self.store, "display_url", "")
        self.report(logging.ERROR, (
            f"headwater could not write run history{f' to {url}' if url else ''}: {exc} "
            f"Your flows keep running; their history is not being recorded until the store "
            f"can be written again. (This error is reported once.)"
        ))

    def close(self) -> None:
        if self.store is not None:
            with contextlib.suppress(Exception):
                self.store.close()


def _oldest(items: list[tuple[Any, ...]]) -> float | None:
    for item in items:
        found = stamp(item)
        if found is not None:
            return found
    return None
