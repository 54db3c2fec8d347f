"""Start Python processes that record runs into a given store (for the multi-process tests)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


def env_for(url: str, **settings: str) -> dict[str, str]:
    """This process's environment, minus HEADWATER_*, recording into `url`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    env["HEADWATER_DATABASE_URL"] = url
    env["HEADWATER_HOME"] = os.environ["HEADWATER_HOME"]
    env.update(settings)
    return env


def start(source: str, url: str, *args: str, **settings: str) -> subprocess.Popen[str]:
    """Start `python -c source args...` recording into `url`, with pipes for its output."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(source), *args],
        env=env_for(url, **settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until(
    condition: Callable[[], Any], timeout: float = 20.0, every: float = 0.02,
    proc: subprocess.Popen[str] | None = None,
) -> Any:
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds, or at
    once (with its output) if `proc` exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"the process exited ({proc.returncode}) first:\n{out}\n{err}")
        time.sleep(every)
    raise AssertionError(f"condition not met within {timeout} s")


@contextmanager
def opened(url: str) -> Iterator[Any]:
    """A SQL store for `url`, closed (connections released) at the end of the block."""
    from headwater.store import sql_store

    store = sql_store(url)
    try:
        yield store
    finally:
        store.close()


def flow_runs(url: str) -> list[Any]:
    """Every flow run in the store at `url`, newest first."""
    from headwater.store import FlowRunFilter

    with opened(url) as store:
        return store.read_flow_runs(FlowRunFilter(limit=None))  # type: ignore[no-any-return]
