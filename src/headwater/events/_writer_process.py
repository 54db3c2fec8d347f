"""The writer process: folds and commits a flow process's records, on another CPU.

The store sink's pump thread sends frames of wire tuples down a pipe; this process folds them
into rows and commits them, one transaction a batch window, so the flow's process spends no
time on SQL and never waits on the database. It acknowledges every commit with the number of
the last frame it contains; the sink's `flush()` waits for that.

Lifetime: the process ends when its input reaches EOF, after committing everything it was
sent, whether the flow's process closed the pipe or died (even by `kill -9`: what reached the
pipe is still stored). It runs in its own session and ignores SIGINT, SIGTERM and SIGHUP, so
a Ctrl-C or a terminal hang-up aimed at the user's program does not cut it short.

Frames, both ways: a 4-byte big-endian length, then `marshal` bytes. Down: first the settings
(URL, batch seconds, heartbeat seconds, crash-after seconds), then (frame number, [wire
tuples]), or (frame number, [wire tuples], True) when a flush waits for it: committed without
waiting for more frames. Up: ("ready",) once it can write, ("ack", last frame committed,
stats, running flow run ids) after every commit, ("log", level, message), and ("cancel", [flow
run ids]) when the store says a flow run it records was asked to stop (it asks every
`_wire.CONTROL_SECONDS` while runs are running).
"""

from __future__ import annotations

import contextlib
import gc
import marshal
import os
import signal
import struct
import sys
import time
from typing import Any

from headwater.events import _wire

_HEADER = struct.Struct(">I")
MAX_BATCH = 20_000  # most records in one transaction
EXIT_RETRY_SECONDS = 60.0  # after its input closed, how long it tries to store what waits


def encode_frame(message: Any) -> bytes:
    body = marshal.dumps(message)
    return _HEADER.pack(len(body)) + body


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class FrameReader:
    """Splits what arrives on a file descriptor into frames."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = bytearray()
        self.eof = False

    def read(self, size: int = 1 << 20) -> list[Any]:
        """Read what is there (blocking until something is), and return the whole frames."""
        chunk = os.read(self.fd, size)
        if not chunk:
            self.eof = True
            return []
        self.buffer += chunk
        frames = []
        buffer = self.buffer
        start = 0
        while len(buffer) - start >= 4:
            (length,) = _HEADER.unpack_from(buffer, start)
            if len(buffer) - start - 4 < length:
                break
            frames.append(marshal.loads(bytes(buffer[start + 4 : start + 4 + length])))
            start += 4 + length
        del buffer[:start]
        return frames


class Inbox:
    """Frames from a file descriptor, read by a thread of their own as fast as they come.

    The pipe from the flow's process is emptied at once, whatever the store's pace: records
    wait here, where a `kill -9` of the flow's process cannot reach them, rather than in the
    flow's process behind a full pipe (a burst against a slower PostgreSQL).
    """

    def __init__(self, fd: int) -> None:
        import threading

        self._reader = FrameReader(fd)
        self._frames: list[Any] = []
        self._ready = threading.Condition()
        self.closed = False
        threading.Thread(target=self._run, name="headwater-writer-inbox", daemon=True).start()

    def _run(self) -> None:
        try:
            while not self._reader.eof:
                frames = self._reader.read()
                if frames:
                    with self._ready:
                        self._frames += frames
                        self._ready.notify()
        except (OSError, ValueError, EOFError, TypeError):
            pass  # a closed or garbled channel: the same as the end of input
        finally:
            with self._ready:
                self.closed = True
                self._ready.notify()

    @property
    def eof(self) -> bool:
        """Input ended, and every frame of it was taken."""
        return self.closed and not self._frames

    def wait(self, timeout: float | None) -> bool:
        """Wait up to `timeout` for frames (or the end); whether there is something to take."""
        with self._ready:
            if not self._frames and not self.closed:
                self._ready.wait(timeout)
            return bool(self._frames)

    def take(self, records: int = 1 << 62) -> list[Any]:
        """The oldest frames: all of them, or just enough to hold `records` records."""
        with self._ready:
            frames = self._frames
            count = taken = 0
            while taken < len(frames) and count < records:
                frame = frames[taken]
                # (number, items), (number, items, True) for a flush, or the settings
                count += len(frame[1]) if len(frame) < 4 else 1
                taken += 1
            self._frames = frames[taken:]
        return frames[:taken]


def main() -> int:
    """The writer process. Its first frame is its settings: (URL, batch seconds, heartbeat
    seconds, crash-after seconds); the URL comes this way, not as an argument, so a password
    in it never shows in `ps`."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    # The channel up is a private copy of stdout; stdout itself then points at stderr, so a
    # stray print() anywhere (a driver's warning, say) cannot corrupt the frames.
    out = os.dup(1)
    os.dup2(2, 1)

    from headwater.events._spill import store_key
    from headwater.events._writer import BatchWriter
    from headwater.store.urls import writer_store

    if not gc.isenabled():  # held off by `_BOOTSTRAP` while the modules above were imported
        gc.freeze()  # what they made lives as long as the process: never walked again
        gc.enable()
    parent_gone = False

    def send(message: Any) -> None:
        nonlocal parent_gone
        if parent_gone:
            return
        try:
            write_all(out, encode_frame(message))
        except OSError:  # the flow's process is gone: keep committing what it sent
            parent_gone = True

    def report(level: int, message: str) -> None:
        # Once the flow's process has closed our input it may exit any moment without reading
        # the channel up again (a writer still storing goes on alone): say it where the user's
        # program did, as when the channel is gone, so "is writing run history again" after
        # an outage is never lost on the way.
        if not parent_gone and not reader.closed:
            send(("log", level, message))
            if not parent_gone:
                return
        with contextlib.suppress(OSError):
            os.write(2, f"headwater: {message}\n".encode())

    reader = Inbox(0)
    frames: list[Any] = []
    while not frames and not reader.eof:
        reader.wait(None)
        frames = reader.take()
    if not frames:
        return 0
    url, batch_seconds, heartbeat_seconds, crash_after = frames.pop(0)
    writer = BatchWriter(lambda: writer_store(url), crash_after_seconds=crash_after, report=report,
                         spill_key=store_key(url), pause_gc=True)
    send(("ready",))
    pending: list[tuple[Any, ...]] = []
    last_frame = acked = 0
    first_at: float | None = None  # when the oldest uncommitted tuple arrived
    for frame in frames:  # what came with the settings
        last_frame = frame[0]
        pending += frame[1]
        first_at = first_at or time.monotonic()
    if not frames and not reader.wait(0):
        # Nothing to write yet: open the store now (import its driver, connect, take over
        # spill files, mark runs silent too long Crashed), while the flow's process still runs,
        # instead of when its first records come. What fails here fails again there, and is
        # handled there as it always was.
        with contextlib.suppress(Exception):
            writer.open()
    last_heartbeat = last_control = time.monotonic()
    while True:
        # Wait for frames (or a heartbeat, or the next look for cancel requests); then take
        # everything already in the pipe, and commit it at once: while this process keeps up, a
        # batch is what arrived since the last commit, so a flush rarely waits for more than one
        # small transaction.
        due = last_heartbeat + heartbeat_seconds
        if writer.running_flows:
            due = min(due, last_control + _wire.CONTROL_SECONDS)
        if writer.retry_at is not None:  # records wait for the store
            due = min(due, writer.retry_at)
        wait = 0.0 if pending else max(0.0, due - time.monotonic())
        while reader.wait(wait):
            flush = False
            for frame in reader.take(MAX_BATCH - len(pending)):
                last_frame, items = frame[0], frame[1]
                pending += items
                flush = flush or len(frame) == 3  # someone waits for it: commit now
                if first_at is None and items:
                    first_at = time.monotonic()
            if flush or len(pending) >= MAX_BATCH:
                break
            # More may be on its way: wait briefly, never past the batch window.
            wait = 0.0 if first_at is None else min(
                0.002, max(0.0, first_at + batch_seconds - time.monotonic())
            )
        now = time.monotonic()
        heartbeat = now - last_heartbeat >= heartbeat_seconds
        if heartbeat:
            last_heartbeat = now
        if writer.retry_at is not None and not pending:
            writer.retry(due_only=True)
        if pending or heartbeat or reader.eof or last_frame != acked:
            writer.write(pending, heartbeat=heartbeat)
            pending, first_at = [], None
            send(("ack", last_frame, writer.stats.as_tuple(), tuple(writer.running_flows)))
            acked = last_frame
        if writer.running_flows and now - last_control >= _wire.CONTROL_SECONDS:
            last_control = now
            cancelled = writer.cancel_requests()
            if cancelled:
                send(("cancel", cancelled))
        if reader.eof:
            break
    # Nobody waits for this process any more: keep trying to store what waits, a while.
    give_up = time.monotonic() + EXIT_RETRY_SECONDS
    while (writer.waiting and writer.retry_at is not None and not writer.misconfigured
           and time.monotonic() < give_up):
        time.sleep(max(0.0, min(writer.retry_at, give_up) - time.monotonic()))
        writer.retry(due_only=True)
    writer.close()
    return 0



# -- the flow process's end -------------------------------------------------------------------
# The working folder is taken off the path, so a user's `select.py` there cannot shadow a module
# the writer needs. The package is this process's (at `root`), registered without running its
# `__init__`: that registers the engine for flows, which a writer never runs (it would cost the
# writer's start ~30 ms of imports). At the end, the writer leaves without tearing its modules
# down: it has closed its store, and nothing else of it needs an orderly end. The cyclic garbage
# collector is held off while it starts (`main` turns it on once its modules are imported): the
# objects imports make are never garbage, and walking them all is 4% of a writer's start.
_BOOTSTRAP = (
    "import gc; gc.disable(); "
    "import os, sys; sys.path[:] = [p for p in sys.path if p not in ('', '.')]; "
    "root = sys.argv[1]; package = type(sys)('headwater'); "
    "package.__path__ = [os.path.join(root, 'headwater')]; sys.modules['headwater'] = package; "
    "from headwater.events._writer_process import main; code = main(); "
    "sys.stdout.flush(); sys.stderr.flush(); os._exit(code)"
)
_ABANDONED: list[Any] = []  # a forked child's copies of its parent's writer processes
_F_SETPIPE_SZ = 1031  # Linux: grow a pipe's buffer, so bursts rarely block the pump thread
_F_GETPIPE_SZ = 1032


class WriterProcess:
    """A writer process started for one store sink, and the thread reading its replies.

    Args:
        url: the run store's URL.
        batch_seconds, heartbeat_seconds, crash_after_seconds: the sink's settings.
        on_ack: called with (last frame committed, writer stats) after every commit.
        on_log: called with (level, message) for what the writer reports.
        on_exit: called once its output closes (it exited, or died).
        on_cancel: called with the ids of flow runs the store says were asked to stop.

    Raises:
        OSError: the process could not be started.
    """

    def __init__(
        self,
        url: str,
        *,
        batch_seconds: float,
        heartbeat_seconds: float,
        crash_after_seconds: float,
        on_ack: Any,
        on_log: Any,
        on_exit: Any,
        on_cancel: Any = None,
    ) -> None:
        import subprocess
        import threading

        if not sys.executable:
            raise OSError("this interpreter does not know its own executable (sys.executable)")
        # The same headwater as this process (see `_BOOTSTRAP`): the folder above the package,
        # as `Path(__file__).resolve().parents[2]` (without loading `pathlib` first).
        package_root = os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.realpath(__file__))))
        self.started = time.monotonic()
        self.ready = False
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _BOOTSTRAP, package_root],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0, start_new_session=True,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._in = self.proc.stdin
        self._out = self.proc.stdout
        self.capacity = self._grow_pipe()  # bytes the pipe holds (0: not known)
        try:
            write_all(self._in.fileno(), encode_frame(
                (url, batch_seconds, heartbeat_seconds, crash_after_seconds)
            ))
        except OSError:  # it died at once: reap it, and let the sink write from a thread
            self.proc.kill()
            self.proc.wait()
            self._in.close()
            self._out.close()
            raise
        self.on_ack, self.on_log, self.on_exit = on_ack, on_log, on_exit
        self.on_cancel = on_cancel
        self._reader = threading.Thread(
            target=self._read, name="headwater-store-writer-replies", daemon=True
        )
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _grow_pipe(self) -> int:
        """Grow the pipe's buffer (Linux); its size, or 0 where it cannot be known."""
        if not sys.platform.startswith("linux"):
            return 0
        import fcntl

        # Above the system's limit it fails: the default buffer works, just blocks sooner.
        with contextlib.suppress(OSError):
            fcntl.fcntl(self._in.fileno(), _F_SETPIPE_SZ, 1 << 20)
        try:
            return int(fcntl.fcntl(self._in.fileno(), _F_GETPIPE_SZ))
        except OSError:
            return 0

    def room(self) -> int:
        """Bytes the pipe takes now without blocking (0 where that cannot be known)."""
        if not self.capacity:
            return 0
        import fcntl
        import termios

        try:
            queued = struct.unpack("i", fcntl.ioctl(self._in.fileno(), termios.FIONREAD,
                                                    b"\0\0\0\0"))[0]
        except OSError:
            return 0
        return max(0, self.capacity - int(queued))

    def send(self, number: int, items: list[tuple[Any, ...]], *, room: int | None = None,
             flush: bool = False) -> bool:
        """Send one frame; with `room`, only if it fits in that many bytes (then the write
        cannot block); with `flush`, the writer commits it without waiting for more. Whether
        it was sent. Raises OSError when the process is gone."""
        frame: tuple[Any, ...] = (number, items, True) if flush else (number, items)
        try:
            body = marshal.dumps(frame)
        except ValueError:
            body = marshal.dumps((*frame[:1], _wire.marshallable(items), *frame[2:]))
        if room is not None and len(body) + _HEADER.size > room:
            return False
        write_all(self._in.fileno(), _HEADER.pack(len(body)) + body)
        return True

    def _read(self) -> None:
        reader = FrameReader(self._out.fileno())
        try:
            while not reader.eof:
                for message in reader.read():
                    kind = message[0]
                    if kind == "ack":
                        self.on_ack(*message[1:])
                    elif kind == "log":
                        self.on_log(*message[1:])
                    elif kind == "cancel" and self.on_cancel is not None:
                        self.on_cancel(message[1])
                    elif kind == "ready":
                        self.ready = True
        except (OSError, ValueError, EOFError, TypeError):
            pass  # a closed or garbled channel: treated as the process being gone
        finally:
            self.on_exit()

    def close(self, timeout: float = 10.0, *, kill: bool = False) -> bool:
        """Close its input (it commits what it has and exits), and wait up to `timeout` for it.

        Returns whether it exited. One still busy is left to finish in the background, or,
        with `kill`, killed.
        """
        import subprocess

        with contextlib.suppress(OSError):
            self._in.close()
        deadline = time.monotonic() + timeout
        # Its replies end when it exits: waiting for their end wakes at once, where waiting for
        # the process alone polls it in growing steps (a few ms lost at every exit).
        self._reader.join(timeout)
        try:
            self.proc.wait(max(0.05, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            if not kill:
                _ABANDONED.append(self.proc)
                return False
            self.proc.kill()
            self.proc.wait()
        self._reader.join(timeout)
        self._out.close()
        return True

    def abandon(self) -> None:
        """In a forked child: let go of the parent's writer without touching it."""
        for stream in (self._in, self._out):
            with contextlib.suppress(OSError):
                stream.close()
        _ABANDONED.append(self.proc)  # not ours to wait for; kept so it is never collected
