"""The store sink: records go to a queue on the hot path and into the run store from a thread.

`emit` is `deque.append`: O(1), lock-free, never blocks and never raises. A background writer
thread wakes every `batch_seconds` (default 0.2 s, `HEADWATER_STORE_BATCH_SECONDS`, at most
1 s), drains the queue into `Batch`es of at most `max_batch` records and writes each in one
transaction. So after `kill -9` at most the records of the last window (batch_seconds plus the
time one write takes) are missing. `flush()` (called when a top-level flow run ends) and
`close()` (registered with `atexit`) wait until every record emitted before them is stored.

The writer also heartbeats flow runs it has seen Running and not final, every
`heartbeat_seconds`, and on first opening the store marks Crashed the runs of dead processes.
A store that cannot be written is reported once, on the `headwater.store` logger; after that
the records are dropped and the writer retries now and then. The user's flow never fails.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from headwater.events.base import EventSink
from headwater.store.base import RunStore

logger = logging.getLogger("headwater.store")
RETRY_AFTER_FAILURE_SECONDS = 5.0


class _FlushMarker:
    """Put in the queue by `flush`; set by the writer once everything before it is stored."""

    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


@dataclass
class WriterStats:
    """What the writer has done so far (read them in tests and benchmarks).

    Attributes:
        records: records stored. batches: transactions committed. dropped: records lost to
        write failures. max_window: the longest a record waited between being made and being
        committed (seconds): commit time minus the timestamp of each batch's first record.
        max_write: the longest one transaction took (seconds). failures: failed writes.
    """

    records: int = 0
    batches: int = 0
    dropped: int = 0
    failures: int = 0
    max_window: float = 0.0
    max_write: float = 0.0


class StoreSink(EventSink):
    """An `EventSink` that writes every record to a `RunStore` from a background thread.

    Args:
        store: the store, or a function that makes it (called in the writer thread, so opening
            a database never delays a run).
        batch_seconds: how long records may wait before they are written (default: setting).
        heartbeat_seconds: how often running flow runs get a heartbeat (default: setting).
        crash_after_seconds: on opening, runs silent this long are marked Crashed.
        max_batch: most records in one transaction.
        exit_timeout: how long the `atexit` flush may take.
    """

    def __init__(
        self,
        store: RunStore | Callable[[], RunStore],
        *,
        batch_seconds: float | None = None,
        heartbeat_seconds: float | None = None,
        crash_after_seconds: float | None = None,
        max_batch: int = 20_000,
        exit_timeout: float = 30.0,
    ) -> None:
        from headwater import settings

        self._store_or_factory = store
        self.store: RunStore | None = store if isinstance(store, RunStore) else None
        self.batch_seconds = batch_seconds or settings.store_batch_seconds()
        self.heartbeat_seconds = heartbeat_seconds or settings.heartbeat_seconds()
        self.crash_after_seconds = crash_after_seconds or settings.crash_after_seconds()
        self.max_batch = max_batch
        self.exit_timeout = exit_timeout
        self.stats = WriterStats()
        self._running_flows: set[str] = set()
        self._reported = False
        self._failed_at: float | None = None
        self._closed = False
        self._start()
        atexit.register(self._at_exit)
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._after_fork_in_child)

    def _start(self) -> None:
        self._queue: deque[Any] = deque()
        self.emit = self._queue.append  # type: ignore[method-assign,assignment]
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(
            target=self._run, name="headwater-store-writer", daemon=True
        )
        self._thread.start()

    def emit(self, record: Any) -> None:  # replaced per instance by deque.append
        self._queue.append(record)

    # -- flushing and closing -----------------------------------------------------------------
    def flush(self, timeout: float | None = None) -> None:
        """Wait until every record emitted so far is stored (or given up on).

        Args:
            timeout: the longest to wait, in seconds; None waits as long as it takes.
        """
        if self._closed or not self._thread.is_alive():
            return
        marker = _FlushMarker()
        self._queue.append(marker)
        self._wake.set()
        marker.done.wait(timeout)

    def close(self, timeout: float | None = None) -> None:
        """Store what is queued, stop the writer and close the store."""
        if self._closed:
            return
        self.flush(self.exit_timeout if timeout is None else timeout)
        self._closed = True
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout=5.0)
        if self.store is not None and not self._thread.is_alive():
            with contextlib.suppress(Exception):
                self.store.close()

    def _at_exit(self) -> None:
        with contextlib.suppress(Exception):  # never turn a clean exit into a traceback
            self.close()

    def _after_fork_in_child(self) -> None:
        # The writer thread does not survive fork, and the parent's connections must not be
        # reused: the child starts with an empty queue, a fresh writer and a fresh store.
        if self._closed:
            return
        if not isinstance(self._store_or_factory, RunStore):
            self.store = None
        self._running_flows = set()
        self._start()

    # -- the writer thread --------------------------------------------------------------------
    def _run(self) -> None:
        last_heartbeat = time.monotonic()
        while True:
            self._wake.wait(self.batch_seconds)
            self._wake.clear()
            drain_started = time.monotonic()
            heartbeat_due = drain_started - last_heartbeat >= self.heartbeat_seconds
            if heartbeat_due:
                last_heartbeat = drain_started
            try:
                self._drain(heartbeat_due)
            except Exception as exc:  # the writer must outlive any bug: flush() waits on it
                self._failed(exc, 0)
            if self._stopping and not self._queue:
                return

    def _drain(self, heartbeat_due: bool) -> None:
        from headwater.events._rows import BatchBuilder

        queue = self._queue
        while True:
            builder = BatchBuilder(self._running_flows)
            markers: list[_FlushMarker] = []
            popleft = queue.popleft
            oldest: float | None = None
            for _ in range(self.max_batch):
                try:
                    item = popleft()
                except IndexError:
                    break
                if oldest is None:
                    oldest = _created_at(item)
                if item.__class__ is _FlushMarker:
                    markers.append(item)
                    break  # store what came before the marker, then release its waiter
                try:
                    builder.add(item)
                except Exception as exc:  # a record we cannot fold in must not stop the writer
                    self._failed(exc, 1)
                if not builder.count & 255:
                    # Hand the GIL back now and then: a run thread that released it for I/O
                    # (a console line) would otherwise wait for the interpreter's 5 ms switch.
                    time.sleep(0)
            heartbeats = tuple(self._running_flows) if heartbeat_due else ()
            heartbeat_due = False
            try:
                if builder.count or heartbeats:
                    self._write(builder, heartbeats, oldest)
            finally:  # whatever happened, nobody may wait on a marker forever
                for marker in markers:
                    marker.done.set()
            if not queue:
                return

    def _write(self, builder: Any, heartbeats: tuple[str, ...], oldest: float | None) -> None:
        now = time.monotonic()
        if self._failed_at is not None and now - self._failed_at < RETRY_AFTER_FAILURE_SECONDS:
            self.stats.dropped += builder.count
            return
        try:
            store = self._open()
            started = time.monotonic()
            store.write_batch(builder.build(heartbeats=heartbeats, now=time.time()))
        except Exception as exc:
            self._failed(exc, builder.count)
            return
        done = time.monotonic()
        if self._failed_at is not None:
            logger.warning(
                "headwater is writing run history again; %d records were lost while the run "
                "store could not be written.", self.stats.dropped,
            )
            self._failed_at = None
        stats = self.stats
        stats.records += builder.count
        stats.batches += 1
        stats.max_write = max(stats.max_write, done - started)
        if oldest is not None:  # the queue is FIFO: the batch's first record waited longest
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

    def _failed(self, exc: BaseException, count: int) -> None:
        self.stats.failures += 1
        self.stats.dropped += count
        self._failed_at = time.monotonic()
        if self._reported:
            return
        self._reported = True
        url = getattr(exc, "url", "") or getattr(self.store, "display_url", "")
        logger.error(
            "headwater could not write run history%s: %s Your flows keep running; their "
            "history is not being recorded until the store can be written again. "
            "(This error is reported once.)",
            f" to {url}" if url else "", exc,
        )


def _created_at(record: Any) -> float | None:
    """When a record was made (its own timestamp, or its state's)."""
    stamp = getattr(record, "timestamp", None)
    if isinstance(stamp, float):
        return stamp
    state = getattr(record, "state", None)
    return getattr(state, "timestamp_s", None)
