"""`headwater deployments ...` and `headwater serve --help`: through the store, no serve process
needed to list, pause, resume, delete, or ask for a run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from headwater.cli.main import cli
from headwater.deployments.api import register
from headwater.store import FlowRunFilter, sql_store
from tests.deployments.helpers import load_ticker


@pytest.fixture
def url(sqlite_url: str, tmp_path: Path) -> Iterator[str]:
    """A store with the deployment ticker/hourly registered."""
    store = sql_store(sqlite_url)
    try:
        deployment = load_ticker(tmp_path).to_deployment(
            "hourly", cron="0 * * * *", parameters={"label": "h"}, tags=["team-a"])
        register(deployment, store=store)
    finally:
        store.close()
    yield sqlite_url


def invoke(url: str, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env={"HEADWATER_DATABASE_URL": url}, input=input)


def test_ls_lists_deployments_with_their_schedule(url: str) -> None:
    table = invoke(url, "deployments", "ls")
    as_json = invoke(url, "deployments", "ls", "--json")

    assert table.exit_code == 0, table.output
    assert "ticker/hourly" in table.output and "cron '0 * * * *'" in table.output
    [item] = json.loads(as_json.output)
    assert (item["full_name"], item["paused"], item["parameters"]) == (
        "ticker/hourly", False, {"label": "h"})


def test_inspect_shows_the_entrypoint_and_the_runs(url: str, tmp_path: Path) -> None:
    result = invoke(url, "deployments", "inspect", "ticker/hourly")

    assert result.exit_code == 0, result.output
    assert f"{tmp_path.resolve() / 'flows.py'}:ticker" in result.output.replace("\n", "")
    assert "Next runs" in result.output and "Recent runs" in result.output


def test_pause_and_resume(url: str) -> None:
    paused = invoke(url, "deployments", "pause", "hourly")
    listed = json.loads(invoke(url, "deployments", "ls", "--json").output)
    resumed = invoke(url, "deployments", "resume", "ticker/hourly")

    assert paused.exit_code == 0 and "Paused deployment 'ticker/hourly'" in paused.output
    assert listed[0]["paused"] is True
    assert resumed.exit_code == 0 and "Resumed" in resumed.output
    assert json.loads(invoke(url, "deployments", "ls", "--json").output)[0]["paused"] is False


def test_run_creates_a_scheduled_run_for_a_serve_process(url: str) -> None:
    result = invoke(url, "deployments", "run", "ticker/hourly", "--param", "label=now",
                    "--json")

    assert result.exit_code == 0, result.output
    made: dict[str, Any] = json.loads(result.stdout)
    assert made["state"] == "Scheduled"
    assert "'ticker/hourly' has never been served; the run waits" in result.stderr
    store = sql_store(url)
    try:
        [run] = store.read_flow_runs(FlowRunFilter(state="scheduled"))
        assert run.parameters == {"label": "now"} and run.tags == ("team-a",)
    finally:
        store.close()


def test_delete_asks_first_then_deletes(url: str) -> None:
    declined = invoke(url, "deployments", "delete", "ticker/hourly", input="n\n")
    deleted = invoke(url, "deployments", "delete", "ticker/hourly", "--yes")

    assert declined.exit_code == 1
    assert deleted.exit_code == 0 and "Deleted deployment 'ticker/hourly'" in deleted.output
    assert json.loads(invoke(url, "deployments", "ls", "--json").output) == []


def test_an_unknown_name_is_an_error_that_lists_the_known_ones(url: str) -> None:
    result = invoke(url, "deployments", "run", "ticker/hourlyy")

    assert result.exit_code == 1
    assert "No deployment is named 'ticker/hourlyy'" in result.output
    assert "'ticker/hourly'" in result.output


def test_serve_rejects_a_bad_cron_string_at_once(url: str, tmp_path: Path) -> None:
    flows = tmp_path / "flows.py"

    result = invoke(url, "serve", f"{flows}:ticker", "--cron", "61 * * * *")

    assert result.exit_code == 1
    assert "Invalid cron string '61 * * * *'" in result.output


@pytest.mark.parametrize("command", [
    ["serve"], ["deployments"], ["deployments", "ls"], ["deployments", "inspect"],
    ["deployments", "pause"], ["deployments", "resume"], ["deployments", "delete"],
    ["deployments", "run"],
])
def test_every_command_has_help(command: list[str]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"])

    assert result.exit_code == 0 and "Usage:" in result.output


def test_runs_cancel_ends_a_scheduled_run_at_once(url: str) -> None:
    made = json.loads(invoke(url, "deployments", "run", "ticker/hourly", "--json").stdout)

    result = invoke(url, "runs", "cancel", made["id"], "--timeout", "30")

    assert result.exit_code == 0, result.output
    assert "it was Scheduled" in result.output and "is Cancelled" in result.output


def test_inspect_says_how_often_crashed_runs_are_resumed(sqlite_url: str,
                                                         tmp_path: Path) -> None:
    store = sql_store(sqlite_url)
    try:
        register(load_ticker(tmp_path).to_deployment("recovering", resume_crashed=2),
                 store=store)
    finally:
        store.close()

    shown = invoke(sqlite_url, "deployments", "inspect", "ticker/recovering")
    serve_help = invoke(sqlite_url, "serve", "--help")

    assert shown.exit_code == 0, shown.output
    assert "Crashed runs: resumed from where they stopped, at most 2 times" in " ".join(
        shown.output.split())
    assert "--resume-crashed N" in serve_help.output
