"""The store sink: records go to a queue on the hot path, and into the run store from elsewhere.

`emit` turns a record into a compact wire tuple (`codec.py`) and appends it to a deque: a
few µs, lock-free, never blocks and never raises. A pump thread hands the tuples to a writer,
which folds them into rows and commits one transaction per batch window (`batch_seconds`,
default 0.2 s, `HEADWATER_STORE_BATCH_SECONDS`, at most 1 s):

- `writer="process"` (the default for a URL, `HEADWATER_STORE_WRITER`): a writer process
  started for this sink (`_writer_process.py`). The pump sends every `PUMP_SECONDS` (0.05 s);
  in a burst, the thread whose record makes the queue `HANDOFF_RECORDS` long sends it itself
  when the pipe has room for it (so the write never blocks). Folding and SQL run on another
  CPU, and what reached the pipe is committed even if this process is killed with `kill -9`.
  If the writer process cannot start or dies, the frames it had not committed are written
  from this process, which then writes as `writer="thread"`.
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

The pump thread is in `_pump.py`, the link to the writer process in `_process_link.py`.
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

from headwater.events._emit import make_emit
from headwater.events._process_link import HANDOFF_RECORDS, WriterProcessLink
from headwater.events._pump import PUMP_SECONDS, EncodeFailure, FlushMarker, Items, SinkPump
from headwater.events._spill import spill_folder
from headwater.events._writer_process import EXIT_RETRY_SECONDS
from headwater.events.base import EventSink
from headwater.events.records import FlowRunCreated

if TYPE_CHECKING:  # the flow's process never loads the store's classes to write through a process
    from headwater.store.base import RunStore
    from headwater.store.lean import BatchTarget

logger = logging.getLogger("headwater.store")
__all__ = ["PUMP_SECONDS", "Items", "StoreSink"]


class StoreSink(SinkPump, WriterProcessLink, EventSink):
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

            def open_url() -> BatchTarget:
                from headwater.store.urls import writer_store

                return writer_store(url)

            self._store_or_factory: RunStore | Callable[[], BatchTarget] = open_url
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
        # One entry per flush marker or encode failure put in the queue and not yet taken out
        # by the pump (added before the item itself): while it is empty, what is taken off the
        # queue is all wire tuples, and is sent without looking at each item.
        self._odd: deque[None] = deque()
        odd = self._odd.append

        def failure(exc: Exception) -> EncodeFailure:
            odd(None)
            return EncodeFailure(exc)

        self._send_lock = threading.Lock()
        # With a writer process, a long queue is sent by the thread that made it so (a burst's
        # records then never wait for the pump to be scheduled; see `_hand_off`).
        hand_off_at = HANDOFF_RECORDS if self.mode == "process" else 1 << 62
        # Each record is encoded in `emit`, while it is still in this CPU's cache, and freed at
        # once: cheaper in all than encoding it in the pump thread on another CPU.
        self.emit = make_emit(  # type: ignore[method-assign, assignment]
            self._queue, hand_off_at=hand_off_at, hand_off=self._hand_off,
            flow_run_created=self._flow_run_created, failure=failure,
        )
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
        self._waiting: dict[int, list[FlushMarker]] = {}
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
        marker = FlushMarker()
        self._odd.append(None)
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

