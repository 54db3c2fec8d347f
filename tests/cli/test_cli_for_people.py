"""The CLI as a new user meets it, at 80 columns: tables that never split a word, subflows
under their parents, ids that can be copied, clear errors, and a few missing commands."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from headwater.cli.main import cli
from headwater.cli.progress import progress_text
from headwater.cli.render import unique_prefixes
from tests.cli.test_cli import FLOWS, run_in_subprocess


@pytest.fixture
def headwater(sqlite_url: str):  # type: ignore[no-untyped-def]
    env = {"HEADWATER_DATABASE_URL": sqlite_url, "HEADWATER_STORE": "", "COLUMNS": "80"}

    def invoke(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(cli, list(args), env=env, input=input)

    return invoke


@pytest.fixture
def flows_file(tmp_path: Path) -> Path:
    path = tmp_path / "flows.py"
    path.write_text(textwrap.dedent(FLOWS))
    return path


def test_runs_ls_nests_subflows_under_their_parent_with_ids_a_user_can_copy(
    headwater, flows_file: Path, sqlite_url: str,  # type: ignore[no-untyped-def]
) -> None:
    run_in_subprocess(sqlite_url, "run", f"{flows_file}:pipeline")
    run_in_subprocess(sqlite_url, "run", f"{flows_file}:pipeline")

    table = headwater("runs", "ls").output
    rows = [line for line in table.splitlines() if re.match(r"^ [0-9a-f]{8}-", line)]

    # Generated run names vary in length: the flow column keeps at least 10 characters.
    assert [("└ child" in r, "pipeline" in r) for r in rows] == [
        (False, True), (True, False), (False, True), (True, False)]
    assert max(len(line) for line in table.splitlines()) <= 80
    for row in rows:
        prefix = row.split()[0]
        shown = headwater("runs", "inspect", prefix, "--json")
        assert shown.exit_code == 0, shown.output
        assert json.loads(shown.output)["id"].startswith(prefix)


def test_ids_are_shown_by_their_shortest_unique_prefix() -> None:
    ids = ["01a2-aaaa-1111", "01a2-aaaa-2222", "01a2-bbbb-1111"]

    assert unique_prefixes(ids, shortest=4) == {
        "01a2-aaaa-1111": "01a2-aaaa-1", "01a2-aaaa-2222": "01a2-aaaa-2",
        "01a2-bbbb-1111": "01a2-b"}


def test_long_flow_names_end_in_an_ellipsis_and_are_never_split(
    headwater, tmp_path: Path, sqlite_url: str,  # type: ignore[no-untyped-def]
) -> None:
    path = tmp_path / "long.py"
    path.write_text("from headwater import flow\n\n"
                    "@flow(name='retry-flow-with-a-very-long-name-indeed')\n"
                    "def long() -> None:\n    pass\n")
    run_in_subprocess(sqlite_url, "run", str(path))

    table = headwater("runs", "ls").output

    assert "retry-flow-with" in table and "…" in table
    assert not any(line.strip().startswith(("low", "indeed")) for line in table.splitlines())


def test_runs_logs_name_the_task_run_of_each_line(
    headwater, flows_file: Path, sqlite_url: str,  # type: ignore[no-untyped-def]
) -> None:
    run_in_subprocess(sqlite_url, "run", f"{flows_file}:pipeline")
    [run] = json.loads(headwater("runs", "ls", "--json", "--flow", "pipeline").output)

    logs = headwater("runs", "logs", run["id"]).output

    assert re.search(r"\| Task run 'double-\w+' - Finished in state Completed", logs)
    assert "| Flow run - working on run" in logs


def test_a_bad_state_and_a_filter_that_matches_nothing_say_so(
    headwater, flows_file: Path, sqlite_url: str,  # type: ignore[no-untyped-def]
) -> None:
    run_in_subprocess(sqlite_url, "run", f"{flows_file}:pipeline")

    bad = headwater("runs", "ls", "--state", "done")
    none = headwater("runs", "ls", "--state", "crashed")

    assert bad.exit_code == 2 and "'done' is not one of 'scheduled'" in bad.output
    assert "No flow run matches these filters" in none.output
    assert "No flow runs recorded yet" not in none.output


def test_a_bad_parameter_is_one_error_before_any_run(
    headwater, flows_file: Path, sqlite_url: str,  # type: ignore[no-untyped-def]
) -> None:
    ran = run_in_subprocess(sqlite_url, "run", f"{flows_file}:pipeline", "--param", "n=abc")

    assert ran.returncode == 1
    assert ran.stderr.count("Input should be a valid integer") == 1 and "\\n" not in ran.stderr
    assert "No flow runs recorded yet" in headwater("runs", "ls").output


def test_an_error_in_the_users_file_shows_only_the_users_traceback(
    tmp_path: Path, sqlite_url: str,
) -> None:
    path = tmp_path / "broken_import.py"
    path.write_text("import json\n\nimport no_such_module_here\n")

    ran = run_in_subprocess(sqlite_url, "run", f"{path}:x")

    assert ran.returncode == 1
    assert "Importing" in ran.stderr and 'broken_import.py", line 3' in ran.stderr
    assert "No module named 'no_such_module_here'" in ran.stderr
    assert "click" not in ran.stderr and "importlib" not in ran.stderr


def test_run_picks_the_only_flow_of_a_file_and_asks_when_there_are_several(
    tmp_path: Path, flows_file: Path, sqlite_url: str,
) -> None:
    single = tmp_path / "single.py"
    single.write_text("from headwater import flow\n\n@flow\ndef only() -> int:\n    return 1\n")

    ran = run_in_subprocess(sqlite_url, "run", str(single))
    several = run_in_subprocess(sqlite_url, "run", str(flows_file))

    assert ran.returncode == 0 and "finished in state Completed." in ran.stdout
    assert several.returncode == 1
    assert "It defines broken, child, pipeline" in several.stderr


def test_version_prints_headwaters_version_and_the_store_without_a_password(
    headwater,  # type: ignore[no-untyped-def]
) -> None:
    result = CliRunner().invoke(cli, ["version"], env={
        "HEADWATER_DATABASE_URL": "postgresql+psycopg://ada:s3cret@db.example/runs"})

    assert result.exit_code == 0 and result.output.startswith("headwater ")
    assert "Python 3." in result.output and "s3cret" not in result.output
    assert "db.example/runs" in result.output


def test_db_prune_asks_first_and_dry_run_deletes_nothing(
    headwater, flows_file: Path, sqlite_url: str,  # type: ignore[no-untyped-def]
) -> None:
    run_in_subprocess(sqlite_url, "run", f"{flows_file}:pipeline")

    dry = headwater("db", "prune", "--older-than", "0s", "--dry-run")
    declined = headwater("db", "prune", "--older-than", "0s", input="n\n")
    kept = json.loads(headwater("runs", "ls", "--json").output)
    done = headwater("db", "prune", "--older-than", "0s", input="y\n")

    assert "Would delete 2 flow run(s) with 2 task run(s), finished and created more than 0s ago"\
        in dry.output
    assert "pipeline/" in dry.output and "child/" in dry.output
    assert declined.exit_code == 1 and "Aborted" in declined.output and len(kept) == 1
    assert "Deleted 2 flow run(s) with 2 task run(s)" in done.output
    assert json.loads(headwater("runs", "ls", "--json").output) == []


def test_the_progress_line_counts_task_runs_done_running_and_failed() -> None:
    assert progress_text({"COMPLETED": 5, "FAILED": 1, "RUNNING": 2, "PENDING": 3}) == (
        "task runs: 6 done · 2 running · 1 failed")
