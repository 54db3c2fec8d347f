"""Helpers for the serve tests: a flow file to serve, a loop on a clock the test moves."""

from __future__ import annotations

import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from headwater.deployments.serve_loop import ServeLoop, ServeOptions
from headwater.testing import FrozenClock

# Each run writes its flow run id to runs/<id> (a file per run: proof the body ran, and under
# which id); `mode` picks what else it does.
FLOWS = '''
import os, sys, time
from pathlib import Path
from headwater import flow, task
from headwater.runtime import flow_run

HERE = Path(__file__).parent

@task
def step(i: int) -> int:
    time.sleep(0.02)
    return i

@flow
def ticker(mode: str = "ok", label: str = "x") -> str:
    (HERE / "runs").mkdir(exist_ok=True)
    (HERE / "runs" / str(flow_run.id)).write_text(label)
    if mode == "crash":
        os._exit(3)
    if mode == "block":  # until the test releases it (60 s at most: only to stop a hang)
        deadline = time.monotonic() + 60
        while not (HERE / "release").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
    if mode == "steps":  # many short task calls: a cancel request stops it between two
        for i in range(3000):
            step(i)
    return label
'''


def flow_file(folder: Path) -> Path:
    path = folder / "flows.py"
    path.write_text(textwrap.dedent(FLOWS))
    return path


def load_ticker(folder: Path) -> Any:
    from headwater.deployments.entrypoints import load_flow

    return load_flow(f"{flow_file(folder)}:ticker")


def ran(folder: Path) -> dict[str, str]:
    """Flow run id -> label, for every run whose body started."""
    runs = folder / "runs"
    return {p.name: p.read_text() for p in runs.iterdir()} if runs.exists() else {}


OPENED: list[Any] = []  # stores of the loops a test made: closed by the `closing` fixture


def make_loop(deployments: list[Any], url: str, clock: FrozenClock, **options: Any) -> ServeLoop:
    from headwater.store import sql_store

    values: dict[str, Any] = {"prefetch_seconds": 0.0, "poll_seconds": 0.05}
    values.update(options)
    loop = ServeLoop(deployments, store=sql_store(url), options=ServeOptions(**values),
                     clock=clock)
    OPENED.append(loop.store)
    loop.register()
    return loop


def step_until(loop: ServeLoop, condition: Callable[[], Any], timeout: float = 90.0) -> Any:
    """Step the loop until `condition()` is truthy; the timeout only stops a hang."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        loop.step()
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"condition not met within {timeout} s")


def stop(loop: ServeLoop) -> None:
    """Kill what is still running (the store stays open for the test's assertions)."""
    loop.stop(now=True)
    deadline = time.monotonic() + 30
    while loop.children and time.monotonic() < deadline:
        loop.step()
        time.sleep(0.05)
