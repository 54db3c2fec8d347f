"""A real server for tests: uvicorn in a thread of the test process, on a free port, over a
real SQL store; and flows run in real processes recording into that store."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.store.processes import start, wait_until

FLOWS = """
    import sys, time
    from pathlib import Path
    from headwater import flow, get_run_logger, task, tags
    from headwater.assets import materialize

    @task
    def double(x: int) -> int:
        get_run_logger().info(f"doubling {x}")
        return 2 * x

    @task
    def total(values: list[int]) -> int:
        get_run_logger().warning("adding up")
        return sum(values)

    @materialize("file://warehouse/raw.csv")
    def extract() -> int:
        return 3

    @materialize("file://warehouse/report.csv")
    def report(n: int) -> int:
        return n

    @flow
    def child(x: int) -> int:
        return double(x)

    @flow(log_prints=True)
    def pipeline(n: int = 3) -> int:
        print(f"working on {n}")
        doubled = double.map(range(n))
        result = total(doubled) + child(n)
        report(extract.submit())
        return result

    @flow
    def broken() -> None:
        raise RuntimeError("no luck")

    @task
    def wait_for(release: str, i: int) -> int:
        deadline = time.monotonic() + 60  # only to stop a hang
        while not Path(release).exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        return i

    @flow(log_prints=True)
    def gated(release: str, n: int = 4) -> int:
        print("waiting for the release file")
        return sum(f.result() for f in wait_for.map([release] * n, range(n)))

    which = sys.argv[1]
    with tags("nightly"):
        if which == "pipeline":
            pipeline(return_state=True)
            broken(return_state=True)
        else:
            gated(sys.argv[2], return_state=True)
"""


def run_flows(url: str, tmp_path: Path) -> None:
    """Record `pipeline` (with a subflow, mapped tasks, logs, assets) and `broken` in `url`."""
    proc = start(FLOWS, url, "pipeline")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err


def start_gated(url: str, release: Path) -> Any:
    """Start `gated` in its own process: its tasks wait until `release` exists."""
    return start(FLOWS, url, "gated", str(release), HEADWATER_CRASH_AFTER_SECONDS="60")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(url: str, **app_options: Any) -> Iterator[str]:
    """Serve `create_app(sql_store(url))` on 127.0.0.1; yields the base URL."""
    import uvicorn

    from headwater.server import create_app
    from headwater.store import sql_store

    store = sql_store(url)
    port = free_port()
    config = uvicorn.Config(create_app(store, **app_options), host="127.0.0.1", port=port,
                            log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        store.close()


def poll_json(client: Any, path: str, condition: Any, timeout: float = 30.0) -> Any:
    """GET `path` until `condition(json)` holds (a generous bound, only to stop a hang)."""
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(path).json()
        if condition(body) or time.monotonic() > deadline:
            return body
        time.sleep(0.05)
