"""The server at scale: the runs-list API over 1,000,000 flow runs, and the page of a flow run
with 100,000 task runs in Chromium.

    python benchmarks/bench_server.py                       # 1,000,000 runs, 100,000 task runs
    python benchmarks/bench_server.py --runs 100000 --tasks 20000 --rounds 3   # quicker
    python benchmarks/bench_server.py --db PATH             # keep (and reuse) the generated store
    python benchmarks/bench_server.py --url postgresql+psycopg://...   # any store URL, reused

The store is generated with bulk inserts through `RunStore.write_batch` (no flows are run):
flow runs spread over 30 days, 10 flows, 85% Completed, 10% Failed, the rest Running,
Crashed or Cancelled, one in ten a subflow; one flow run with N task runs of 5 tasks, each
depending on the one before, and one log line each. The server runs in its own process
(`headwater server start`), as users run it.

Measured:
- runs-list API: each query kind asked `--requests` times, interleaved; p50 and p95 in ms.
- the big run's requests (what its page asks for): the first of each after the server
  started, when nothing is kept yet, then the median of `--rounds` more.
- page interactive: Chromium opens the flow run's page until its header and timeline are
  drawn (the timeline's note carries how many bars it drew; zoom, pan and tabs work from
  then on); then until the per-task sums (a GROUP BY over every task run) are drawn too.
  Median and min–max over `--rounds` fresh page loads, after one warm-up.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
FLOWS = [f"flow_{i}" for i in range(10)]
DAY = 86400.0


def _run_row(run_id: str, name: str, created: float, state: str, **extra: Any) -> dict[str, Any]:
    final = state in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")
    start, end = created + 0.01, created + 0.01 + random.random() * 30
    return {
        "id": run_id, "name": name, "parameters": '{"n": 1}', "tags": '["nightly"]',
        "created": created, "state_type": state, "state_name": state.capitalize(),
        "state_message": None, "state_timestamp": end if final else start,
        "start_time": start, "end_time": end if final else None, "run_count": 1,
        "result": "1" if state == "COMPLETED" else None, **extra,
    }


def generate(url: str, runs: int, tasks: int) -> str:
    """Fill the store at `url`; returns the id of the flow run with `tasks` task runs."""
    from headwater.store import sql_store
    from headwater.store.base import Batch

    random.seed(7)
    store = sql_store(url)
    now = time.time()
    states = ["COMPLETED"] * 85 + ["FAILED"] * 10 + ["RUNNING", "CRASHED", "CANCELLED"] * 2
    parents: list[str] = []
    chunk: list[dict[str, Any]] = []
    for i in range(runs):
        created = now - 30 * DAY + 30 * DAY * i / runs
        run_id = str(uuid.UUID(int=random.getrandbits(128)))
        parent = random.choice(parents) if parents and i % 10 == 9 else None
        chunk.append(_run_row(run_id, f"run-{i}", created, random.choice(states),
                              flow_name=random.choice(FLOWS), flow_version=None,
                              parent_flow_run_id=parent, parent_task_run_id=None,
                              heartbeat=None))
        if i % 10 == 0:
            parents = ([*parents, run_id])[-100:]
        if len(chunk) == 50_000:
            store.write_batch(Batch(flow_runs=chunk))
            chunk = []
    big = str(uuid.uuid4())
    start = now - 600
    chunk.append(_run_row(big, "big-run", start, "COMPLETED", flow_name="big",
                          flow_version=None, parent_flow_run_id=None, parent_task_run_id=None,
                          heartbeat=None))
    store.write_batch(Batch(flow_runs=chunk))
    task_rows, deps, logs = [], [], []
    previous: str | None = None
    for i in range(tasks):
        task_id = str(uuid.uuid4())
        key = f"mod.step_{i % 5}"
        created = start + 500 * i / tasks
        row = _run_row(task_id, f"step_{i % 5}-{i}", created, "COMPLETED", task_name=key[4:],
                       task_key=key, flow_run_id=big)
        row["end_time"] = row["state_timestamp"] = row["start_time"] + random.random() * 2
        task_rows.append(row)
        logs.append({"flow_run_id": big, "task_run_id": task_id, "logger": "bench",
                     "level": 20, "message": f"line {i}", "timestamp": created})
        if previous is not None:
            deps.append({"task_run_id": task_id, "upstream_run_id": previous, "parameter": "x"})
        previous = task_id
        if len(task_rows) == 50_000:
            store.write_batch(Batch(task_runs=task_rows, dependencies=deps, logs=logs))
            task_rows, deps, logs = [], [], []
    store.write_batch(Batch(task_runs=task_rows, dependencies=deps, logs=logs))
    store.close()
    return big


def existing_big_run(url: str) -> str | None:
    """The id of the flow run with many task runs `generate` made, if the store has one."""
    from headwater.store import sql_store
    from headwater.store.base import FlowRunFilter

    store = sql_store(url)
    try:
        runs = store.read_flow_runs(FlowRunFilter(flow_name="big", limit=1))
    finally:
        store.close()
    return str(runs[0].id) if runs else None


def start_server(url: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HEADWATER_DATABASE_URL": url}
    proc = subprocess.Popen([sys.executable, "-m", "headwater.cli.main", "server", "start",
                             "--port", str(port)], env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/flows", timeout=30)
            return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the server did not start")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bench_api(base: str, requests: int) -> dict[str, tuple[float, float]]:
    client = httpx.Client(base_url=base, timeout=60)
    first = client.get("/api/flow_runs", params={"limit": 50}).json()
    deep = first
    for _ in range(10):  # a cursor ten pages deep
        deep = client.get("/api/flow_runs", params={"limit": 50,
                                                   "cursor": deep["next_cursor"]}).json()
    kinds = {
        "newest 50": {"limit": 50},
        "top-level only": {"limit": 50, "roots": "true"},
        "one flow": {"limit": 50, "flow": "flow_3"},
        "failed": {"limit": 50, "state": "failed"},
        "flow + failed": {"limit": 50, "flow": "flow_3", "state": "failed"},
        "last 24 h": {"limit": 50, "created_after": time.time() - DAY},
        "page 11 (cursor)": {"limit": 50, "cursor": deep["next_cursor"]},
    }
    times: dict[str, list[float]] = {k: [] for k in kinds}
    for _ in range(requests):
        for kind, params in kinds.items():  # interleaved, so load hits every kind alike
            started = time.perf_counter()
            response = client.get("/api/flow_runs", params=params)
            times[kind].append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
    every = [t for ts in times.values() for t in ts]
    result = {k: (statistics.median(ts), percentile(ts, 0.95)) for k, ts in times.items()}
    result["all kinds"] = (statistics.median(every), percentile(every, 0.95))
    return result


RUN_REQUESTS = {  # what the run page asks for: its first paint, then its sums, then its tabs
    "run and its change token": "/api/flow_runs/{id}",
    "timeline's first bars": "/api/flow_runs/{id}/timeline?limit=200",
    "per-task sums": "/api/flow_runs/{id}/task_runs/summary",
    "graph (Graph tab)": "/api/flow_runs/{id}/graph",
    "task runs page (tab)": "/api/flow_runs/{id}/task_runs?limit=100",
    "newest log lines (tab)": "/api/flow_runs/{id}/logs?newest_first=true&limit=200",
    "change token (each poll)": "/api/changes?flow_run={id}",
}


def bench_run_api(base: str, run_id: str, rounds: int) -> dict[str, tuple[float, float]]:
    """Each request of the run page: the first one after the server started (nothing kept
    yet), then the median of `rounds` more, interleaved; ms."""
    client = httpx.Client(base_url=base, timeout=120)
    times: dict[str, list[float]] = {k: [] for k in RUN_REQUESTS}
    for _ in range(rounds + 1):
        for kind, path in RUN_REQUESTS.items():
            started = time.perf_counter()
            response = client.get(path.format(id=run_id))
            times[kind].append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
    return {k: (ts[0], statistics.median(ts[1:])) for k, ts in times.items()}


def bench_page(base: str, run_id: str, rounds: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    seconds: list[float] = []
    sums: list[float] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                             args=CHROMIUM_ARGS)
        for i in range(rounds + 1):
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            started = time.perf_counter()
            page.goto(f"{base}/runs/{run_id}")
            page.wait_for_selector("[data-testid=run-header] h1", timeout=120_000)
            page.wait_for_selector("[data-testid=timeline-note][data-bars]", timeout=120_000)
            took = time.perf_counter() - started
            page.wait_for_selector("[data-testid=task-summary] .counts", timeout=120_000)
            summed = time.perf_counter() - started
            nodes = page.evaluate("document.getElementsByTagName('*').length")
            if i == 0:
                print(f"  (warm-up {took:.2f} s; the page has {nodes} DOM elements)")
            else:
                seconds.append(took)
                sums.append(summed)
            context.close()
        browser.close()
    print(f"  task sums drawn too: median {statistics.median(sums):.2f} s "
          f"(min {min(sums):.2f}, max {max(sums):.2f})")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=40, help="per query kind")
    parser.add_argument("--rounds", type=int, default=5, help="page loads")
    parser.add_argument("--db", help="SQLite file to generate (or reuse if it exists)")
    parser.add_argument("--url", help="a store URL instead of --db (e.g. a PostgreSQL schema "
                        "of its own: ...?options=-csearch_path%%3Dbench); filled if it has "
                        "no flow runs, reused if it has")
    parser.add_argument("--port", type=int, default=0, help="default: a free one")
    args = parser.parse_args()

    path = Path(args.db) if args.db else Path(tempfile.mkdtemp()) / "bench.db"
    url = args.url or f"sqlite:///{path}"
    meta = path.with_suffix(".json")
    big = existing_big_run(url) if args.url else None
    if big is not None:
        print("reusing the store's flow runs")
    elif not args.url and path.exists() and meta.exists():
        big = json.loads(meta.read_text())["big"]
        print(f"reusing {path}")
    else:
        started = time.perf_counter()
        big = generate(url, args.runs, args.tasks)
        if not args.url:
            meta.write_text(json.dumps({"big": big}))
        print(f"generated {args.runs:,} flow runs and {args.tasks:,} task runs in "
              f"{time.perf_counter() - started:.0f} s")
    port = args.port or free_port()
    proc = start_server(url, port)
    base = f"http://127.0.0.1:{port}"
    try:
        print(f"runs-list API over {args.runs:,} flow runs ({args.requests} requests each):")
        for kind, (p50, p95) in bench_api(base, args.requests).items():
            print(f"  {kind:<18} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms")
        print(f"the run page's requests at {args.tasks:,} task runs (first after the server "
              f"started, then median of {args.rounds}):")
        for kind, (first, median) in bench_run_api(base, big, args.rounds).items():
            print(f"  {kind:<26} first {first:7.1f} ms   then {median:7.1f} ms")
        print(f"flow run page with {args.tasks:,} task runs, Chromium, until interactive:")
        seconds = bench_page(base, big, args.rounds)
        print(f"  median {statistics.median(seconds):.2f} s (min {min(seconds):.2f}, "
              f"max {max(seconds):.2f}, {len(seconds)} loads)")
        print("load average (1, 5, 15 min): " + " ".join(f"{x:.1f}" for x in os.getloadavg()))
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
