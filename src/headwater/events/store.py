"""The store sink: records go to a queue on the hot path, and into the run store from elsewhere.

`emit` turns a record into a compact wire tuple (`codec.py`) and appends it to a deque: a
few µs, lock-free, never blocks and never raises. A pump thread hands the tuples to a writer,
which folds them into rows and commits one transaction per batch window (`batch_seconds`,
default 0.2 s, `HEADWATER_STORE_BATCH_SECONDS`, at most 1 s):

- `writer="process"` (the default for a URL, `HEADWATER_STORE_WRITER`): a writer process
  started for this sink (`_writer_process.py`). The pump sends every `PUMP_SECONDS` (0.05 s);
  folding and SQL run on another CPU, and what reached the pipe is committed even if this
  process is killed with `kill -9`. If the writer process cannot start or dies, the frames it
  had not committed are written from this process, which then writes as `writer="thread"`.
- `writer="thread"`: the pump thread writes itself (always so for a `RunStore` object).

`flush()` (called when a top-level flow run ends) and `close()` (registered with `atexit`) wait
until every record emitted before them is committed, or waits in the writer's spill; `flush`
at most `HEADWATER_FLUSH_TIMEOUT`, `close` at most `exit_timeout` (what a stuck writer still
holds then is saved to a spill file). While flow runs are running, the writer
also asks the store, every `_wire.CONTROL_SECONDS`, whether one of them was asked to stop, and
tells the callbacks given to `on_cancel_requested`. The writer heartbeats flow runs it has
seen Running and not final, and marks Crashed the runs of dead processes when it first opens
the store. A store that cannot be written is reported once, on the `headwater.store` logger;
the records wait in a bounded spill (`_spill.py`) and are written, in order, when it can be
written again. The user's flow never fails.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from headwater.events import _wire, codec
from headwater.events._spill import spill_folder
from headwater.events._writer_process import EXIT_RETRY_SECONDS
from headwater.events.base import EventSink
from headwater.events.records import FlowRunCreated

if TYPE_CHECKING:  # the flow's process never loads the store's classes to write through a process
    from headwater.store.base import RunStore

logger = logging.getLogger("headwater.store")
PUMP_SECONDS = 0.05  # with a writer process: how long a record may wait before it is sent
Items = list[tuple[Any, ...]]


class _FlushMarker:
    """Put in the queue by `flush`; set once everything before it is committed."""

    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


class _EncodeFailure:
    """Put in the queue by `emit` for a record that could not be encoded (reported by the
    pump: the run's thread never logs for the store)."""

    __slots__ = ("exc",)

    def __init__(self, exc: Exception) -> None:
        self.exc = exc


class StoreSink(EventSink):
    """An `EventSink` that writes every record to a run store, off the run's thread.

    Args:
        store: a database URL (written by a writer process, or by a thread with
            `writer="thread"`), a `RunStore`, or a function that makes one (both written by a
            thread; a function is called in that thread, so opening never delays a run).
        writer: "process" or "thread"; default `HEADWATER_STORE_WRITER` for a URL.
        batch_seconds: how long records may wait before they are committed (default: setting).
        heartbeat_seconds: how often running flow runs get a heartbeat (default: setting).
        crash_after_seconds: on opening, runs silent this long are marked Crashed.
        max_batch: most records in one transaction.
        exit_timeout: how long the `atexit` flush may take.
        flush_timeout: how long `flush()` (the end of a flow run) may take (default:
            `HEADWATER_FLUSH_TIMEOUT`).
        start_timeout: how long a writer process may take to say it is ready before the sink
            gives up on it and writes from a thread.
    """

    def __init__(
        self,
        store: str | RunStore | Callable[[], RunStore],
        *,
        writer: str | None = None,
        batch_seconds: float | None = None,
        heartbeat_seconds: float | None = None,
        crash_after_seconds: float | None = None,
        max_batch: int = 20_000,
        exit_timeout: float = 30.0,
        start_timeout: float = 60.0,
        flush_timeout: float | None = None,
    ) -> None:
        from headwater import settings

        self.url = store if isinstance(store, str) else None
        if self.url is not None:
            url = self.url

            def open_url() -> RunStore:
                from headwater.store import sql_store

                return sql_store(url)

            self._store_or_factory: RunStore | Callable[[], RunStore] = open_url
        else:
            self._store_or_factory = store  # type: ignore[assignment]
        mode = writer or (settings.store_writer() if self.url is not None else "thread")
        if mode == "process" and writer is None and getattr(sys, "frozen", False):
            mode = "thread"  # a frozen app's sys.executable is the app, not a Python
        if mode not in ("process", "thread") or (mode == "process" and self.url is None):
            raise ValueError(
                f"StoreSink(writer={writer!r}) is not possible here: use writer='thread', or "
                f"writer='process' with a database URL (a writer process cannot be handed a "
                f"store object)."
            )
        self.mode = mode
        self.batch_seconds = batch_seconds or settings.store_batch_seconds()
        self.heartbeat_seconds = heartbeat_seconds or settings.heartbeat_seconds()
        self.crash_after_seconds = crash_after_seconds or settings.crash_after_seconds()
        settings.check_crash_after(self.crash_after_seconds, self.heartbeat_seconds,
                                   names=("crash_after_seconds", "heartbeat_seconds"))
        self.max_batch = max_batch
        self.exit_timeout = exit_timeout
        self.flush_timeout = settings.flush_timeout() if flush_timeout is None else flush_timeout
        self._stalled = False
        self.start_timeout = start_timeout
        self._closed = False
        self._cancel_callbacks: list[Callable[[Any], object]] = []
        self._eager = True  # start the writer process at once (not in forked children)
        # Held while a writer process is being started, and across os.fork(): a child forked
        # mid-start would otherwise keep a pipe end its parent's writer waits to see closed.
        self._process_lock = threading.Lock()
        self._start()
        atexit.register(self._at_exit)
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(
                before=self._process_lock.acquire,
                after_in_parent=self._process_lock.release,
                after_in_child=self._after_fork_in_child,
            )

    def _start(self) -> None:
        from headwater.events._writer_stats import WriterStats

        self._queue: deque[Any] = deque()
        append = self._queue.append
        encoders = codec.ENCODERS

        flow_created = encoders[FlowRunCreated]

        def emit(record: Any) -> None:
            # Encoded here, while the record is still in this CPU's cache, and freed at once:
            # cheaper in all than encoding it in the pump thread on another CPU.
            encoder = encoders.get(record.__class__)
            if encoder is not None:
                try:
                    append(encoder(record))
                except Exception as exc:  # never the user's flow's problem
                    append(_EncodeFailure(exc))
                if encoder is flow_created:
                    self._flow_run_created(record)

        self.emit = emit  # type: ignore[method-assign]
        self._wake = threading.Event()
        self._stopping = False
        self._local: Any = None  # the in-process BatchWriter, made when first needed
        self._remote_stats = WriterStats()
        self._process: Any = None  # the WriterProcess
        self._process_failed = False
        self._process_lost = False
        self._frame = 0
        # The longest a record waited in this process before reaching the writer process: with
        # it, what a kill -9 of this process can lose (read it in tests and benchmarks).
        self.max_send_window = 0.0
        self._unacked: deque[tuple[int, Items]] = deque()
        self._in_flight: Items = []  # what the thread writer is writing now
        self._running_flows: tuple[str, ...] = ()
        self._last_control = time.monotonic()  # when the thread writer last asked the store
        self._waiting: dict[int, list[_FlushMarker]] = {}
        self._waiting_lock = threading.Lock()
        self._thread = threading.Thread(
            target=self._run, name="headwater-store-writer", daemon=True
        )
        self._thread.start()

    def _flow_run_created(self, record: FlowRunCreated) -> None:
        """A thread writer stores a top-level flow run before its first task runs (waiting
        at most `flush_timeout`): a `kill -9` then never leaves a run without its row. (A
        writer process needs no wait: what reached its pipe survives the kill.)"""
        if self.mode == "thread" and record.parent_flow_run_id is None:
            self._wait_stored(self.flush_timeout)

    def emit(self, record: Any) -> None:  # replaced per instance by a closure (`_start`)
        raise AssertionError("replaced in _start")

    def on_cancel_requested(self, callback: Callable[[Any], object]) -> None:
        """Call `callback(flow_run_id)` (a UUID) for each running flow run of this process that
        the store says was asked to stop."""
        self._cancel_callbacks.append(callback)

    def _cancel_requested(self, run_ids: list[str]) -> None:
        """In the reply thread (writer process) or the pump thread (thread writer)."""
        from uuid import UUID

        for run_id in run_ids:
            for callback in list(self._cancel_callbacks):
                try:
                    callback(UUID(run_id))
                except Exception as exc:  # a listener's bug must not stop the writer
                    logger.warning("A cancel request for flow run %s could not be delivered: %r",
                                   run_id, exc)

    @property
    def stats(self) -> Any:
        """The writer's `WriterStats` (records stored, batches, dropped, windows...)."""
        return self._remote_stats if self.mode == "process" else self._local_writer().stats

    @property
    def writer_pid(self) -> int | None:
        """The writer process's pid, once it runs (None when writing from a thread)."""
        return None if self._process is None else int(self._process.pid)

    # -- flushing and closing -----------------------------------------------------------------
    def flush(self, timeout: float | None = None) -> None:
        """Wait until every record emitted so far is stored, or waits in the writer's spill
        for a store that cannot be written.

        A store that is slow or locked does not hold the caller longer than `timeout`: the
        writer goes on in the background (and at exit), and the first such stall is reported
        with one warning.

        Args:
            timeout: the longest to wait, in seconds; None: `HEADWATER_FLUSH_TIMEOUT`.
        """
        limit = self.flush_timeout if timeout is None else timeout
        if self._wait_stored(limit):
            self._stalled = False
        elif not self._stalled:
            self._stalled = True
            logger.warning(
                "headwater's run store has not confirmed this run's records within %g s "
                "(HEADWATER_FLUSH_TIMEOUT): the store is slow or locked. Your flow returns now; "
                "its records are written in the background as soon as the store allows, and "
                "at exit. (Reported once per stall.)", limit,
            )

    def _wait_stored(self, timeout: float) -> bool:
        """Wait up to `timeout` until every record emitted so far is stored (or waits in the
        spill); whether it is."""
        if self._closed or not self._thread.is_alive():
            return True
        marker = _FlushMarker()
        self._queue.append(marker)
        self._wake.set()
        return marker.done.wait(timeout)

    def close(self, timeout: float | None = None) -> None:
        """Store what is queued, stop the writer and close the store."""
        if self._closed:
            return
        self._wait_stored(self.exit_timeout if timeout is None else timeout)
        self._closed = True
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout=5.0)
        if self._thread.is_alive():  # stuck writing to a stalled store: leave it be
            self._save_stuck()
            return
        process = self._process
        # A writer whose records wait for the store goes on trying in the background: it is
        # not waited for long (what it cannot store, it saves to a spill file and says so).
        waiting = self._remote_stats.waiting
        if process is not None and not process.close(timeout=1.0 if waiting else 10.0):
            with self._waiting_lock:
                pending = waiting + sum(len(items) for _, items in self._unacked)
            logger.warning(
                "headwater's run store writer process (pid %d) is still storing %d records; it "
                "goes on in the background and exits when it is done (if the store stays "
                "unavailable, after %d s, saving them to a spill file in %r).", process.pid,
                pending, EXIT_RETRY_SECONDS, str(spill_folder()),
            )
        if self._local is not None:
            self._local.close()

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

    def _at_exit(self) -> None:
        with contextlib.suppress(Exception):  # never turn a clean exit into a traceback
            self.close()

    def _after_fork_in_child(self) -> None:
        # Threads do not survive fork, and the parent's connections and writer process must
        # not be shared: the child starts with an empty queue and writers of its own; its
        # writer process only once it has something to write.
        self._process_lock.release()
        self._process_lock = threading.Lock()
        if self._closed:
            return
        if self._process is not None:
            self._process.abandon()
        self._eager = False
        self._start()

    # -- the pump thread ----------------------------------------------------------------------
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
            items: Items = []
            markers: list[_FlushMarker] = []
            append = items.append
            for _ in range(self.max_batch):
                try:
                    item = popleft()
                except IndexError:
                    break
                if item.__class__ is tuple:
                    append(item)
                elif item.__class__ is _FlushMarker:
                    markers.append(item)
                    break  # store what came before the marker, then release its waiter
                elif item.__class__ is _EncodeFailure:
                    self._local_writer().failed(item.exc, 1)
            if items or markers or heartbeat:
                try:
                    self._deliver(items, markers, heartbeat)
                except Exception as exc:  # a bug here must not leave a flush waiting forever
                    self._local_writer().failed(exc, len(items))
                    for marker in markers:
                        marker.done.set()
            heartbeat = False
            self._look_for_cancel_requests()
            if not queue:
                return

    def _deliver(self, items: Items, markers: list[_FlushMarker], heartbeat: bool) -> None:
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
                report=logger.log, spill_key=store_key(url) if isinstance(url, str) else None,
            )
        return self._local

    # -- the writer process -------------------------------------------------------------------
    def _send(self, items: Items, markers: list[_FlushMarker]) -> bool:
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
            self._process.send(number, items)
        except Exception:  # gone (OSError), or broken: write what it did not commit here
            self._process_lost = True
            self._fall_back()
        return True

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
                on_ack=self._acked, on_log=logger.log, on_exit=self._process_exited,
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
