"""The writer process: it commits a flow process's records on another CPU, survives what
the flow's process does not, and when it is gone the sink writes from its own process."""

from __future__ import annotations

import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from headwater import flow, task
from headwater.engine.runtime import use_sink
from headwater.events.records import LogEmitted
from headwater.events.store import StoreSink
from headwater.runtime import flow_run
from headwater.store import sql_store
from headwater.store.sql import SqlRunStore
from tests.store.processes import env_for, flow_runs, start, wait_until

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX processes and signals")
NEVER = 60.0  # only stops a hang


@task
def double(x: int) -> int:
    return 2 * x


@flow
def pipeline(n: int = 3) -> int:
    return sum(double(i) for i in range(n))


@pytest.fixture
def store(sqlite_url: str) -> Iterator[SqlRunStore]:
    made = sql_store(sqlite_url)
    yield made
    made.close()


def _task_count(store: SqlRunStore) -> int:
    return sum(len(store.read_task_runs(run.id)) for run in store.read_flow_runs())


def test_records_are_committed_by_a_process_of_their_own(store: SqlRunStore) -> None:
    sink = StoreSink(store.url, writer="process", batch_seconds=0.05)
    with use_sink(sink):
        assert pipeline(5) == 20

    assert sink.writer_pid is not None and sink.writer_pid != os.getpid()
    assert [run.state_name for run in store.read_flow_runs()] == ["Completed"]
    assert _task_count(store) == 5
    sink.close()
    assert sink._process.proc.returncode == 0


def test_a_writer_process_that_is_killed_loses_nothing_and_the_sink_writes_itself(
    store: SqlRunStore, caplog: pytest.LogCaptureFixture
) -> None:
    sink = StoreSink(store.url, writer="process", batch_seconds=0.05)
    with caplog.at_level(logging.ERROR, logger="headwater.store"), use_sink(sink):
        pipeline(2)
        pid = sink.writer_pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: sink._process_lost)
        pipeline(3)  # its records are written from this process

    [error] = [r.getMessage() for r in caplog.records if r.name == "headwater.store"]
    assert f"pid {pid}" in error and "stopped unexpectedly" in error
    assert sink.mode == "thread"
    assert sorted(run.state_name for run in store.read_flow_runs()) == ["Completed"] * 2
    assert _task_count(store) == 5
    sink.close()


def test_frames_a_writer_process_never_committed_are_written_by_the_sink(
    store: SqlRunStore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A "python" that exits at once: every frame sent to it is lost with it, unacknowledged.
    monkeypatch.setattr(sys, "executable", "/bin/false")
    sink = StoreSink(store.url, writer="process", batch_seconds=0.05)
    with caplog.at_level(logging.WARNING, logger="headwater.store"), use_sink(sink):
        for n in range(1, 4):
            pipeline(n)
    sink.close()

    assert sink.mode == "thread"
    # It died before or after taking its settings: either way, said once, nothing lost.
    [message] = [r.getMessage() for r in caplog.records if r.name == "headwater.store"]
    assert "writer process" in message
    assert len(store.read_flow_runs()) == 3
    assert _task_count(store) == 1 + 2 + 3


def test_a_writer_process_that_cannot_start_leaves_the_writing_to_a_thread(
    store: SqlRunStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))
    sink = StoreSink(store.url, writer="process", batch_seconds=0.05)
    with caplog.at_level(logging.WARNING, logger="headwater.store"), use_sink(sink):
        pipeline(2)
    sink.close()

    [warning] = [r.getMessage() for r in caplog.records if r.name == "headwater.store"]
    assert "could not start its run store writer process" in warning
    assert "HEADWATER_STORE_WRITER=thread" in warning
    assert sink.mode == "thread" and sink.writer_pid is None
    assert _task_count(store) == 2


def test_a_writer_process_that_never_says_it_is_ready_is_given_up_on(
    store: SqlRunStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Not a Python at all: it takes its input and sits there (as a frozen app might).
    silent = tmp_path / "silent"
    silent.write_text("#!/bin/sh\nexec sleep 60\n")
    silent.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(silent))
    sink = StoreSink(store.url, writer="process", batch_seconds=0.05, start_timeout=0.5)
    with caplog.at_level(logging.ERROR, logger="headwater.store"), use_sink(sink):
        pipeline(2)
    sink.close()

    [error] = [r.getMessage() for r in caplog.records if r.name == "headwater.store"]
    assert "writer process" in error
    assert sink.mode == "thread"
    assert _task_count(store) == 2


def test_running_flow_runs_keep_their_heartbeats_when_the_writer_process_dies(
    store: SqlRunStore,
) -> None:
    sink = StoreSink(store.url, writer="process", batch_seconds=0.05, heartbeat_seconds=0.05)
    beats: list[float] = []

    def heartbeat() -> float | None:
        runs = [run for run in store.read_flow_runs() if str(run.id) == str(flow_run.id)]
        return runs[0].heartbeat if runs else None

    @flow
    def long_running() -> None:
        first = wait_until(heartbeat, timeout=20)
        os.kill(sink.writer_pid or 0, signal.SIGKILL)
        wait_until(lambda: sink.mode == "thread", timeout=20)
        beats.append(first)
        beats.append(wait_until(lambda: (heartbeat() or 0) > first + 0.1, timeout=20))

    with use_sink(sink):
        long_running()
    sink.close()

    assert len(beats) == 2


def test_a_writer_process_needs_a_url() -> None:
    with pytest.raises(ValueError, match="writer='process' with a database URL"):
        StoreSink(lambda: sql_store("sqlite://"), writer="process")


def test_text_of_a_str_subclass_is_stored_as_plain_text(store: SqlRunStore) -> None:
    class Text(str):
        pass

    sink = StoreSink(store.url, writer="process", batch_seconds=0.05)
    with use_sink(sink):
        pipeline(1)
        [run] = store.read_flow_runs()
        sink.emit(LogEmitted(run.id, None, "probe", 20, "plain", time.time()))
        sink.emit(LogEmitted(run.id, None, Text("odd"), 20, "odd logger", time.time()))
        sink.flush()
    sink.close()

    messages = [line.message for line in store.read_logs(run.id)]
    assert "plain" in messages and "odd logger" in messages  # str() made it a plain str


BURST_THEN_KILLED = """
    import os, signal, time
    from headwater import flow, task

    @task
    def inc(x: int) -> int:
        return x + 1

    @flow
    def burst(n: int) -> None:
        for i in range(n):
            inc(i)
        time.sleep(0.5)  # the pump sends within 0.05 s; the writer commits only every 1 s
        os.kill(os.getpid(), signal.SIGKILL)

    burst(2000)
"""


def test_after_kill_9_the_writer_process_commits_everything_it_was_sent(
    sqlite_url: str,
) -> None:
    proc = start(BURST_THEN_KILLED, sqlite_url, HEADWATER_STORE_BATCH_SECONDS="1.0",
                 HEADWATER_LOGGING_LEVEL="WARNING")
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL

    def stored() -> int:
        with closing(sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))) as conn:
            return int(conn.execute(
                "SELECT count(*) FROM task_runs WHERE state_name = 'Completed'"
            ).fetchone()[0])

    assert wait_until(lambda: stored() == 2000, timeout=30)
    [run] = flow_runs(sqlite_url)
    assert run.state_name == "Running"  # until crash detection marks it (tests/store)


BURST_WITHOUT_THE_PUMP = """
    import os, signal, time
    from headwater import flow, task
    from headwater.engine.runtime import current_sink
    from headwater.events import _pump

    _pump.PUMP_SECONDS = 3600.0  # the pump sends only every HEADWATER_STORE_BATCH_SECONDS
    sink = current_sink()
    while sink._process is None or not sink._process.ready:
        time.sleep(0.01)

    @task
    def inc(x: int) -> int:
        return x + 1

    @flow
    def burst(n: int) -> None:
        for i in range(n):
            inc(i)
        os.kill(os.getpid(), signal.SIGKILL)

    burst(2000)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a pipe's free room: Linux")
def test_in_a_burst_the_flow_thread_hands_records_to_the_writer_process_without_the_pump(
    sqlite_url: str,
) -> None:
    from headwater.events._process_link import HANDOFF_RECORDS

    # A pump that would send only a second after the burst, and a burst small enough for the
    # pipe to hold it all: what the writer process gets, the flow's thread sent itself
    proc = start(BURST_WITHOUT_THE_PUMP, sqlite_url, HEADWATER_STORE_BATCH_SECONDS="1.0",
                 HEADWATER_LOGGING_LEVEL="WARNING")
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL

    def stored() -> int:
        with closing(sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))) as conn:
            try:
                return int(conn.execute("SELECT count(*) FROM task_runs").fetchone()[0])
            except sqlite3.OperationalError:  # no tables yet
                return 0

    # At most the last HANDOFF_RECORDS records (a task run makes several) were still queued
    assert wait_until(lambda: stored() > 2000 - HANDOFF_RECORDS // 2, timeout=30)


LONG_FLOW = """
    import time
    from headwater import flow

    @flow
    def waits() -> None:
        time.sleep(60)

    waits()
"""


def test_ctrl_c_sent_to_the_whole_process_group_still_stores_the_run_crashed(
    sqlite_url: str,
) -> None:
    # A terminal's Ctrl-C reaches every process of the foreground group; the writer process
    # is in a session of its own, so it is still there to commit the Crashed state.
    proc = subprocess.Popen(
        [sys.executable, "-c", LONG_FLOW.replace("\n    ", "\n")],
        env=env_for(sqlite_url, HEADWATER_STORE_BATCH_SECONDS="0.02"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    wait_until(lambda: [r for r in flow_runs(sqlite_url) if r.state_name == "Running"])

    os.killpg(proc.pid, signal.SIGINT)
    proc.communicate(timeout=60)

    [run] = flow_runs(sqlite_url)
    assert run.state_name == "Crashed"


FORKS = """
    import json, os, sys
    from headwater import flow
    from headwater.engine.runtime import current_sink

    @flow
    def where(side: str) -> int:
        return os.getpid()

    where("parent")
    pid = os.fork()
    if pid == 0:
        where("child")
        sys.exit(0)  # runs atexit: the child's sink flushes through its own writer process
    _, status = os.waitpid(pid, 0)
    where("parent-again")
    print(json.dumps({"status": status}))
"""


def test_a_forked_process_records_through_a_writer_of_its_own(sqlite_url: str) -> None:
    proc = start(FORKS, sqlite_url, HEADWATER_LOGGING_LEVEL="WARNING")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert json.loads(out.strip().splitlines()[-1]) == {"status": 0}

    runs = flow_runs(sqlite_url)
    assert sorted(r.parameters["side"] for r in runs) == ["child", "parent", "parent-again"]
    assert {r.state_name for r in runs} == {"Completed"}


PROBE_IMPORTS = """
    import json, sys
    from headwater import flow, task

    @task
    def inc(x: int) -> int:
        return x + 1

    @flow
    def small() -> int:
        return inc(1)

    small()
    print(json.dumps(sorted(m for m in ("sqlalchemy", "alembic") if m in sys.modules)))
"""


def test_with_the_writer_process_a_flow_process_never_loads_sqlalchemy(sqlite_url: str) -> None:
    proc = start(PROBE_IMPORTS, sqlite_url, HEADWATER_LOGGING_LEVEL="WARNING")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert json.loads(out.strip().splitlines()[-1]) == []
    assert [r.state_name for r in flow_runs(sqlite_url)] == ["Completed"]


def test_the_inbox_hands_out_flush_frames_whole_and_counts_their_records() -> None:
    from headwater.events._writer_process import Inbox, encode_frame, write_all

    read_end, write_end = os.pipe()
    inbox = Inbox(read_end)
    frames = [("url", 0.2, 5.0, 30.0), (1, [(0, "a"), (0, "b")]), (2, [(0, "c")], True),
              (3, [(0, "d"), (0, "e")])]
    for frame in frames:
        write_all(write_end, encode_frame(frame))
    os.close(write_end)
    taken: list[object] = []
    while not inbox.eof:
        if inbox.wait(NEVER):
            taken.append(inbox.take(records=3))  # the settings count 1, a frame its records
    assert [frame for batch in taken for frame in batch] == frames  # nothing lost or split
    # each take stops once it holds 3 records (the settings count as one)
    counts = [sum(len(f[1]) if len(f) < 4 else 1 for f in batch[:-1]) for batch in taken]
    assert all(count < 3 for count in counts)
    os.close(read_end)


def test_a_flow_s_records_are_stored_when_it_returns_through_its_flush_frame(
    store: SqlRunStore,
) -> None:
    # The flow's end sends its last records as a flush frame (number, items, True), which the
    # writer commits without waiting for more; the longest batch window changes nothing.
    sink = StoreSink(store.url, writer="process", batch_seconds=1.0)
    with use_sink(sink):
        assert pipeline(4) == 12
        assert [run.state_name for run in store.read_flow_runs()] == ["Completed"]
        assert _task_count(store) == 4
    sink.close()
