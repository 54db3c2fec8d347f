"""The batch writer: wire tuples in, one transaction per batch out, heartbeats, failures once.

One implementation for both places a store sink writes from: its own thread (`writer="thread"`)
and the writer process (`_writer_process.py`). It opens the store lazily, marks Crashed the
runs of dead processes when it first opens it, and never raises.

A batch the store refuses is never dropped: it waits in a bounded spill (`_spill.py`), with
every later batch behind it, and is written again, as a replay (`store/replay.py`), after a
pause that grows from `RETRY_FIRST_SECONDS` to `RETRY_MAX_SECONDS` while the outage lasts. The
outage is reported once through `report` (what failed, where the records wait), and its end
once more. Records are lost only if the spill's bounds are reached: then their count is
reported, and stored as a log line of each flow run they belonged to.
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from headwater.events import _spill, codec
from headwater.events._rows import BatchBuilder
from headwater.events._writer_stats import WriterStats
from headwater.events.codec import stamp
from headwater.events.records import LogEmitted

if TYPE_CHECKING:
    from headwater.store.base import RunStore
    from headwater.store.lean import BatchTarget

# `logging`'s levels, for `report`: the writer process never logs itself, and does without the
# module (its import is a good part of a small writer's start).
WARNING, ERROR = 30, 40
RETRY_FIRST_SECONDS = 0.05
RETRY_MAX_SECONDS = 5.0
Report = Callable[[int, str], None]  # (logging level, message)
Items = list[tuple[Any, ...]]


class BatchWriter:
    """Writes batches of wire tuples to a run store.

    Args:
        store: the store, or a function that makes it (called on the first write).
        crash_after_seconds: on opening, flow runs silent this long are marked Crashed.
        report: called with (level, message) for the one error of an outage and for the
            warning when writing works again.
        spill_key: names this store's spill files (`_spill.store_key(url)`); None keeps
            waiting records in memory only.
        pause_gc: hold the cyclic garbage collector off while a batch is folded and written
            (it runs when the batch is done). Only for a process that does nothing else (the
            writer process): the switch is process-wide.
    """

    def __init__(
        self,
        store: RunStore | Callable[[], BatchTarget],
        *,
        crash_after_seconds: float,
        report: Report,
        spill_key: str | None = None,
        pause_gc: bool = False,
    ) -> None:
        self._store_or_factory = store
        self.pause_gc = pause_gc
        self.store: BatchTarget | None = None if callable(store) else store
        self.crash_after_seconds = crash_after_seconds
        self.report = report
        self.stats = WriterStats()
        self.running_flows: set[str] = set()
        self._cancels_seen: set[str] = set()
        self._reported = False  # the outage (or a bug) was reported
        self.spill = _spill.Spill(spill_key or "memory")
        self.spill.file_failed = spill_key is None
        self._spill_key = spill_key
        self.retry_at: float | None = None  # when to write the spill again (monotonic)
        self.misconfigured = False  # the store's configuration failed (see _outage)
        self._pause = RETRY_FIRST_SECONDS
        self._lost_reported = 0
        self._outage_error = ""

    @property
    def waiting(self) -> int:
        """Records waiting in the spill for the store."""
        return len(self.spill)

    def write(
        self, items: Items, *, heartbeat: bool = False, replay: bool = False
    ) -> None:
        """Fold `items` into one batch and commit it, with heartbeats for the running flow
        runs when `heartbeat` is set; if records are waiting, `items` wait behind them. Never
        raises.

        Args:
            replay: the items may have been committed already (by a writer process that died
                before saying so): what the store holds already is left out.
        """
        # Every row of a batch is a new container object that lives until the batch is
        # written: the collector, run every 700 of them, would walk them all again and again
        # for nothing (they make no cycles), about a tenth of the work of writing them.
        paused = self.pause_gc and gc.isenabled()
        if paused:
            gc.disable()
        try:
            if len(self.spill) or self.retry_at is not None:
                self._put(items, replay)
                self.retry(due_only=True)
                return
            if self._commit(items, heartbeat=heartbeat, replay=replay) is False:
                self._put(items, True)  # it may have committed: written again as a replay
        except Exception as exc:  # the writer must outlive any bug: flushes wait on it
            self.failed(exc, len(items))
        finally:
            if paused:
                gc.enable()

    def _put(self, items: Items, replay: bool) -> None:
        # A replay marker travels as the first tuple of its frame: frames may go to a file.
        if items:
            self.spill.put([_spill.REPLAY, *items] if replay else items)
        self._note_waiting()

    def retry(self, *, due_only: bool = False) -> bool:
        """Write what waits in the spill, oldest first, while the store takes it.

        Args:
            due_only: only if the pause after the last failure is over.

        Returns:
            Whether nothing waits any more.
        """
        if due_only and self.retry_at is not None and time.monotonic() < self.retry_at:
            return False
        spill = self.spill
        while True:
            items = spill.peek()
            if items is None:
                break
            replay = bool(items) and items[0] == _spill.REPLAY
            if self._commit(items[1:] if replay else items, replay=True) is False:
                self._note_waiting()
                return False
            spill.pop()
        self._recovered()
        return True

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
        """Write the spill at the next batch, even within the pause after a failure."""
        if self.retry_at is not None:
            self.retry_at = time.monotonic()

    def _fold(self, items: Items) -> BatchBuilder:
        builder = BatchBuilder(self.running_flows)
        try:
            builder.add_wire(items)
        except Exception:  # a tuple we cannot fold must not cost the others their rows
            builder = BatchBuilder(self.running_flows)
            for item in items:
                try:
                    builder.add_wire((item,))
                except Exception as exc:
                    self.failed(exc, 1)
        return builder

    def _commit(self, items: Items, *, heartbeat: bool = False, replay: bool = False
                ) -> bool | None:
        """Commit `items`: True if done, False if the store failed (nothing else happens
        then), None if there was nothing to write."""
        builder = self._fold(items)
        heartbeats = tuple(self.running_flows) if heartbeat else ()
        if not (builder.count or heartbeats):
            return None
        stats = self.stats
        try:
            store = self._open()
            started = time.monotonic()
            store.write_batch(builder.build(heartbeats=heartbeats, now=time.time(),
                                            replay=replay))
        except Exception as exc:
            self._outage(exc)
            return False
        done = time.monotonic()
        stats.records += builder.count
        stats.batches += 1
        stats.max_write = max(stats.max_write, done - started)
        oldest = _oldest(items)
        if oldest is not None:  # items are in order: the batch's first record waited longest
            stats.max_window = max(stats.max_window, time.time() - oldest)
        return True

    def open(self) -> None:
        """Open the store before the first write needs it (see `_open`).

        Raises:
            Exception: what opening it raised (a write would then try again).
        """
        self._open()

    def _open(self) -> BatchTarget:
        store = self.store
        if store is None:
            factory = self._store_or_factory
            assert callable(factory)
            store = factory()
            try:
                # Records that waited in spill files first: a run whose final state waited
                # there must not be marked Crashed for the silence.
                self._take_over(store)
                now = time.time()
                store.mark_crashed(heartbeat_before=now - self.crash_after_seconds, now=now)
            except BaseException:
                store.close()
                raise
            self.store = store
        return store

    def _take_over(self, store: BatchTarget) -> None:
        """Write the records left in spill files for this store by writers that are gone
        (older than anything this writer has); what the store refuses waits in the spill."""
        if self._spill_key is None:
            return
        found = 0
        for items in _spill.take_over(self._spill_key):
            found += len(items)
            if len(self.spill) == 0:
                replay = bool(items) and items[0] == _spill.REPLAY
                builder = self._fold(items[1:] if replay else items)
                try:
                    store.write_batch(builder.build(now=time.time(), replay=True))
                    self.stats.records += builder.count
                    continue
                except Exception as exc:
                    self._outage(exc)
            self.spill.put(items)
        if found:
            self.report(WARNING, (
                f"headwater found {found} records of earlier runs that waited in a spill file "
                f"for this run store; they are written now."
            ))

    def _outage(self, exc: BaseException) -> None:
        """A write failed: pause before the next attempt, longer each time; report once."""
        self.stats.failures += 1
        now = time.monotonic()
        self._pause = (RETRY_FIRST_SECONDS if self.retry_at is None
                       else min(self._pause * 2, RETRY_MAX_SECONDS))
        self.retry_at = now + self._pause
        self._outage_error = str(exc)
        from headwater.errors import StoreConfigurationError, StoreCorruptError

        if isinstance(exc, (StoreConfigurationError, StoreCorruptError)):
            self.misconfigured = True  # no retry heals it: at exit, save what waits at once
        if self._reported:
            return
        self._reported = True
        url = getattr(exc, "url", "") or getattr(self.store, "display_url", "")
        if self.misconfigured:
            self.report(ERROR, (
                f"headwater cannot write run history: {exc} Your flows keep running; their "
                f"records are kept, and saved in {str(_spill.spill_folder())!r} when this "
                f"process ends. (This error is reported once.)"
            ))
            return
        folder = "" if self.spill.file_failed else f", then in {str(_spill.spill_folder())!r}"
        self.report(ERROR, (
            f"headwater could not write run history{f' to {url!r}' if url else ''}: {exc} "
            f"Your flows keep running. Their records wait in memory (up to "
            f"{self.spill.memory_limit:,}{folder}) and are written, in order, as soon as the "
            f"store can be written again; headwater tries again every few seconds. (This "
            f"error is reported once.)"
        ))

    def _note_waiting(self) -> None:
        self.stats.waiting = len(self.spill)
        lost = self.spill.lost
        if lost > self._lost_reported:
            self.stats.dropped += lost - self._lost_reported
            if not self._lost_reported:
                self.report(ERROR, (
                    f"headwater's spill for run history is full (the run store has been "
                    f"failing: {self._outage_error}); {lost} records were lost so far. Their "
                    f"count is stored with their flow runs when the store is back."
                ))
            self._lost_reported = lost

    def _recovered(self) -> None:
        if self.retry_at is None:
            return
        self.retry_at = None
        self._pause = RETRY_FIRST_SECONDS
        self.stats.waiting = 0
        lost = self.spill.lost
        if lost:
            self._store_loss(lost)
        self.report(WARNING, (
            f"headwater is writing run history again; the records that waited are stored"
            f"{f', except {lost} lost when the spill was full' if lost else ''}."
        ))
        self._reported = False

    def _store_loss(self, lost: int) -> None:
        flows = self.spill.lost_flows
        self.spill.lost, self.spill.lost_flows, self._lost_reported = 0, set(), 0
        now = time.time()
        message = (f"headwater lost {lost} records of runs (this one among them) while the run "
                   f"store could not be written and its spill was full.")
        encode = codec.ENCODERS[LogEmitted]
        from uuid import UUID

        items: Items = [encode(LogEmitted(UUID(int=flow), None, "headwater.store", ERROR,
                                          message, now)) for flow in sorted(flows)]
        if items:
            self._commit(items)

    def failed(self, exc: BaseException, count: int) -> None:
        """Count records lost to a bug (a record that cannot be encoded); report the first."""
        self.stats.failures += 1
        self.stats.dropped += count
        if self._reported:
            return
        self._reported = True
        self.report(ERROR, (
            f"headwater could not record {count} run history record(s): "
            f"{type(exc).__name__}: {exc}. Your flows keep running. This is a bug in "
            f"headwater; please report it with this message. (This error is reported once.)"
        ))

    def close(self, *, save: bool = True) -> None:
        """Close the store; what still waits is saved to a spill file (and said where)."""
        if len(self.spill) and save:
            self.retry()
        if len(self.spill) and save:
            count = len(self.spill)
            path = self.spill.save()
            if path is not None and self.misconfigured:  # no writer opens this store again
                self.report(WARNING, (
                    f"headwater could not write {count} records of run history before "
                    f"stopping ({self._outage_error}); they are saved in {str(path)!r}. Once "
                    f"HEADWATER_DATABASE_URL names your run store, write them into it with: "
                    f"headwater db recover {_quoted(path)}"
                ))
            elif path is not None:  # a warning: the outage itself was the one error
                self.report(WARNING, (
                    f"headwater could not write {count} records of run history before "
                    f"stopping ({self._outage_error}); they wait in {str(path)!r} and are "
                    f"written the next time headwater opens this run store."
                ))
            else:
                self._note_waiting()
        if self.store is not None:
            with contextlib.suppress(Exception):
                self.store.close()


def _quoted(path: object) -> str:
    import shlex

    return shlex.quote(str(path))


def _oldest(items: list[tuple[Any, ...]]) -> float | None:
    for item in items:
        found = stamp(item)
        if found is not None:
            return found
    return None
