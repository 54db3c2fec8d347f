"""The store sink's link to its writer process: frames sent, acknowledged, and written from
this process instead when the writer process cannot start or dies (a replay of what it had
not confirmed), or saved to a spill file when a stuck writer outlives the exit.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from itertools import islice
from typing import TYPE_CHECKING, Any

from headwater.events import codec
from headwater.events._log import log, logger
from headwater.events._pump import FlushMarker, Items

if TYPE_CHECKING:  # the flow's process loads no writer classes to write through a process
    from headwater.events._writer_stats import WriterStats

# With a writer process: a queue this long is sent by the thread that made it so (`_hand_off`),
# if the pipe has at least MIN_HANDOFF_ROOM bytes free.
HANDOFF_RECORDS = 2048
MIN_HANDOFF_ROOM = 1 << 16


class WriterProcessLink:
    """Sending frames to the writer process of `StoreSink` (mixed into it)."""

    mode: str
    url: str | None
    batch_seconds: float
    heartbeat_seconds: float
    crash_after_seconds: float
    max_batch: int
    max_send_window: float
    _queue: deque[Any]
    _odd: deque[None]
    _wake: threading.Event
    _stopping: bool
    _process: Any
    _process_lock: threading.Lock
    _process_failed: bool
    _process_lost: bool
    _frame: int
    _unacked: deque[tuple[int, Items]]
    _waiting: dict[int, list[FlushMarker]]
    _waiting_lock: threading.Lock
    _remote_stats: WriterStats
    _running_flows: tuple[str, ...]
    _in_flight: Items
    _store_or_factory: Any
    _send_lock: threading.Lock

    def _local_writer(self) -> Any:
        raise NotImplementedError  # the pump's (`SinkPump`)

    def _cancel_requested(self, run_ids: list[str]) -> None:
        raise NotImplementedError  # the sink's

    def _send(self, items: Items, markers: list[FlushMarker]) -> bool:
        """Send a frame to the writer process; False if it cannot be (write them here)."""
        if self._process is None and not self._process_failed:
            self._start_process()
        if self._process is None:
            return False
        self._frame += 1
        number = self._frame
        self._unacked.append((number, items))
        if markers:
            with self._waiting_lock:
                self._waiting[number] = markers
        if items:
            made = codec.stamp(items[0])
            if made is not None:
                self.max_send_window = max(self.max_send_window, time.time() - made)
        try:
            self._process.send(number, items, flush=bool(markers))  # a flush waits for it
        except Exception:  # gone (OSError), or broken: write what it did not commit here
            self._process_lost = True
            self._fall_back()
        return True

    def _hand_off(self) -> None:
        """Called by `emit` in the thread that made the queue `HANDOFF_RECORDS` long: that
        thread sends the queue to the writer process itself, if the pipe has room for it (so
        the write cannot block it). In a burst, records then wait for no other thread to be
        scheduled, which on a busy machine can take a tenth of a second: a `kill -9` of this
        process loses at most the last `HANDOFF_RECORDS`. Otherwise the pump sends them."""
        lock = self._send_lock
        if not lock.acquire(blocking=False):
            return  # the pump is sending
        try:
            process = self._process
            if (process is None or self._process_lost or self._stopping
                    or self.mode != "process"):
                return
            if self._odd:  # a flush marker or an encode failure is queued: the pump's to handle
                return
            room = process.room()
            if room < MIN_HANDOFF_ROOM:
                return
            queue = self._queue
            items: Items = list(islice(iter(queue.popleft, None), min(len(queue),
                                                                       self.max_batch)))
            if not items:
                return
            sent = False
            if not self._odd:  # read again after taking: an odd item counts before it is queued
                number = self._frame + 1
                self._unacked.append((number, items))  # before its acknowledgement can come
                try:
                    sent = process.send(number, items, room=room)
                except Exception:  # gone, or broken: the pump falls back, replaying it
                    sent = True
                    self._process_lost = True
                    self._wake.set()
                if sent:
                    self._frame = number
                    made = codec.stamp(items[0])
                    if made is not None:
                        self.max_send_window = max(self.max_send_window, time.time() - made)
                else:
                    self._unacked.pop()
            if not sent:
                queue.extendleft(reversed(items))  # before anything emitted since: in order
                self._wake.set()
        finally:
            lock.release()

    def _start_process(self) -> None:
        with self._process_lock:
            if self._process is None and not self._process_failed:
                self._start_process_locked()

    def _start_process_locked(self) -> None:
        from headwater.events._writer_process import WriterProcess

        assert self.url is not None
        try:
            self._process = WriterProcess(
                self.url, batch_seconds=self.batch_seconds,
                heartbeat_seconds=self.heartbeat_seconds,
                crash_after_seconds=self.crash_after_seconds,
                on_ack=self._acked, on_log=log, on_exit=self._process_exited,
                on_cancel=self._cancel_requested,
            )
        except Exception as exc:  # OSError, mostly: no such interpreter, no processes left
            self._process_failed = True
            self.mode = "thread"
            logger.warning(
                "headwater could not start its run store writer process (%s); run history is "
                "written from this process instead. Set HEADWATER_STORE_WRITER=thread to "
                "skip the attempt.", exc,
            )

    def _acked(self, number: int, stats: tuple[Any, ...], running: tuple[str, ...]) -> None:
        """In the reply thread: frames up to `number` are committed; `running` are the flow
        runs the writer heartbeats (a fallback writer takes them over)."""
        self._remote_stats.update_from(stats)
        self._running_flows = running
        unacked = self._unacked
        with self._waiting_lock:
            while unacked and unacked[0][0] <= number:
                unacked.popleft()
            done = [n for n in self._waiting if n <= number]
            released = [marker for n in done for marker in self._waiting.pop(n)]
        for marker in released:
            marker.done.set()

    def _process_exited(self) -> None:
        """In the reply thread: the writer process's output closed."""
        if not self._stopping:
            self._process_lost = True
            self._wake.set()

    def _fall_back(self) -> None:
        """The writer process is gone: write what it had not committed from here, and write
        from here from now on."""
        process, self._process = self._process, None
        self.mode = "thread"
        code = None
        if process is not None:
            with contextlib.suppress(Exception):
                process.close(timeout=1.0, kill=True)
                code = process.proc.returncode
        logger.error(
            "headwater's run store writer process%s stopped unexpectedly (exit code %s); run "
            "history is written from this process from now on.",
            f" (pid {process.pid})" if process is not None else "", code,
        )
        writer = self._local_writer()
        writer.stats.update_from(self._remote_stats.as_tuple())
        writer.running_flows.update(self._running_flows)
        writer.retry_now()  # an earlier encode failure must not cost the replay its records
        with self._waiting_lock:
            frames = list(self._unacked)
            self._unacked.clear()
        for _, items in frames:  # it may have committed some of them before it died
            writer.write(items, replay=True)
        with self._waiting_lock:
            released = [marker for markers in self._waiting.values() for marker in markers]
            self._waiting.clear()
        for marker in released:
            marker.done.set()

    def _save_stuck(self) -> None:
        """The writer is stuck (a store locked for longer than the exit allows): save what it
        has not confirmed to a spill file, which the next writer of this store writes."""
        from headwater.events._spill import save_unconfirmed

        url = self.url or getattr(self._store_or_factory, "url", None)
        with self._waiting_lock:
            sent = [items for _, items in self._unacked]
        queued = [item for item in list(self._queue) if item.__class__ is tuple]
        count, path = save_unconfirmed(url, [*sent, self._in_flight], queued)
        if path is not None:
            logger.warning(
                "headwater's run store did not take this process's last %d records before it "
                "exited (the store is slow or locked); they wait in %r and are written the "
                "next time headwater opens this run store.", count, str(path))
        else:
            logger.warning("headwater's run store writer did not finish in time; %d records "
                           "not yet stored may be lost.", count)
