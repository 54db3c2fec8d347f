"""The UI in a real browser: the runs list, a run's timeline, graph and logs, a live run
followed until it finishes, cancelling a running run, resuming a failed one, an asset's
lineage."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from playwright.sync_api import expect

from tests.server.live import run_flows, serving, start_gated

pytestmark = pytest.mark.timeout(240)


def open_run(page: Any, flow: str) -> None:
    """Click the name of the runs list's row of `flow`."""
    page.locator("[data-testid=runs-body] tr", has_text=flow).get_by_role("link").first.click()


@pytest.fixture
def served(sqlite_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A server over a store where `pipeline` and `broken` ran; yields (base URL, store URL)."""
    run_flows(sqlite_url, tmp_path)
    with serving(sqlite_url) as base:
        yield base, sqlite_url


def test_the_runs_list_opens_a_run_with_its_timeline_graph_and_logs(
    served: tuple[str, str], page: Any,
) -> None:
    base, _ = served
    page.goto(f"{base}/runs")
    rows = page.locator("[data-testid=runs-body] tr")
    expect(rows).to_have_count(2)  # subflows are nested, not top-level rows
    expect(page.locator("[data-testid=counts]")).to_contain_text("completed 2")
    expect(page.locator("[data-testid=runs-chart]")).to_be_visible()

    page.get_by_test_id("expand-subflows").click()
    expect(rows).to_have_count(3)
    expect(page.locator("tr.child")).to_contain_text("child")

    open_run(page, "pipeline")
    expect(page).to_have_url(re.compile(r"/runs/[0-9a-f-]{36}$"))
    expect(page.get_by_test_id("run-header")).to_contain_text("Completed")
    expect(page.get_by_test_id("task-summary")).to_contain_text("6 task runs")
    expect(page.locator("#timeline .vis-item")).to_have_count(6)
    expect(page.get_by_test_id("timeline-note")).to_contain_text("6 task runs in this window")

    page.locator("[data-tab=Graph]").click()
    expect(page.get_by_test_id("graph-note")).to_contain_text("7 runs")
    page.locator("[data-tab=Logs]").click()
    logs = page.get_by_test_id("logs")
    expect(logs).to_contain_text("working on 3")
    expect(logs.locator(".line", has_text="adding up").get_by_role("link")).to_have_text(
        re.compile(r"^total-"))
    page.get_by_test_id("log-level").select_option("30")
    expect(logs.locator(".line")).to_have_count(1)
    expect(logs).to_contain_text("adding up")


def test_the_runs_list_filters_by_state(served: tuple[str, str], page: Any) -> None:
    base, _ = served
    page.goto(f"{base}/runs")
    page.get_by_test_id("filter-state").select_option("FAILED")

    expect(page).to_have_url(re.compile(r"state=FAILED"))
    expect(page.locator("[data-testid=runs-body] tr")).to_have_count(1)
    expect(page.get_by_test_id("runs-body")).to_contain_text("broken")


def test_a_task_run_page_shows_its_states_inputs_and_logs(
    served: tuple[str, str], page: Any,
) -> None:
    base, _ = served
    page.goto(f"{base}/runs")
    open_run(page, "pipeline")
    page.locator("[data-tab='Task runs']").click()
    page.get_by_test_id("task-runs-body").get_by_role("link").first.click()

    header = page.get_by_test_id("task-run-header")
    expect(header).to_contain_text("double")
    expect(header).to_contain_text('"x": 0')
    expect(page.get_by_test_id("attempts")).to_have_text("1")
    expect(page.get_by_test_id("states")).to_contain_text("Completed")
    expect(page.get_by_test_id("logs")).to_contain_text("doubling 0")


def test_a_live_run_is_followed_until_it_finishes(
    sqlite_url: str, tmp_path: Path, page: Any,
) -> None:
    release = tmp_path / "release"
    proc = start_gated(sqlite_url, release)
    try:
        with serving(sqlite_url) as base:
            page.goto(f"{base}/runs")
            row = page.locator("[data-testid=runs-body] tr", has_text="gated")
            expect(row.locator("[data-state=RUNNING]")).to_be_visible()  # the list updates
            row.get_by_role("link").first.click()
            header = page.get_by_test_id("run-header")
            expect(header.locator("[data-state=RUNNING]")).to_be_visible()
            expect(page.get_by_test_id("cancel")).to_be_enabled()

            release.touch()

            # No reload: the page follows the run.
            expect(header.locator("[data-state=COMPLETED]")).to_be_visible()
            expect(page.get_by_test_id("cancel")).to_have_count(0)
            expect(page.get_by_test_id("task-summary")).to_contain_text("completed 4")
            page.locator("[data-tab=Logs]").click()
            expect(page.get_by_test_id("logs")).to_contain_text("Finished in state Completed")
        proc.wait(timeout=60)
    finally:
        release.touch()
        proc.kill()
        proc.communicate()


def test_a_running_run_is_cancelled_from_its_page(
    sqlite_url: str, tmp_path: Path, page: Any,
) -> None:
    release = tmp_path / "release"
    proc = start_gated(sqlite_url, release)
    try:
        with serving(sqlite_url) as base:
            page.goto(f"{base}/runs")
            row = page.locator("[data-testid=runs-body] tr", has_text="gated")
            expect(row.locator("[data-state=RUNNING]")).to_be_visible()
            row.get_by_role("link").first.click()
            page.get_by_test_id("cancel").click()
            expect(page.get_by_test_id("cancel-note")).to_contain_text("Asked flow run")
            header = page.get_by_test_id("run-header")
            # The tasks wait inside their calls until the run has seen the request.
            expect(header.locator("[data-state=CANCELLING]")).to_be_visible()
            release.touch()

            expect(header.locator("[data-state=CANCELLED]")).to_be_visible()
            expect(page.get_by_test_id("cancel")).to_have_count(0)
        proc.wait(timeout=60)
    finally:
        release.touch()
        proc.kill()
        proc.communicate()


def test_a_failed_run_is_resumed_from_its_page_and_completes(
    sqlite_url: str, tmp_path: Path, page: Any,
) -> None:
    import subprocess
    import sys
    import textwrap

    from tests.server.test_resume_api import FLOW
    from tests.store.processes import env_for

    script = tmp_path / "three.py"
    script.write_text(textwrap.dedent(FLOW))
    (tmp_path / "source.txt").write_text("broken")
    subprocess.run([sys.executable, str(script)], env=env_for(sqlite_url), capture_output=True,
                   timeout=120, check=False)
    (tmp_path / "source.txt").write_text("fixed")
    with serving(sqlite_url) as base:
        page.goto(f"{base}/runs")
        open_run(page, "three")
        header = page.get_by_test_id("run-header")
        expect(header.locator("[data-state=FAILED]")).to_be_visible()
        page.get_by_test_id("resume").click()
        expect(page.get_by_test_id("resume-note")).to_contain_text("(attempt 2)")

        expect(header.locator("[data-state=COMPLETED]")).to_be_visible(timeout=60_000)
        expect(page.get_by_test_id("resume")).to_have_count(0)
    assert (tmp_path / "ran.txt").read_text().split() == ["1", "2", "2", "3"]


def test_an_assets_lineage_opens_from_the_catalog(served: tuple[str, str], page: Any) -> None:
    base, _ = served
    page.goto(f"{base}/assets")
    page.get_by_role("link", name="file://warehouse/report.csv").click()

    expect(page).to_have_url(re.compile(r"/assets/view\?key=file"))
    expect(page.locator("main")).to_contain_text("upstream: file://warehouse/raw.csv")
    expect(page.get_by_test_id("materializations")).to_contain_text("succeeded")
    expect(page.locator("#lineage canvas").first).to_be_attached()
    page.get_by_role("link", name=re.compile(r"^[0-9a-f]{8}$")).first.click()
    expect(page.get_by_test_id("run-header")).to_contain_text("pipeline")


def _write(url: str, *records: Any) -> None:
    from headwater.events._rows import BatchBuilder
    from headwater.store import sql_store

    builder = BatchBuilder(set())
    builder.add_all(records)
    store = sql_store(url)
    try:
        store.write_batch(builder.build(now=time.time()))
    finally:
        store.close()


def _tasks(run_id: UUID, key: str, n: int) -> list[Any]:
    from headwater.core.states import Completed
    from headwater.events.records import DependencyAdded, StateChanged, TaskRunCreated

    ids = [uuid4() for _ in range(n)]
    return [record for i, task_id in enumerate(ids) for record in (
        TaskRunCreated(task_id, f"{key}-{i}", key, f"m.{key}", run_id, {}, frozenset(),
                       time.time()),
        StateChanged(task_id, "task", Completed(), 1),
        *([DependencyAdded(task_id, ids[i - 1], "x")] if i else []))]


def test_a_big_running_runs_grouped_graph_follows_it_until_it_finishes(
    sqlite_url: str, page: Any,
) -> None:
    from headwater.core.states import Completed, Running
    from headwater.events.records import FlowRunCreated, StateChanged

    run_id = uuid4()
    _write(sqlite_url, FlowRunCreated(run_id, "big", "big", None, {}, frozenset(), None, None,
                                      time.time()),
           StateChanged(run_id, "flow", Running(), 1), *_tasks(run_id, "a", 301))
    with serving(sqlite_url, detect_crashes=False) as base:
        page.goto(f"{base}/runs/{run_id}")
        expect(page.get_by_test_id("task-summary")).to_contain_text("301 task runs")
        page.locator("[data-tab=Graph]").click()
        note = page.get_by_test_id("graph-note")
        expect(note).to_contain_text("1 tasks (each node is every run of one task)")

        # Two changes in a row, the last one the run's end: the graph draws the last one
        _write(sqlite_url, *_tasks(run_id, "b", 3))
        _write(sqlite_url, StateChanged(run_id, "flow", Completed(), 1))

        expect(page.get_by_test_id("run-header").locator("[data-state=COMPLETED]")).to_be_visible()
        expect(note).to_contain_text("2 tasks (each node is every run of one task)")
