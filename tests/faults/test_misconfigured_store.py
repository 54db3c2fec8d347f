"""A run store URL no retry can fix (a misspelt scheme): the flow completes, the error is said
once with what to fix, and the run's records are saved to a spill file as the process ends,
by both writers; nothing waits for the store to heal."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.store.processes import env_for

FLOW = """
    from headwater import flow, task

    @task
    def one() -> int:
        return 1

    @flow
    def quick() -> int:
        return one() + one()

    print(quick())
"""


@pytest.mark.parametrize("writer", ["process", "thread"])
def test_a_misspelt_store_url_saves_the_records_at_exit_and_says_so_once(
    tmp_path: Path, writer: str
) -> None:
    home = tmp_path / "home"
    env = env_for("postgresl://ana@db.example:5432/runs", HEADWATER_STORE_WRITER=writer)
    env["HEADWATER_HOME"] = str(home)

    done = subprocess.run([sys.executable, "-c", textwrap.dedent(FLOW)], env=env,
                          capture_output=True, text=True, timeout=120)

    assert done.returncode == 0 and done.stdout.split() == ["2"], done.stderr
    said = " ".join(done.stderr.split())
    assert said.count("is not a database headwater can use") == 2  # the error, then the save
    assert "headwater cannot write run history" in said
    assert "tries again" not in said and "is still storing" not in said
    saved = list((home / "spill").glob("*.saved"))
    assert len(saved) == 1 and saved[0].stat().st_size > 0
    assert oct(saved[0].stat().st_mode & 0o777) == oct(0o600)
    assert str(saved[0]) in said
    assert os.listdir(home / "spill") == [saved[0].name]
