"""Serve processes as users start them: a file ending in `my_flow.serve(...)`, `headwater serve`,
a Prefect script under `python -m headwater.compat`; and how they stop on SIGTERM."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from headwater.cli.main import cli
from headwater.deployments.api import run_deployment
from tests.deployments.helpers import flow_file, ran
from tests.store.processes import env_for, opened, wait_until

pytestmark = pytest.mark.timeout(240)

EVERY_2S = """
    from headwater import flow

    @flow(log_prints=True)
    def my_flow() -> None:
        print("tick")

    my_flow.serve(name="every-2s", interval=2)
"""

PREFECT_SCRIPT = """
    from prefect import flow, get_run_logger

    @flow
    def my_flow(greeting: str = "hi") -> str:
        get_run_logger().info(greeting)
        return greeting

    my_flow.serve(name="x", cron="* * * * *")
"""


def start(args: list[str], url: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(args, env=env_for(url), cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def stopped(proc: subprocess.Popen[str], *signals: int) -> tuple[int, str]:
    for sig in signals:
        proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return proc.returncode, err


def deployment_named(url: str, name: str) -> Any:
    with opened(url) as store:
        return next((d for d in store.read_deployments() if d.full_name == name), None)


def test_a_file_ending_in_serve_runs_its_flow_on_its_interval_visible_in_runs_ls(
    sqlite_url: str, tmp_path: Path
) -> None:
    script = tmp_path / "every2.py"
    script.write_text(textwrap.dedent(EVERY_2S))
    proc = start([sys.executable, str(script)], sqlite_url, tmp_path)
    try:
        def completed() -> list[Any]:
            with opened(sqlite_url) as store:
                return [r for r in store.read_flow_runs() if r.state_name == "Completed"]

        wait_until(lambda: len(completed()) >= 2, timeout=120, every=0.2, proc=proc)
    finally:
        code, err = stopped(proc, signal.SIGTERM)
    assert code == 0, err
    assert "Serving deployment 'my-flow/every-2s': every 2s." in err

    listed = CliRunner().invoke(cli, ["runs", "ls", "--json"],
                                env={"HEADWATER_DATABASE_URL": sqlite_url})
    assert listed.exit_code == 0, listed.output
    states = [run["state"] for run in json.loads(listed.output)]
    assert states.count("Completed") >= 2 and "Scheduled" in states
    with opened(sqlite_url) as store:
        [deployment] = store.read_deployments()
        done = store.read_deployment_runs([deployment.id], statuses=("claimed",), limit=None)
    ticks = sorted(r.tick or 0 for r in done)
    assert [round(b - a, 6) for a, b in itertools.pairwise(ticks)] == \
        [2.0] * (len(ticks) - 1)


def test_sigterm_lets_a_running_flow_finish_then_the_serve_process_exits(
    sqlite_url: str, tmp_path: Path
) -> None:
    flows = flow_file(tmp_path)
    proc = start([sys.executable, "-m", "headwater.cli.main", "serve", f"{flows}:ticker",
                  "--name", "on-demand"], sqlite_url, tmp_path)
    try:
        wait_until(lambda: deployment_named(sqlite_url, "ticker/on-demand"), timeout=60,
                   proc=proc)
        with opened(sqlite_url) as store:
            run_id = run_deployment("ticker/on-demand", {"mode": "block"}, timeout=0,
                                    store=store).id

            # Given a served run inside its flow body
            wait_until(lambda: ran(tmp_path), timeout=90, proc=proc)
            # When the serve process gets SIGTERM, and the flow then finishes
            proc.send_signal(signal.SIGTERM)
            wait_until(lambda: b"Stopping: waiting" in _stderr_so_far(proc), timeout=30)
            (tmp_path / "release").touch()
            code, err = stopped(proc)
            run = store.read_flow_run(run_id)
    finally:
        (tmp_path / "release").touch()
        if proc.poll() is None:
            proc.kill()
    # Then the run completed, and the serve process exited cleanly
    assert code == 0, err
    assert run.state_name == "Completed"


def _stderr_so_far(proc: subprocess.Popen[str]) -> bytes:
    """What the process wrote to stderr so far (read without blocking)."""
    assert proc.stderr is not None
    os.set_blocking(proc.stderr.fileno(), False)
    chunk = proc.stderr.buffer.read1(65536) if hasattr(proc.stderr, "buffer") else b""
    _SEEN.setdefault(proc.pid, bytearray()).extend(chunk or b"")
    return bytes(_SEEN[proc.pid])


_SEEN: dict[int, bytearray] = {}


def test_a_second_signal_stops_running_flows_at_once(sqlite_url: str, tmp_path: Path) -> None:
    flows = flow_file(tmp_path)
    proc = start([sys.executable, "-m", "headwater.cli.main", "serve", f"{flows}:ticker",
                  "--name", "stuck"], sqlite_url, tmp_path)
    try:
        wait_until(lambda: deployment_named(sqlite_url, "ticker/stuck"), timeout=60, proc=proc)
        with opened(sqlite_url) as store:
            run_id = run_deployment("ticker/stuck", {"mode": "block"}, timeout=0,
                                    store=store).id
            wait_until(lambda: ran(tmp_path), timeout=90, proc=proc)
            proc.send_signal(signal.SIGINT)
            wait_until(lambda: b"Stopping: waiting" in _stderr_so_far(proc), timeout=30)
            code, err = stopped(proc, signal.SIGINT)
            run = store.read_flow_run(run_id)
    finally:
        (tmp_path / "release").touch()
        if proc.poll() is None:
            proc.kill()
    assert code == 0, err
    assert (run.state_name, run.state_message) == (
        "Crashed", "The serve process running it was stopped.")


def test_a_prefect_script_serving_a_cron_runs_unchanged_through_the_shim(
    pg_url: str, tmp_path: Path
) -> None:
    script = tmp_path / "prefect_serve.py"
    script.write_text(textwrap.dedent(PREFECT_SCRIPT))
    proc = start([sys.executable, "-m", "headwater.compat", str(script)], pg_url, tmp_path)
    try:
        deployment = wait_until(lambda: deployment_named(pg_url, "my-flow/x"), timeout=60,
                                proc=proc)
        with opened(pg_url) as store:
            # Its next minute is scheduled; a run asked for now runs at once
            wait_until(lambda: store.read_deployment_runs([deployment.id]), timeout=30,
                       proc=proc)
            upcoming = store.read_deployment_runs([deployment.id])
            run = run_deployment("my-flow/x", {"greeting": "hello"}, timeout=120,
                                 poll_interval=0.1, store=store)
            logs = [line.message for line in store.read_logs(run.id)]
    finally:
        code, err = stopped(proc, signal.SIGTERM)
    assert code == 0, err
    assert all((r.tick or 0) % 60 == 0 for r in upcoming)
    assert (run.state_name, run.result) == ("Completed", '"hello"')
    assert "hello" in logs
