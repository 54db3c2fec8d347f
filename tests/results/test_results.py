"""Persisted results: serializers, storages, records that survive crashes and concurrency."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from headwater import flow, task
from headwater.cache_policies import INPUTS
from headwater.errors import OptionError, SerializationError
from headwater.results import (
    FileSystemLockManager,
    FsspecStorage,
    JSONSerializer,
    LocalFileStorage,
    MemoryLockManager,
    PickleSerializer,
    ResultRecord,
    ResultStore,
)
from headwater.results.serializers import get_serializer
from headwater.results.storage import get_storage


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HEADWATER_HOME", str(tmp_path))
    return tmp_path


# -- serializers and records ---------------------------------------------------------------------
def test_pickle_and_json_round_trip_through_a_record() -> None:
    for serializer, value in ((PickleSerializer(), {"a": {1, 2}}), (JSONSerializer(), [1, "x"])):
        record = ResultRecord.build("k", value, serializer, None)
        again = ResultRecord.from_bytes(record.to_bytes())
        assert again.value() == value and again.serializer == serializer.type


def test_a_record_names_its_serializer_so_any_reader_can_load_it() -> None:
    data = ResultRecord.build("k", [1, 2], JSONSerializer(), None).to_bytes()
    meta = json.loads(data)["metadata"]
    assert meta["serializer"] == {"type": "json"} and meta["storage_key"] == "k"


def test_json_refuses_values_it_cannot_express_with_a_clear_error() -> None:
    with pytest.raises(SerializationError, match="result_serializer='pickle'"):
        JSONSerializer().dumps({1, 2})


def test_unknown_serializer_names_and_storages_are_rejected() -> None:
    with pytest.raises(OptionError, match="'pickle'"):
        get_serializer("yaml")
    with pytest.raises(OptionError, match="fsspec URL"):
        get_storage(42)


def test_a_json_serialized_task_result_is_readable_json_on_disk(home: Path) -> None:
    @task(cache_policy=INPUTS, result_serializer="json")
    def numbers(n: int) -> list[int]:
        return list(range(n))

    assert numbers(3) == [0, 1, 2]
    [record] = (home / "storage").iterdir()
    assert json.loads(record.read_bytes())["metadata"]["serializer"]["type"] == "json"
    assert numbers(3) == [0, 1, 2]


# -- storages
def test_memory_urls_store_results_through_fsspec(home: Path) -> None:
    calls = []

    @task(cache_policy=INPUTS, result_storage="memory://headwater-test-results")
    def work(x: int) -> int:
        calls.append(x)
        return x

    assert work(5) == 5 and work(5) == 5
    assert calls == [5]
    storage = FsspecStorage("memory://headwater-test-results")
    assert len(storage.fs.ls(storage.root)) == 1
    assert not (home / "storage").exists()


def test_file_urls_and_paths_are_local_folders(tmp_path: Path) -> None:
    assert get_storage(f"file://{tmp_path}") == LocalFileStorage(tmp_path)
    assert get_storage(tmp_path) == LocalFileStorage(tmp_path)


def test_a_key_that_is_not_a_file_name_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(OptionError, match="result_storage_key"):
        LocalFileStorage(tmp_path).write_bytes("a/b", b"x")


def test_result_storage_key_templates_name_the_record(home: Path) -> None:
    @task(result_storage_key="report-{day}")
    def report(day: str) -> str:
        return f"report for {day}"

    report("monday")
    assert (home / "storage" / "report-monday").exists()


# -- integrity
def test_a_corrupt_record_is_a_miss_with_a_warning(
    home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    calls = []

    @task(cache_policy=INPUTS)
    def work(x: int) -> int:
        calls.append(x)
        return x

    work(1)
    [record] = (home / "storage").iterdir()
    record.write_bytes(record.read_bytes()[:20])  # truncated
    assert work(1) == 1
    assert calls == [1, 1]
    assert "corrupt or incomplete" in caplog.text
    assert work(1) == 1 and calls == [1, 1]  # rewritten, so a hit again


def test_garbage_and_unknown_serializers_are_misses_not_crashes(tmp_path: Path) -> None:
    store = ResultStore(LocalFileStorage(tmp_path), PickleSerializer())
    (tmp_path / "garbage").write_bytes(b"\x00\xffnot json")
    (tmp_path / "alien").write_text(json.dumps(
        {"metadata": {"storage_key": "alien", "serializer": {"type": "yaml"}}, "result": ""}
    ))
    assert store.read("garbage") is None and store.read("alien") is None


def test_an_expired_record_reads_as_missing(tmp_path: Path) -> None:
    store = ResultStore(LocalFileStorage(tmp_path), PickleSerializer())
    store.write("old", 1, datetime.now(timezone.utc) - timedelta(seconds=1))
    store.write("new", 2, datetime.now(timezone.utc) + timedelta(hours=1))
    assert store.read("old") is None
    assert store.read("new") is not None and store.read("new").value() == 2  # type: ignore[union-attr]


KILLED_WRITER = textwrap.dedent("""
    import os, sys, time
    from headwater.results import LocalFileStorage, PickleSerializer, ResultStore

    def stall(*args):
        # The new bytes are in the temporary file; stop here, before the rename.
        print("writing", flush=True)
        time.sleep(30)

    os.replace = stall
    store = ResultStore(LocalFileStorage(sys.argv[1]), PickleSerializer())
    store.write("key", "new value " + "x" * 1_000_000, None)
""")


def test_a_writer_killed_mid_write_leaves_nothing_a_reader_accepts(tmp_path: Path) -> None:
    store = ResultStore(LocalFileStorage(tmp_path), PickleSerializer())
    store.write("key", "old value", None)
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(tmp_path)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    try:
        assert proc.stdout.readline().strip() == "writing"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.stdout.close()
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "key"]
    assert len(leftovers) == 1 and leftovers[0].endswith(".tmp")  # the interrupted write
    record = store.read("key")
    assert record is not None and record.value() == "old value"


def test_a_half_written_temporary_file_is_never_read(tmp_path: Path) -> None:
    store = ResultStore(LocalFileStorage(tmp_path), PickleSerializer())
    (tmp_path / ".key.abc123.tmp").write_bytes(b'{"metadata": {"storage_key": "ke')
    assert store.read("key") is None


# -- concurrency
def test_concurrent_writers_of_one_key_never_corrupt_the_record(tmp_path: Path) -> None:
    store = ResultStore(LocalFileStorage(tmp_path), PickleSerializer())
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(30):
                store.write("shared", {"writer": n, "i": i, "pad": "x" * 10_000}, None)
                record = store.read("shared")
                assert record is not None and record.value()["pad"] == "x" * 10_000
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [p.name for p in tmp_path.iterdir()] == ["shared"]  # no temporary files left


CROSS_PROCESS = textwrap.dedent("""
    import json, sys, time
    from headwater import flow, task
    from headwater.cache_policies import INPUTS

    @task(cache_policy=INPUTS)
    def expensive(x):
        print("computed", flush=True)
        return {"x": x, "at": time.time()}

    @flow
    def pipeline(x):
        return expensive(x)

    print(json.dumps(pipeline(int(sys.argv[1]))))
""")


def _run_process(home: Path, *args: str, script: str = CROSS_PROCESS) -> str:
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "HEADWATER_HOME": str(home)})
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_result_computed_in_one_process_is_a_cache_hit_in_another(tmp_path: Path) -> None:
    first = _run_process(tmp_path, "3")
    second = _run_process(tmp_path, "3")
    assert first.count("computed") == 1 and "computed" not in second
    assert first.splitlines()[-1] == second.splitlines()[-1]  # the same stored value


SERIALIZED = textwrap.dedent("""
    import sys, time
    from headwater import task
    from headwater.cache_policies import INPUTS
    from headwater.results import FileSystemLockManager

    policy = INPUTS.configure(isolation_level="SERIALIZABLE",
                              lock_manager=FileSystemLockManager(sys.argv[1]))

    @task(cache_policy=policy)
    def once(x):
        print("computed", flush=True)
        time.sleep(0.3)
        return x

    print(once(1))
""")


def test_serializable_isolation_does_the_work_once_across_processes(tmp_path: Path) -> None:
    locks = tmp_path / "locks"
    env = {**os.environ, "HEADWATER_HOME": str(tmp_path)}
    procs = [subprocess.Popen([sys.executable, "-c", SERIALIZED, str(locks)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(3)]
    outputs = [p.communicate(timeout=60)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sum(out.count("computed") for out in outputs) == 1
    assert all(out.strip().endswith("1") for out in outputs)


def test_serializable_isolation_does_the_work_once_across_threads(home: Path) -> None:
    calls = []
    policy = INPUTS.configure(isolation_level="SERIALIZABLE", lock_manager=MemoryLockManager())

    @task(cache_policy=policy)
    def once(x: int) -> int:
        calls.append(x)
        time.sleep(0.02)
        return x

    @flow
    def fan_out() -> list[int]:
        return once.map([1] * 8).result()

    assert fan_out() == [1] * 8
    assert calls == [1]


def test_serializable_without_a_lock_manager_is_an_error_at_decoration(home: Path) -> None:
    with pytest.raises(OptionError, match="lock manager"):

        @task(cache_policy=INPUTS.configure(isolation_level="SERIALIZABLE"))
        def work(x: int) -> int:
            return x


def test_file_locks_time_out_when_held_elsewhere(tmp_path: Path) -> None:
    first, second = FileSystemLockManager(tmp_path), FileSystemLockManager(tmp_path)
    assert first.acquire("k")
    holder = threading.Thread(target=lambda: None)
    holder.start()
    holder.join()
    result: list[bool] = []
    t = threading.Thread(target=lambda: result.append(second.acquire("k", timeout=0.05)))
    t.start()
    t.join()
    assert result == [False]
    first.release("k")
    assert second.acquire("k", timeout=1)
    second.release("k")
