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

from tests.faults._db import count_task_runs, flow_states
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


def _headwater(url: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = env_for(url, COLUMNS="300")
    env["HEADWATER_HOME"] = str(home)
    return subprocess.run([sys.executable, "-m", "headwater.cli.main", *args], env=env,
                          capture_output=True, text=True, timeout=180)


@pytest.mark.parametrize("writer", ["process", "thread"])
def test_records_saved_under_a_misspelt_url_reach_the_store_once_the_url_is_fixed(
    url: str, tmp_path: Path, writer: str
) -> None:
    # Given a run recorded while the URL was misspelt: the warning names the command
    home = tmp_path / "home"
    env = env_for(url.replace("sqlite:", "sqlit:").replace("postgresql+", "postgresl+"),
                  HEADWATER_STORE_WRITER=writer)
    env["HEADWATER_HOME"] = str(home)
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(FLOW)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    [saved] = (home / "spill").glob("*.saved")
    said = " ".join(done.stderr.split())
    assert f"headwater db recover {saved}" in said

    # When the user runs it with the URL fixed, twice
    first = _headwater(url, home, "db", "recover", str(saved))
    assert first.returncode == 0, first.stderr
    again = _headwater(url, home, "db", "recover", str(saved))

    # Then the run and its task runs are in the store, the report says what was written, and
    # the file is gone (a second recover finds nothing to do)
    assert flow_states(url) == ["Completed"]
    assert count_task_runs(url, "Completed") == 2
    report = " ".join(first.stdout.split())
    [run_id] = [line.split()[0] for line in first.stdout.splitlines()
                if line.startswith("  ") and "quick/" in line]
    assert "Wrote " in report and "of 1 flow run(s)" in report and "Completed" in report
    assert f"Deleted {str(saved)!r}" in report and run_id in report
    assert not saved.exists()
    assert again.returncode != 0 and "does not exist" in again.stderr


def test_recovering_a_file_that_is_no_spill_file_says_so(sqlite_url: str, tmp_path: Path
                                                          ) -> None:
    home = tmp_path / "home"
    other = tmp_path / "notes.txt"
    other.write_text("not records\n")

    done = _headwater(sqlite_url, home, "db", "recover", str(other))

    assert done.returncode == 1
    assert f"{str(other)!r} is not a headwater spill file" in " ".join(done.stderr.split())
    assert other.exists()


def test_recover_without_a_file_lists_the_spill_files_waiting(sqlite_url: str, tmp_path: Path
                                                              ) -> None:
    home = tmp_path / "home"
    assert "No spill files are waiting" in _headwater(sqlite_url, home, "db", "recover").stdout
    (home / "spill").mkdir(parents=True)
    (home / "spill" / "abc-1-2.saved").write_bytes(b"")

    listed = _headwater(sqlite_url, home, "db", "recover")

    assert listed.returncode == 0 and "abc-1-2.saved" in listed.stdout


def test_recover_has_help_that_says_when_to_use_it(sqlite_url: str, tmp_path: Path) -> None:
    shown = _headwater(sqlite_url, tmp_path, "db", "recover", "--help")

    assert shown.returncode == 0
    assert "misspelt HEADWATER_DATABASE_URL" in " ".join(shown.stdout.split())
