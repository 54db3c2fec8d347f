"""`headwater run`'s live progress line on a terminal: task runs done / running / failed.

It reads the run store (one grouped count a poll) from a thread while the flow runs in the
main thread; off a terminal nothing is drawn, and the console's plain log lines are all.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from headwater.store.base import FINAL_STATE_TYPES, FlowRunFilter

POLL_SECONDS = 0.5


def progress_text(counts: dict[str, int]) -> str:
    """`12 done · 3 running · 1 failed` from task run counts by state type."""
    done = sum(n for s, n in counts.items() if s in FINAL_STATE_TYPES)
    failed = sum(n for s, n in counts.items() if s in ("FAILED", "CRASHED"))
    running = counts.get("RUNNING", 0)
    return f"task runs: {done} done · {running} running · {failed} failed"


@contextmanager
def live_progress(flow_name: str, *, enabled: bool) -> Iterator[None]:
    """Draw the progress of the newest run of `flow_name` started from now, until the block
    ends (only when `enabled`: a terminal, and a store other processes can read)."""
    if not enabled:
        yield
        return
    from rich.console import Console
    from rich.live import Live

    from headwater.store import sql_store

    started = time.time()
    stop = threading.Event()
    console = Console(stderr=True)

    def watch(live: Live) -> None:
        store = sql_store()
        run_id = None
        try:
            while not stop.wait(POLL_SECONDS):
                try:
                    if run_id is None:
                        runs = store.read_flow_runs(FlowRunFilter(
                            flow_name=flow_name, created_after=started, roots_only=True,
                            limit=1))
                        run_id = runs[0].id if runs else None
                    if run_id is not None:
                        live.update(progress_text(store.count_task_runs(run_id)))
                except Exception:  # the display is a nicety: never fail the run for it
                    continue
        finally:
            store.close()

    with Live("task runs: starting", console=console, transient=True,
              refresh_per_second=4) as live:
        thread = threading.Thread(target=watch, args=(live,), daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=5)
