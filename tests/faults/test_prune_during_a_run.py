"""`headwater db prune --older-than 0s` while a flow runs in another process: the running run and
every record it wrote (and writes after) survive, finished runs go with all their rows, and the
orphaned task runs an older prune left behind are removed. Records are counted table by table."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from uuid import UUID

from sqlalchemy import create_engine, func, or_, select, text

from headwater.store import schema
from tests.store.processes import env_for, flow_runs, opened, start, wait_until

STEPS = """
    import sys, time
    from pathlib import Path
    from headwater import flow, task, get_run_logger

    @task
    def step(i: int) -> int:
        get_run_logger().info("step %d", i)
        return i

    @flow
    def steps(gate: str = "", n: int = 5) -> int:
        total = sum(step(i) for i in range(n))
        if gate:
            Path(gate + ".started").write_text("")
            deadline = time.monotonic() + 120  # only to stop a hang
            while not Path(gate).exists() and time.monotonic() < deadline:
                time.sleep(0.01)
            total += sum(step(i) for i in range(n, 2 * n))
        return total

    steps(*sys.argv[1:2])
"""


def run_flow(url: str, *args: str) -> None:
    proc = start(STEPS, url, *args)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err


def rows_of(url: str, flow_ids: Iterable[UUID], task_ids: Iterable[UUID]) -> dict[str, int]:
    """How many rows each table holds for these runs (every table keyed by a run)."""
    flows, tasks = [str(i) for i in flow_ids], [str(i) for i in task_ids]
    engine = create_engine(url)
    counts = {}
    try:
        with engine.connect() as conn:
            for table in schema.metadata.sorted_tables:
                keys = []
                if "flow_run_id" in table.c:
                    keys.append(table.c.flow_run_id.in_(flows))
                if "task_run_id" in table.c:
                    keys.append(table.c.task_run_id.in_(tasks))
                if table.name in ("flow_runs", "task_runs"):
                    keys.append(table.c.id.in_(flows + tasks))
                if keys:
                    query = select(func.count()).select_from(table).where(or_(*keys))
                    counts[table.name] = conn.execute(query).scalar() or 0
    finally:
        engine.dispose()
    return {name: count for name, count in counts.items() if count}


def orphan_the_task_runs_of(url: str, run_id: UUID) -> list[UUID]:
    """Do what `prune` did to a running run: delete its row, and leave its task runs and log
    lines (aged 2 h)."""
    with opened(url) as store:
        tasks = [t.id for t in store.read_task_runs(run_id)]
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM flow_runs WHERE id = :id"), {"id": str(run_id)})
            conn.execute(text("UPDATE task_runs SET created = created - 7200 "
                              "WHERE flow_run_id = :id"), {"id": str(run_id)})
            conn.execute(text(
                "UPDATE logs SET timestamp = timestamp - 7200 WHERE flow_run_id = :id "
                "OR task_run_id IN (SELECT id FROM task_runs WHERE flow_run_id = :id)"
            ), {"id": str(run_id)})
    finally:
        engine.dispose()
    return tasks


def prune(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "headwater.cli.main", "db", "prune", "--older-than", "0s", "--yes"],
        env=env_for(url, COLUMNS="200"), capture_output=True, text=True, timeout=300,
    )


def test_prune_during_a_run_keeps_the_running_run_and_removes_finished_runs_and_orphans(
    url: str, tmp_path: Path
) -> None:
    # Given two finished runs, and the orphaned task runs of a third (as an old prune left them)
    run_flow(url)
    run_flow(url)
    finished = [run.id for run in flow_runs(url)]
    with opened(url) as store:
        finished_tasks = [t.id for run_id in finished for t in store.read_task_runs(run_id)]
    run_flow(url)
    orphaned_flow = next(run.id for run in flow_runs(url) if run.id not in finished)
    orphans = orphan_the_task_runs_of(url, orphaned_flow)
    assert len(finished_tasks) == 10 and len(orphans) == 5
    assert rows_of(url, finished, finished_tasks)["logs"] >= 10  # a line per step, and more

    # ... and a flow running in another process, five task runs done, five to come
    gate = tmp_path / "gate"
    proc = start(STEPS, url, str(gate))
    wait_until(lambda: Path(f"{gate}.started").exists(), timeout=120, proc=proc)

    def running() -> object:
        runs = [r for r in flow_runs(url) if r.state_name == "Running"]
        if not runs:
            return None
        with opened(url) as store:
            return runs[0] if len(store.read_task_runs(runs[0].id)) == 5 else None

    live = wait_until(running, timeout=60, proc=proc)
    with opened(url) as store:
        first_tasks = [t.id for t in store.read_task_runs(live.id)]
    before = rows_of(url, [live.id], first_tasks)

    # When everything is pruned, however young
    pruned = prune(url)

    # Then the running run and its task runs are all there, and it completes with every record
    assert pruned.returncode == 0, pruned.stderr
    assert "Deleted 2 flow run(s) with 10 task run(s) and 5 task run(s) whose flow run was " \
           "already gone" in pruned.stdout
    with opened(url) as store:
        assert store.read_flow_run(live.id).state_name == "Running"
    assert rows_of(url, [live.id], first_tasks) == before
    gate.write_text("")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    with opened(url) as store:
        run = store.read_flow_run(live.id)
        tasks = store.read_task_runs(live.id)
        states = [s.name for s in store.read_states(live.id)]
    assert run.state_name == "Completed" and states == ["Pending", "Running", "Completed"]
    assert [t.state_name for t in tasks] == ["Completed"] * 10
    kept = rows_of(url, [live.id], [t.id for t in tasks])
    assert (kept["flow_runs"], kept["task_runs"]) == (1, 10)
    assert kept["logs"] >= before["logs"] + 5
    # ... and nothing is left of the finished runs, nor of the orphans
    assert rows_of(url, [*finished, orphaned_flow], [*finished_tasks, *orphans]) == {}

    # Once it has finished, the next prune takes it, with every row
    again = prune(url)
    assert "Deleted 1 flow run(s) with 10 task run(s)" in again.stdout
    assert rows_of(url, [live.id], [t.id for t in tasks]) == {}
    assert flow_runs(url) == []
