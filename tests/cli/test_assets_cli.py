"""`headwater assets ls` and `headwater assets show`: asset history and lineage from the store,
end to end: the example pipeline runs in a process of its own, the CLI reads what it recorded."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from headwater.cli.main import cli
from tests.store.processes import env_for

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "assets_pipeline.py"
RAW, REPORT, CITIES = "file://data/raw.csv", "file://data/report.csv", "postgres://warehouse/cities"
BROKEN = """
    from headwater import flow
    from headwater.assets import materialize

    @materialize("file://data/report.csv", asset_deps=["s3://elsewhere/extra.csv"])
    def report() -> str:
        raise RuntimeError("disk full")

    @flow
    def broken_report() -> None:
        report()
"""

Headwater = Callable[..., Result]


@pytest.fixture(params=["fresh_home", "pg_url"], ids=["sqlite-home", "postgres"])
def recorded(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """The environment of a fresh store, with the example pipeline already run into it: the
    default SQLite file in a new HEADWATER_HOME, then a fresh PostgreSQL schema."""
    if request.param == "fresh_home":
        env = env_for("", HEADWATER_HOME=str(tmp_path / "home"))
        del env["HEADWATER_DATABASE_URL"]
    else:
        env = env_for(request.getfixturevalue("pg_url"))
    ran = subprocess.run([sys.executable, str(EXAMPLE)], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    return env


@pytest.fixture
def headwater(recorded: dict[str, str]) -> Headwater:
    """Run `headwater ARGS...` in this process against the recorded store."""
    runner = CliRunner()
    env = {k: recorded.get(k, "") for k in
           ("HEADWATER_HOME", "HEADWATER_DATABASE_URL", "HEADWATER_STORE")}
    env["COLUMNS"] = "200"

    def invoke(*args: str) -> Result:
        return runner.invoke(cli, list(args), env=env, catch_exceptions=False)

    return invoke


def shown(headwater: Headwater, key: str) -> dict[str, Any]:
    result = headwater("assets", "show", key, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)  # type: ignore[no-any-return]


def test_assets_ls_lists_materialized_and_referenced_assets(headwater: Headwater) -> None:
    listed = {a["key"]: a for a in json.loads(headwater("assets", "ls", "--json").output)}
    table = headwater("assets", "ls").output

    assert list(listed) == [RAW, REPORT, CITIES]
    assert (listed[REPORT]["latest_status"], listed[REPORT]["materializations"]) == (
        "succeeded", 1)
    assert (listed[CITIES]["latest_status"], listed[CITIES]["materializations"]) == (None, 0)
    assert REPORT in table and "Succeeded" in table and "referenced only" in table


def test_assets_show_gives_the_report_its_upstream_assets_and_the_run_that_made_it(
    headwater: Headwater,
) -> None:
    report = shown(headwater, REPORT)
    text = headwater("assets", "show", REPORT).output

    assert report["upstream"] == [RAW, CITIES] and report["downstream"] == []
    assert report["latest"]["status"] == "succeeded"
    assert report["latest"]["upstream"] == [RAW, CITIES]
    assert report["latest"]["task_run_name"].startswith("report-")
    [run] = report["flow_runs"]
    assert (run["flow_name"], run["state"]) == ("weather", "Completed")
    assert report["latest"]["flow_run_id"] == run["id"]
    assert f"Upstream:   {RAW}, {CITIES}" in text
    assert run["id"] in text and "Flow runs that materialized it" in text


def test_assets_show_gives_the_raw_data_its_downstream_report_and_metadata(
    headwater: Headwater,
) -> None:
    raw = shown(headwater, RAW)
    cities = shown(headwater, CITIES)

    assert raw["upstream"] == [] and raw["downstream"] == [REPORT]
    assert raw["latest"]["metadata"] == {"rows": 2}
    assert raw["latest"]["materialized_by"] == "python"
    assert "Downstream: file://data/report.csv" in headwater("assets", "show", RAW).output
    assert cities["latest"] is None and cities["downstream"] == [REPORT]


def test_a_failed_materialization_shows_as_failed_and_adds_no_lineage(
    headwater: Headwater, recorded: dict[str, str], tmp_path: Path
) -> None:
    flows = tmp_path / "broken.py"
    flows.write_text(textwrap.dedent(BROKEN))
    ran = subprocess.run(
        [sys.executable, "-m", "headwater.cli.main", "run", f"{flows}:broken_report"],
        env=recorded, capture_output=True, text=True, timeout=60,
    )
    assert ran.returncode == 1

    report = shown(headwater, REPORT)
    text = headwater("assets", "show", REPORT).output

    assert report["latest_status"] == "failed"
    assert [m["status"] for m in report["history"]] == ["failed", "succeeded"]
    assert report["history"][0]["upstream"] == ["s3://elsewhere/extra.csv"]
    assert report["upstream"] == [RAW, CITIES]  # lineage comes from succeeded runs only
    assert shown(headwater, "s3://elsewhere/extra.csv")["downstream"] == []
    assert "Latest: Failed" in text and "broken-report" in text


def test_an_unknown_key_is_an_error_that_suggests_close_keys(headwater: Headwater) -> None:
    partial = headwater("assets", "show", "report.csv")
    misspelt = headwater("assets", "show", "file://data/reprot.csv")
    unrelated = headwater("assets", "show", "gs://nothing/like/it")

    assert partial.exit_code == 1
    assert "No asset has the key 'report.csv'" in partial.output
    assert f"Did you mean {REPORT!r}?" in partial.output
    assert f"Did you mean {REPORT!r}" in misspelt.output
    assert "3 asset(s) are recorded; list them with `headwater assets ls`" in unrelated.output
    for result in (partial, misspelt, unrelated):
        assert "Traceback" not in result.output


@pytest.mark.parametrize("args", [("assets", "--help"), ("assets", "ls", "--help"),
                                  ("assets", "show", "--help")])
def test_every_assets_command_has_help(args: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, list(args))

    assert result.exit_code == 0 and "Usage:" in result.output
    assert "assets" in CliRunner().invoke(cli, ["--help"]).output


def test_assets_ls_on_an_empty_store_says_how_to_record_some(sqlite_url: str) -> None:
    env = {"HEADWATER_DATABASE_URL": sqlite_url, "HEADWATER_STORE": ""}
    result = CliRunner().invoke(cli, ["assets", "ls"], env=env, catch_exceptions=False)
    missing = CliRunner().invoke(cli, ["assets", "show", "s3://b/x"], env=env)

    assert "No assets recorded yet" in result.output
    assert json.loads(CliRunner().invoke(cli, ["assets", "ls", "--json"], env=env).output) == []
    assert missing.exit_code == 1 and "No assets are recorded yet" in missing.output
