"""Resuming flow runs, with real processes: a flow fails (or is killed), its cause is fixed, and
`headwater runs resume` runs only what did not finish; on SQLite and PostgreSQL.

Each task appends its input to a file as it runs: what ran, and how often, is counted there.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from headwater.store import FlowRunFilter
from tests.store.processes import env_for, opened, wait_until

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))


def write_flow(tmp_path: Path, source: str) -> Path:
    path = tmp_path / "pipeline.py"
    path.write_text(textwrap.dedent(source))
    return path


def run(args: list[str], url: str, tmp_path: Path, **settings: str
        ) -> subprocess.CompletedProcess[str]:
    env = env_for(url, RAN=str(tmp_path / "ran.txt"), SOURCE=str(tmp_path / "source.txt"),
                  **settings)
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True,
                          timeout=150, cwd=tmp_path)


def headwater(url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run(["-m", "headwater.cli.main", *args], url, tmp_path)


def ran(tmp_path: Path) -> list[str]:
    path = tmp_path / "ran.txt"
    return path.read_text().split() if path.exists() else []


def only_run(url: str) -> object:
    with opened(url) as store:
        runs = store.read_flow_runs(FlowRunFilter(limit=None, roots_only=True))
    assert len(runs) == 1, runs
    return runs[0]


FIVE = """
    import os
    from pathlib import Path
    from headwater import flow, task

    @task
    def step(i: int) -> int:
        with open(os.environ["RAN"], "a") as f:
            f.write(f"{i}\\n")
        if i == 3 and Path(os.environ["SOURCE"]).read_text() == "broken":
            raise ValueError("the source is broken")
        return i * 10

    @flow(persist_result=True)
    def five() -> int:
        return sum(step(i) for i in range(1, 6))

    if __name__ == "__main__":
        five(return_state=True)
"""


def test_a_failed_run_resumes_from_its_failed_task_once_the_cause_is_fixed(
    url: str, tmp_path: Path
) -> None:
    # Given a run of five tasks whose third failed
    script = write_flow(tmp_path, FIVE)
    (tmp_path / "source.txt").write_text("broken")
    first = run([str(script)], url, tmp_path)
    failed = only_run(url)
    assert failed.state_name == "Failed", first.stderr  # type: ignore[attr-defined]
    assert ran(tmp_path) == ["1", "2", "3"]

    # When the source is fixed and the run resumed
    (tmp_path / "source.txt").write_text("fixed")
    resumed = headwater(url, tmp_path, "runs", "resume", str(failed.id)[:8])  # type: ignore[attr-defined]

    # Then tasks 1 and 2 did not run again, 3 to 5 ran, and the run completed as attempt 2
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert ran(tmp_path) == ["1", "2", "3", "3", "4", "5"]
    assert "2 task runs took their earlier results, 3 ran" in " ".join(resumed.stdout.split())
    with opened(url) as store:
        after = store.read_flow_run(failed.id)  # type: ignore[attr-defined]
        states = [s.name for s in store.read_states(after.id)]
        tasks = store.read_task_runs(after.id)
    assert (after.state_name, after.run_count) == ("Completed", 2)
    assert after.result == "150"
    assert states == ["Pending", "Running", "Failed", "Pending", "Running", "Completed"]
    assert [t.state_message for t in tasks[3:]] == [
        f"Resumed from task run {tasks[0].id}", f"Resumed from task run {tasks[1].id}",
        None, None, None,
    ]
    assert [t.identity for t in tasks[3:]] == [t.identity for t in tasks[:2]] + [
        f"{tasks[0].task_key}#{i}" for i in (3, 4, 5)]


MAP = """
    import os, time
    from pathlib import Path
    from headwater import flow, task
    from headwater.runners import ThreadPoolTaskRunner

    @task
    def work(i: int) -> int:
        if Path(os.environ["SOURCE"]).read_text() == "slow" and i >= 300:
            time.sleep(3600)  # the first attempt is killed while these wait
        fd = os.open(os.environ["RAN"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        os.write(fd, f"{i}\\n".encode())
        os.close(fd)
        return i

    @flow(persist_result=True, task_runner=ThreadPoolTaskRunner(max_workers=4))
    def many(n: int = 1000) -> int:
        return sum(f.result() for f in work.map(range(n)))

    if __name__ == "__main__":
        many(return_state=True)
"""


def test_a_run_killed_mid_map_resumes_and_every_element_with_a_persisted_result_ran_once(
    url: str, tmp_path: Path
) -> None:
    # Given a flow mapping 1,000 elements, killed with SIGKILL once 300 of them completed
    script = write_flow(tmp_path, MAP)
    (tmp_path / "source.txt").write_text("slow")
    settings = {"HEADWATER_HEARTBEAT_SECONDS": "0.5", "HEADWATER_CRASH_AFTER_SECONDS": "2"}
    env = env_for(url, RAN=str(tmp_path / "ran.txt"), SOURCE=str(tmp_path / "source.txt"),
                  **settings)
    proc = subprocess.Popen([sys.executable, str(script)], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        def three_hundred_completed() -> bool:
            with opened(url) as store:
                runs = store.read_flow_runs(FlowRunFilter(limit=1))
                return bool(runs) and sum(
                    t.state_name == "Completed" for t in store.read_task_runs(runs[0].id)
                ) >= 300
        wait_until(three_hundred_completed, timeout=120, proc=proc)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
    before = Counter(ran(tmp_path))

    # When it is resumed, as soon as it counts as crashed
    (tmp_path / "source.txt").write_text("fast")
    killed = only_run(url)

    def resumed() -> subprocess.CompletedProcess[str] | None:
        done = run(["-m", "headwater.cli.main", "runs", "resume", str(killed.id)],  # type: ignore[attr-defined]
                   url, tmp_path, **settings)
        return done if "it has not finished" not in done.stderr else None
    done = wait_until(resumed, timeout=60, every=0.5)

    # Then the run completed, every element ran, and only elements whose result the first
    # attempt never persisted (at most the 4 that were inside their call) ran twice
    assert done.returncode == 0, done.stdout + done.stderr
    after = Counter(ran(tmp_path))
    assert set(after) == {str(i) for i in range(1000)}
    twice = {i for i, n in after.items() if n > 1}
    assert len(twice) <= 4 and twice <= set(before)
    with opened(url) as store:
        run_view = store.read_flow_run(killed.id)  # type: ignore[attr-defined]
        states = [s.name for s in store.read_states(run_view.id)]
    assert (run_view.state_name, run_view.run_count, run_view.result) == (
        "Completed", 2, str(sum(range(1000))))
    assert states[-4:] == ["Crashed", "Pending", "Running", "Completed"]


SUBFLOW = """
    import os
    from pathlib import Path
    from headwater import flow, task

    @task
    def step(name: str) -> str:
        with open(os.environ["RAN"], "a") as f:
            f.write(name + "\\n")
        if name == "last" and Path(os.environ["SOURCE"]).read_text() == "broken":
            raise ValueError("broken")
        return name

    @flow(persist_result=True)
    def child(n: int) -> list[str]:
        return [step(f"child{i}") for i in range(n)]

    @flow(persist_result=True)
    def parent() -> list[str]:
        return [*child(2), *child(1), step("last")]

    if __name__ == "__main__":
        parent(return_state=True)
"""


def test_subflows_resume_as_the_same_subflow_runs(url: str, tmp_path: Path) -> None:
    script = write_flow(tmp_path, SUBFLOW)
    (tmp_path / "source.txt").write_text("broken")
    run([str(script)], url, tmp_path)
    failed = only_run(url)
    with opened(url) as store:
        children = store.read_flow_runs(FlowRunFilter(parent_flow_run_id=failed.id, limit=None))  # type: ignore[attr-defined]

    (tmp_path / "source.txt").write_text("fixed")
    done = headwater(url, tmp_path, "runs", "resume", str(failed.id))  # type: ignore[attr-defined]

    assert done.returncode == 0, done.stdout + done.stderr
    assert ran(tmp_path) == ["child0", "child1", "child0", "last", "last"]
    with opened(url) as store:
        after = store.read_flow_runs(FlowRunFilter(parent_flow_run_id=failed.id, limit=None))  # type: ignore[attr-defined]
        child_tasks = [t for c in after for t in store.read_task_runs(c.id)]
    assert sorted(c.id for c in after) == sorted(c.id for c in children)  # no new subflow run
    assert sorted(c.identity for c in after) == ["child#1", "child#2"]
    assert all(c.state_name == "Completed" and c.run_count == 2 for c in after)
    resumed = [t for t in child_tasks if (t.state_message or "").startswith("Resumed from")]
    assert len(resumed) == 3


CHANGING_MAP = """
    import json, os
    from pathlib import Path
    from headwater import flow, task

    @task
    def square(x: int) -> int:
        with open(os.environ["RAN"], "a") as f:
            f.write(f"{x}\\n")
        return x * x

    @task
    def check(total: int) -> int:
        if Path(os.environ["SOURCE"]).read_text().startswith("broken"):
            raise ValueError("broken")
        return total

    @flow(persist_result=True)
    def squares() -> int:
        values = json.loads(Path(os.environ["SOURCE"]).read_text().split(" ", 1)[1])
        return check(sum(f.result() for f in square.map(values)))

    if __name__ == "__main__":
        squares(return_state=True)
"""


@pytest.mark.parametrize(("second", "reran", "stopped"), [
    ([1, 2, 3, 4], ["4"], False),  # longer: the new element runs, the others resume
    ([1, 2], [], False),  # shorter: what is left resumes
    ([1, 7, 3], ["7", "3"], True),  # another value at a known element: resuming stops there
])
def test_a_map_of_another_length_or_other_values_resumes_what_still_matches(
    url: str, tmp_path: Path, second: list[int], reran: list[str], stopped: bool
) -> None:
    script = write_flow(tmp_path, CHANGING_MAP)
    (tmp_path / "source.txt").write_text("broken [1, 2, 3]")
    run([str(script)], url, tmp_path)
    failed = only_run(url)
    assert sorted(ran(tmp_path)) == ["1", "2", "3"]

    (tmp_path / "source.txt").write_text(f"fixed {second}")
    done = headwater(url, tmp_path, "runs", "resume", str(failed.id))  # type: ignore[attr-defined]

    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(ran(tmp_path)[3:]) == sorted(reran)
    assert ("Resuming stopped at square-" in done.stderr) is stopped
    assert only_run(url).result == str(sum(x * x for x in second))  # type: ignore[attr-defined]


NOT_PERSISTED = """
    import os
    from pathlib import Path
    from headwater import flow, task

    @task
    def step(i: int) -> int:
        with open(os.environ["RAN"], "a") as f:
            f.write(f"{i}\\n")
        if i == 2 and Path(os.environ["SOURCE"]).read_text() == "broken":
            raise ValueError("broken")
        return i

    @flow
    def plain() -> int:
        return sum(step(i) for i in range(1, 3))

    if __name__ == "__main__":
        plain(return_state=True)
"""


def test_resuming_a_run_whose_results_were_not_persisted_says_so_and_runs_them_again(
    sqlite_url: str, tmp_path: Path
) -> None:
    script = write_flow(tmp_path, NOT_PERSISTED)
    (tmp_path / "source.txt").write_text("broken")
    run([str(script)], sqlite_url, tmp_path)
    failed = only_run(sqlite_url)

    (tmp_path / "source.txt").write_text("fixed")
    done = headwater(sqlite_url, tmp_path, "runs", "resume", str(failed.id))  # type: ignore[attr-defined]

    assert done.returncode == 0, done.stdout + done.stderr
    assert ran(tmp_path) == ["1", "2", "1", "2"]
    said = " ".join(done.stderr.split())
    assert said.count("but its results were not persisted") == 1
    assert "@flow(persist_result=True)" in said


def test_a_completed_run_cannot_be_resumed_and_the_message_says_what_to_do(
    sqlite_url: str, tmp_path: Path
) -> None:
    script = write_flow(tmp_path, FIVE)
    (tmp_path / "source.txt").write_text("fine")
    run([str(script)], sqlite_url, tmp_path)
    completed = only_run(sqlite_url)

    done = headwater(sqlite_url, tmp_path, "runs", "resume", str(completed.id)[:8])  # type: ignore[attr-defined]

    assert done.returncode == 1
    message = " ".join(done.stderr.split())
    assert f"Flow run {completed.id} " in message  # type: ignore[attr-defined]
    assert "is Completed: there is nothing left to run" in message
    assert "Failed, Crashed or Cancelled" in message
    assert ran(tmp_path) == ["1", "2", "3", "4", "5"]  # nothing ran again


def test_a_run_whose_flow_file_is_gone_asks_for_its_entrypoint(
    sqlite_url: str, tmp_path: Path
) -> None:
    script = write_flow(tmp_path, FIVE)
    (tmp_path / "source.txt").write_text("broken")
    run([str(script)], sqlite_url, tmp_path)
    failed = only_run(sqlite_url)
    moved = tmp_path / "moved"
    moved.mkdir()
    script.rename(moved / "pipeline.py")
    (tmp_path / "source.txt").write_text("fixed")

    gone = headwater(sqlite_url, tmp_path, "runs", "resume", str(failed.id))  # type: ignore[attr-defined]
    found = headwater(sqlite_url, tmp_path, "runs", "resume", str(failed.id),  # type: ignore[attr-defined]
                      "--entrypoint", "moved/pipeline.py:five")

    assert gone.returncode == 1 and "There is no file" in gone.stderr
    assert found.returncode == 0, found.stdout + found.stderr
    assert ran(tmp_path) == ["1", "2", "3", "3", "4", "5"]


ASYNC = """
    import asyncio, os, sys
    from pathlib import Path
    from headwater import flow, task

    @task
    async def step(i: int) -> int:
        with open(os.environ["RAN"], "a") as f:
            f.write(f"{i}\\n")
        if i == 2 and Path(os.environ["SOURCE"]).read_text() == "broken":
            raise ValueError("broken")
        return i

    @flow(persist_result=True)
    async def steps() -> int:
        return await step(1) + await step(2)

    if __name__ == "__main__":
        if len(sys.argv) > 1:
            state = asyncio.run(steps.resume(sys.argv[1], return_state=True))
        else:
            state = asyncio.run(steps(return_state=True))
        print(state.name, state.result(raise_on_failure=False))
"""


def test_an_async_flow_resumes_with_flow_resume(sqlite_url: str, tmp_path: Path) -> None:
    script = write_flow(tmp_path, ASYNC)
    (tmp_path / "source.txt").write_text("broken")
    run([str(script)], sqlite_url, tmp_path)
    failed = only_run(sqlite_url)

    (tmp_path / "source.txt").write_text("fixed")
    done = run([str(script), str(failed.id)], sqlite_url, tmp_path)  # type: ignore[attr-defined]

    assert done.stdout.split()[-2:] == ["Completed", "3"], done.stderr
    assert ran(tmp_path) == ["1", "2", "2"]


WRONG_FLOW = """
    import sys
    from headwater import flow
    from headwater.errors import ResumeError

    @flow
    def other() -> None: ...

    try:
        other.resume(sys.argv[1])
    except ResumeError as exc:
        print(exc)
"""


def test_resuming_with_another_flow_says_which_flow_the_run_belongs_to(
    sqlite_url: str, tmp_path: Path
) -> None:
    script = write_flow(tmp_path, FIVE)
    (tmp_path / "source.txt").write_text("broken")
    run([str(script)], sqlite_url, tmp_path)
    failed = only_run(sqlite_url)
    (tmp_path / "other.py").write_text(textwrap.dedent(WRONG_FLOW))

    done = run([str(tmp_path / "other.py"), str(failed.id)], sqlite_url, tmp_path)  # type: ignore[attr-defined]

    assert " ".join(done.stdout.split()) == (
        f"Flow run {failed.id} ({failed.name!r}) is a run of flow 'five', not of "  # type: ignore[attr-defined]
        "'other'. Resume it with the flow it belongs to.")
    assert ran(tmp_path) == ["1", "2", "3"]
