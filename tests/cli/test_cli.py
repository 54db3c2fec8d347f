"""The `headwater` command: every command reads the run store directly, no server needed."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from headwater.cli.main import cli
from headwater.store.schema import HEAD_REVISION
from tests.store.processes import env_for, opened

FLOWS = """
    from headwater import flow, task

    @task
    def double(x: int) -> int:
        return 2 * x

    @flow
    def child(x: int) -> int:
        return double(x)

    @flow(log_prints=True)
    def pipeline(n: int = 2, label: str = "run") -> int:
        print(f"working on {label}")
        return child(n) + double(1)

    @flow
    def broken() -> None:
        raise RuntimeError("no luck")

    not_a_flow = 3
"""


@pytest.fixture
def flows_file(tmp_path: Path) -> Path:
    path = tmp_path / "flows.py"
    path.write_text(textwrap.dedent(FLOWS))
    return path


@pytest.fixture(params=["sqlite_url", "pg_url"], ids=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest) -> str:
    """A fresh SQLite store, then a fresh PostgreSQL schema: every command runs on both."""
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


@pytest.fixture
def headwater(store_url: str) -> Iterator[object]:
    """Run `headwater ARGS...` in this process against a fresh store."""
    runner = CliRunner()
    env = {"HEADWATER_DATABASE_URL": store_url, "HEADWATER_STORE": "",
           "HEADWATER_CRASH_AFTER_SECONDS": "30", "COLUMNS": "200"}

    def invoke(*args: str) -> Result:
        return runner.invoke(cli, list(args), env=env, catch_exceptions=False)

    yield invoke


def run_in_subprocess(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`headwater run ...` records through the default sink: give it a process of its own."""
    return subprocess.run(
        [sys.executable, "-m", "headwater.cli.main", *args],
        env=env_for(url), capture_output=True, text=True, timeout=60,
    )


def test_help_lists_every_command(headwater) -> None:  # type: ignore[no-untyped-def]
    result = headwater("--help")

    assert result.exit_code == 0
    for command in ("runs", "run", "db"):
        assert command in result.output


@pytest.mark.parametrize("args", [("runs", "--help"), ("runs", "ls", "--help"),
                                  ("runs", "inspect", "--help"), ("runs", "logs", "--help"),
                                  ("run", "--help"), ("db", "--help"), ("db", "prune", "--help"),
                                  ("db", "upgrade", "--help"), ("db", "reset", "--help")])
def test_every_command_has_help(headwater, args: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    result = headwater(*args)

    assert result.exit_code == 0 and "Usage:" in result.output


def test_run_records_a_flow_that_runs_ls_and_inspect_then_show(  # type: ignore[no-untyped-def]
    headwater, flows_file: Path, store_url: str
) -> None:
    ran = run_in_subprocess(store_url, "run", f"{flows_file}:pipeline", "--param", "n=5",
                            "--param", "label=nightly")
    assert ran.returncode == 0, ran.stderr
    assert "finished in state Completed." in ran.stdout

    listed = json.loads(headwater("runs", "ls", "--json").output)
    top = [r for r in listed if r["flow_name"] == "pipeline"]
    assert top[0]["parameters"] == {"n": 5, "label": "nightly"}
    assert top[0]["state"] == "Completed"
    assert "pipeline" in headwater("runs", "ls").output

    details = json.loads(headwater("runs", "inspect", top[0]["id"], "--json").output)
    assert [s["name"] for s in details["states"]] == ["Pending", "Running", "Completed"]
    assert [t["task_name"] for t in details["task_runs"]] == ["double"]
    assert details["task_runs"][0]["duration"] is not None
    assert [f["flow_name"] for f in details["subflows"]] == ["child"]
    assert details["result"] == "12"
    shown = headwater("runs", "inspect", top[0]["id"][:20]).output
    assert "State history" in shown and "Subflow runs" in shown and "double" in shown

    logs = headwater("runs", "logs", top[0]["id"]).output
    assert "working on nightly" in logs and "Finished in state Completed()" in logs


def test_runs_ls_filters_by_flow_and_state_and_limits(  # type: ignore[no-untyped-def]
    headwater, flows_file: Path, store_url: str
) -> None:
    run_in_subprocess(store_url, "run", f"{flows_file}:pipeline")
    failed = run_in_subprocess(store_url, "run", f"{flows_file}:broken")
    assert failed.returncode == 1

    def names(*args: str) -> list[str]:
        return [r["flow_name"] for r in json.loads(headwater("runs", "ls", "--json", *args).output)]

    assert names("--state", "failed") == ["broken"]
    assert names("--flow", "child") == ["child"]
    assert len(names("--limit", "1")) == 1


def test_run_explains_a_missing_file_a_missing_flow_and_a_bad_parameter(  # type: ignore[no-untyped-def]
    headwater, flows_file: Path
) -> None:
    missing_file = headwater("run", "nope.py:pipeline")
    missing_flow = headwater("run", f"{flows_file}:pipelin")
    not_a_flow = headwater("run", f"{flows_file}:not_a_flow")
    no_colon = headwater("run", str(flows_file))
    bad_param = headwater("run", f"{flows_file}:pipeline", "--param", "n")
    unknown_param = headwater("run", f"{flows_file}:pipeline", "--param", "m=1")

    assert missing_file.exit_code == 1 and "There is no file 'nope.py'" in missing_file.output
    assert "'pipelin' is not defined" in missing_flow.output
    assert "Flows in that file: broken, child, pipeline" in missing_flow.output
    assert "'not_a_flow' is not a flow" in not_a_flow.output
    assert "Which flow of" in no_colon.output and "broken, child, pipeline" in no_colon.output
    assert "--param 'n' is not key=value" in bad_param.output
    assert "has no parameter 'm'. Its parameters: n, label" in unknown_param.output
    for result in (missing_file, missing_flow, bad_param, unknown_param):
        assert "Traceback" not in result.output


def test_a_parameter_the_flow_rejects_fails_the_run_with_the_reason(  # type: ignore[no-untyped-def]
    flows_file: Path, store_url: str
) -> None:
    ran = run_in_subprocess(store_url, "run", f"{flows_file}:pipeline", "--param", "n=lots")

    assert ran.returncode == 1
    assert "Input should be a valid integer" in ran.stderr and ran.stdout == ""


def test_an_unknown_run_id_is_a_clear_error(headwater) -> None:  # type: ignore[no-untyped-def]
    for command in ("inspect", "logs"):
        result = headwater("runs", command, "0000dead")

        assert result.exit_code == 1
        assert "No flow run has the id '0000dead'" in result.output


def test_db_upgrade_prune_and_reset(  # type: ignore[no-untyped-def]
    headwater, flows_file: Path, store_url: str
) -> None:
    assert f"schema version {HEAD_REVISION}" in headwater("db", "upgrade").output
    run_in_subprocess(store_url, "run", f"{flows_file}:pipeline")

    assert "Nothing to delete: no finished flow run was created more than 30d ago" in headwater(
        "db", "prune", "--older-than", "30d").output
    assert "Deleted 2 flow run(s) with 2 task run(s)" in headwater(
        "db", "prune", "--older-than", "0s", "--yes").output
    bad = headwater("db", "prune", "--older-than", "a month")
    assert bad.exit_code == 1 and "'a month' is not a duration" in bad.output

    run_in_subprocess(store_url, "run", f"{flows_file}:pipeline")
    assert "Deleted all run history" in headwater("db", "reset", "--yes").output
    with opened(store_url) as store:
        assert store.read_flow_runs() == []


def test_runs_logs_follow_ends_when_the_run_is_over(  # type: ignore[no-untyped-def]
    headwater, flows_file: Path, store_url: str
) -> None:
    run_in_subprocess(store_url, "run", f"{flows_file}:pipeline")
    [run] = [r for r in json.loads(headwater("runs", "ls", "--json").output)
             if r["flow_name"] == "pipeline"]

    assert "working on run" in headwater("runs", "logs", run["id"], "--follow").output


def test_the_headwater_script_runs_in_a_fresh_home_with_no_server(tmp_path: Path) -> None:
    env = env_for("", HEADWATER_HOME=str(tmp_path / "home"))
    del env["HEADWATER_DATABASE_URL"]
    example = Path(__file__).resolve().parents[2] / "examples" / "hello.py"
    subprocess.run([sys.executable, str(example)], env=env, check=True, capture_output=True)
    env["COLUMNS"] = "160"
    listed = subprocess.run([sys.executable, "-m", "headwater.cli.main", "runs", "ls"], env=env,
                            capture_output=True, text=True, check=True)

    assert "hello" in listed.stdout and "Completed" in listed.stdout
    assert (tmp_path / "home" / "headwater.db").exists()
