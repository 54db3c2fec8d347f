"""The store sink's pump thread: it takes wire tuples off the sink's queue, in batches, and
hands them to the writer process (`_process_link.py`) or writes them from this process.

A flush marker in the queue is released once everything before it is stored (or waits in the
spill); the pump outlives any bug of its own, since a flush waits on it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from itertools import islice
from typing import TYPE_CHECKING, Any

from headwater.events import _wire
from headwater.events._log import log, logger

Items = list[tuple[Any, ...]]
PUMP_SECONDS = 0.05  # with a writer process: how long a record may wait before it is sent


class FlushMarker:
    """Put in the queue by `flush`; set once everything before it is committed."""

    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


class EncodeFailure:
    """Put in the queue by `emit` for a record that could not be encoded (reported by the
    pump: the run's thread never logs for the store)."""

    __slots__ = ("exc",)

    def __init__(self, exc: Exception) -> None:
        self.exc = exc


class SinkPump:
    """The pump thread of `StoreSink` (mixed into it)."""

    mode: str
    url: str | None
    batch_seconds: float
    heartbeat_seconds: float
    crash_after_seconds: float
    start_timeout: float
    max_batch: int
    _queue: deque[Any]
    _odd: deque[None]
    _wake: threading.Event
    _stopping: bool
    _eager: bool
    _local: Any
    _process: Any
    _process_lost: bool
    _last_control: float
    _in_flight: Items
    _store_or_factory: Any
    _send_lock: threading.Lock

    if TYPE_CHECKING:
        def _start_process(self) -> None: ...
        def _send(self, items: Items, markers: list[FlushMarker]) -> bool: ...
        def _fall_back(self) -> None: ...
        def _cancel_requested(self, run_ids: list[str]) -> None: ...

    def _run(self) -> None:
        if self.mode == "process" and self._eager:  # it takes a while to import SQLAlchemy
            self._start_process()
        last_heartbeat = self._last_control = time.monotonic()
        while True:
            interval = self.batch_seconds
            if self.mode == "process":
                interval = min(interval, PUMP_SECONDS)
            elif self._local is not None and self._local.running_flows:
                interval = min(interval, _wire.CONTROL_SECONDS)
            local = self._local
            if local is not None and local.retry_at is not None:  # records wait for the store
                interval = max(0.0, min(interval, local.retry_at - time.monotonic()))
            self._wake.wait(interval)
            self._wake.clear()
            process = self._process
            if (process is not None and not process.ready and not self._process_lost
                    and time.monotonic() - process.started > self.start_timeout):
                self._process_lost = True  # silent for too long: not a writer we can use
            now = time.monotonic()
            heartbeat = self.mode == "thread" and now - last_heartbeat >= self.heartbeat_seconds
            if heartbeat:
                last_heartbeat = now
            try:
                with self._send_lock:  # frames leave in order: `_hand_off` waits its turn
                    self._drain(heartbeat)
            except Exception as exc:  # the pump must outlive any bug: flush() waits on it
                self._local_writer().failed(exc, 0)
            if self._stopping and not self._queue:
                return

    def _look_for_cancel_requests(self) -> None:
        """Thread writer: every `CONTROL_SECONDS`, between batches, even while records keep
        coming (a busy flow is the one most likely to be asked to stop)."""
        now = time.monotonic()
        if self.mode != "thread" or now - self._last_control < _wire.CONTROL_SECONDS:
            return
        self._last_control = now
        cancelled = self._local_writer().cancel_requests()
        if cancelled:
            self._cancel_requested(cancelled)

    def _drain(self, heartbeat: bool) -> None:
        if self._process_lost and self.mode == "process":
            self._fall_back()  # now, not at the next record: a flush may be waiting on it
        self._look_for_cancel_requests()
        if self._local is not None and self._local.retry_at is not None:
            self._local.retry(due_only=True)
        queue = self._queue
        popleft = queue.popleft
        while True:
            # Taken off in C (only the pump and `_hand_off` take, both holding the send lock:
            # the queue holds at least `len` items); split in Python only if a flush marker or
            # an encode failure was queued and not yet found (`_odd`, read after taking).
            taken = list(islice(iter(popleft, None), min(len(queue), self.max_batch)))
            if not self._odd:
                self._deliver_guarded(taken, [], heartbeat)
            else:
                for items, markers in self._split(taken):
                    self._deliver_guarded(items, markers, heartbeat)
                    heartbeat = False
            heartbeat = False
            self._look_for_cancel_requests()
            if not queue:
                return

    def _split(self, taken: list[Any]) -> list[tuple[Items, list[FlushMarker]]]:
        """`taken` as batches to deliver in order, each ended by the flush markers that wait
        for it; encode failures are reported on the way."""
        batches: list[tuple[Items, list[FlushMarker]]] = []
        items: Items = []
        markers: list[FlushMarker] = []
        for item in taken:
            if item.__class__ is tuple:
                if markers:  # the markers wait for what came before them only
                    batches.append((items, markers))
                    items, markers = [], []
                items.append(item)
            elif item.__class__ is FlushMarker:
                self._odd.popleft()
                markers.append(item)
            elif item.__class__ is EncodeFailure:
                self._odd.popleft()
                try:  # reporting it must not cost the batch taken off the queue
                    self._local_writer().failed(item.exc, 1)
                except Exception:
                    logger.warning("A record could not be encoded, and is not stored: %r",
                                   item.exc)
        batches.append((items, markers))
        return batches

    def _deliver_guarded(self, items: Items, markers: list[FlushMarker], heartbeat: bool
                         ) -> None:
        if not (items or markers or heartbeat):
            return
        try:
            self._deliver(items, markers, heartbeat)
        except Exception as exc:  # a bug here must not leave a flush waiting forever
            self._local_writer().failed(exc, len(items))
            for marker in markers:
                marker.done.set()

    def _deliver(self, items: Items, markers: list[FlushMarker], heartbeat: bool) -> None:
        if self.mode == "process" and self._send(items, markers):
            return
        self._in_flight = items
        try:
            self._local_writer().write(items, heartbeat=heartbeat)
        finally:  # whatever happened, nobody may wait on a marker forever
            self._in_flight = []
            for marker in markers:
                marker.done.set()

    def _local_writer(self) -> Any:
        if self._local is None:
            from headwater.events._spill import store_key
            from headwater.events._writer import BatchWriter

            url = self.url or getattr(self._store_or_factory, "url", None)
            self._local = BatchWriter(
                self._store_or_factory, crash_after_seconds=self.crash_after_seconds,
                report=log, spill_key=store_key(url) if isinstance(url, str) else None,
            )
        return self._local

