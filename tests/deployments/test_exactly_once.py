"""Several serve processes, one store (a SQLite file; PostgreSQL as several machines would share
it), the same deployment: every tick runs exactly once, and none is skipped.

Each serve process is a real `python flows.py` whose last line is `my_flow.serve(...)`; each run
is a real subprocess that appends its flow run id to a log file. The test counts ticks, claims
and log lines; it asserts nothing about how long anything took (the latency is measured by
benchmarks/bench_serve.py).
"""

from __future__ import annotations

import collections
import itertools
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.store.processes import env_for, opened, wait_until

pytestmark = pytest.mark.timeout(300)

SERVED = """
    import os
    from pathlib import Path
    from headwater import flow
    from headwater.runtime import flow_run

    HERE = Path(__file__).parent

    @flow
    def beat() -> str:
        with open(HERE / "log", "a") as log:  # O_APPEND: one whole line per write
            log.write(f"{flow_run.id} {os.getpid()}\\n")
        return "ok"

    beat.serve(name="every-second", interval=1)
"""
PROCESSES = 3
TICKS = 12


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))


def test_several_serve_processes_run_every_tick_exactly_once(url: str, tmp_path: Path) -> None:
    script = tmp_path / "beat.py"
    script.write_text(textwrap.dedent(SERVED))
    serving = [subprocess.Popen([sys.executable, str(script)], env=env_for(url), cwd=tmp_path,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
               for _ in range(PROCESSES)]
    try:
        # Given three serve processes serving the same deployment, until 12 ticks completed
        def completed() -> int:
            with opened(url) as store:
                deployments = store.read_deployments()
                if not deployments:
                    return 0
                runs = store.read_deployment_runs([deployments[0].id], statuses=("claimed",),
                                                  limit=None)
                return sum(r.state_name == "Completed" for r in runs)

        wait_until(lambda: completed() >= TICKS, timeout=240, every=0.5)
    finally:
        # When they are all stopped (SIGTERM: running runs finish first)
        for proc in serving:
            proc.send_signal(signal.SIGTERM)
        errors = []
        for proc in serving:
            try:
                _, err = proc.communicate(timeout=90)
            except subprocess.TimeoutExpired:
                proc.kill()
                _, err = proc.communicate()
            errors.append((proc.returncode, err))
    assert [code for code, _ in errors] == [0] * PROCESSES, errors

    # Then one deployment, and each tick between the first and the last has exactly one run
    with opened(url) as store:
        [deployment] = store.read_deployments()
        runs = store.read_deployment_runs([deployment.id], limit=None,
                                          statuses=("scheduled", "claimed", "missed",
                                                    "cancelled"))
        finals = {r.flow_run_id: store.read_flow_run(r.flow_run_id) for r in runs
                  if r.status == "claimed"}
    claimed = [r for r in runs if r.status == "claimed"]
    ticks = [r.tick for r in claimed]
    assert len(ticks) == len(set(ticks)) >= TICKS
    assert [round((b or 0) - (a or 0), 6) for a, b in itertools.pairwise(ticks)] == \
        [1.0] * (len(ticks) - 1)  # consecutive: none skipped
    assert [r.status for r in runs if r.tick is not None and r.tick < (ticks[-1] or 0)] == \
        ["claimed"] * (len(ticks) - 1)  # nothing missed, nothing left waiting before the last
    assert {view.state_name for view in finals.values()} == {"Completed"}

    # And each run's body ran once, under the flow run id of its tick
    lines = (tmp_path / "log").read_text().split()
    bodies = collections.Counter(lines[0::2])
    assert bodies == {str(run_id): 1 for run_id in finals}

    # The figures, for the report (-s shows them)
    by_claimer = collections.Counter(r.claimed_by.split(":")[1] for r in claimed
                                     if r.claimed_by)
    late = sorted((finals[r.flow_run_id].start_time or 0) - (r.tick or 0) for r in claimed)
    print(f"\n{url.split(':')[0]}: {len(claimed)} ticks, {PROCESSES} serve processes, claims per "
          f"process {sorted(by_claimer.values())}, run bodies {sum(bodies.values())}, "
          f"scheduled->Running median {late[len(late) // 2]:.3f} s, max {late[-1]:.3f} s")
