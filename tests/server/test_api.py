"""The JSON API over a store that real flow runs were recorded in, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest

from tests.server.live import poll_json, serving, start_gated
from tests.store.processes import wait_until

pytestmark = pytest.mark.timeout(180)


def the_run(api: httpx.Client, flow: str) -> dict[str, object]:
    [run] = api.get("/api/flow_runs", params={"flow": flow}).json()["items"]
    return run  # type: ignore[no-any-return]


def test_the_runs_list_shows_top_level_runs_with_their_subflow_counts(api: httpx.Client) -> None:
    everything = api.get("/api/flow_runs").json()["items"]
    roots = api.get("/api/flow_runs", params={"roots": "true"}).json()["items"]

    assert sorted(r["flow_name"] for r in everything) == ["broken", "child", "pipeline"]
    assert [(r["flow_name"], r["subflows"]) for r in roots] == [("broken", 0), ("pipeline", 1)]
    pipeline = roots[1]
    [child] = api.get("/api/flow_runs", params={"parent": pipeline["id"]}).json()["items"]
    assert child["flow_name"] == "child" and child["parent_flow_run_id"] == pipeline["id"]
    assert pipeline["tags"] == ["nightly"] and pipeline["state_type"] == "COMPLETED"


def test_runs_are_filtered_by_state_and_tag_and_paged_with_a_cursor(api: httpx.Client) -> None:
    failed = api.get("/api/flow_runs", params={"state": "failed"}).json()["items"]
    first = api.get("/api/flow_runs", params={"limit": 2}).json()
    rest = api.get("/api/flow_runs", params={"limit": 2, "cursor": first["next_cursor"]}).json()

    assert [r["flow_name"] for r in failed] == ["broken"]
    assert api.get("/api/flow_runs", params={"tag": "nope"}).json()["items"] == []
    assert len(api.get("/api/flow_runs", params={"tag": "nightly"}).json()["items"]) == 3
    assert len(first["items"]) == 2 and rest["next_cursor"] is None
    assert {r["id"] for r in first["items"] + rest["items"]} == {
        r["id"] for r in api.get("/api/flow_runs").json()["items"]}


def test_runs_are_counted_by_state_and_over_time(api: httpx.Client) -> None:
    counts = api.get("/api/flow_runs/counts").json()
    histogram = api.get("/api/flow_runs/histogram", params={"buckets": 4}).json()

    assert counts == {"total": 3, "states": {"COMPLETED": 2, "FAILED": 1}}
    assert len(histogram["buckets"]) == 4
    assert histogram["buckets"][-1] == {"COMPLETED": 2, "FAILED": 1}


def test_a_runs_states_are_paged_after_the_last_id_seen(api: httpx.Client) -> None:
    run_id = the_run(api, "pipeline")["id"]

    first = api.get(f"/api/flow_runs/{run_id}/states", params={"limit": 2}).json()
    rest = api.get(f"/api/flow_runs/{run_id}/states",
                   params={"after_id": first[-1]["id"], "limit": 2}).json()

    assert [s["name"] for s in first + rest] == ["Pending", "Running", "Completed"]
    assert first[0]["id"] < first[1]["id"] < rest[0]["id"]


def test_one_run_has_its_parameters_result_states_and_task_run_sums(api: httpx.Client) -> None:
    run_id = the_run(api, "pipeline")["id"]

    run = api.get(f"/api/flow_runs/{str(run_id)[:30]}").json()
    states = api.get(f"/api/flow_runs/{run_id}/states").json()
    summary = api.get(f"/api/flow_runs/{run_id}/task_runs/summary").json()

    assert run["parameters"] == {"n": 3} and run["result"] == "12"
    assert run["cancel_requested"] is False
    assert run["change_token"] == api.get("/api/changes", params={"flow_run": run_id}).json()[
        "token"]  # nothing changed since: the page polls for a different one
    assert [s["name"] for s in states] == ["Pending", "Running", "Completed"]
    assert summary["total"] == 6 and summary["states"] == {"COMPLETED": 6}
    by_task = {t["task_name"]: t["total"] for t in summary["tasks"]}
    assert by_task == {"double": 3, "total": 1, "extract": 1, "report": 1}


def test_task_runs_page_and_one_task_run_reads_back(api: httpx.Client) -> None:
    run_id = the_run(api, "pipeline")["id"]

    first = api.get(f"/api/flow_runs/{run_id}/task_runs", params={"limit": 4}).json()
    rest = api.get(f"/api/flow_runs/{run_id}/task_runs",
                   params={"limit": 4, "cursor": first["next_cursor"]}).json()
    doubles = api.get(f"/api/flow_runs/{run_id}/task_runs", params={"task_key": first[
        "items"][0]["task_key"]}).json()["items"]
    task = api.get(f"/api/task_runs/{first['items'][0]['id']}").json()

    assert len(first["items"]) == 4 and len(rest["items"]) == 2 and rest["next_cursor"] is None
    assert [t["task_name"] for t in doubles] == ["double"] * 3
    assert task["task_name"] == "double" and task["parameters"] == {"x": 0}
    assert task["result"] == "0" and task["run_count"] == 1
    assert [s["type"] for s in api.get(f"/api/task_runs/{task['id']}/states").json()][-1] == (
        "COMPLETED")
    lines = api.get(f"/api/task_runs/{task['id']}/logs").json()["items"]
    assert lines[0]["message"] == "doubling 0"
    assert {line["task_run_name"] for line in lines} == {task["name"]}


def test_the_timeline_sends_the_bars_of_a_window_and_how_many_ran_in_it(
    api: httpx.Client,
) -> None:
    run_id = the_run(api, "pipeline")["id"]

    whole = api.get(f"/api/flow_runs/{run_id}/timeline").json()
    by_prefix = api.get(f"/api/flow_runs/{str(run_id)[:18]}/timeline").json()
    capped = api.get(f"/api/flow_runs/{run_id}/timeline", params={"limit": 2}).json()
    before = api.get(f"/api/flow_runs/{run_id}/timeline",
                     params={"start": 1.0, "end": whole["run_start"] - 1}).json()

    assert whole["in_window"] == 6 and len(whole["bars"]) == 6 and not whole["truncated"]
    starts = [b["start_time"] for b in whole["bars"]]
    assert starts == sorted(starts)
    assert capped["in_window"] == 6 and len(capped["bars"]) == 2 and capped["truncated"]
    assert before["in_window"] == 0 and before["bars"] == []
    # The page asks for the first bars with the run: the token tells it whether both agree
    assert by_prefix == whole
    assert whole["change_token"] == api.get(f"/api/flow_runs/{run_id}").json()["change_token"]


def test_the_graph_links_task_runs_to_what_they_used(api: httpx.Client) -> None:
    run_id = the_run(api, "pipeline")["id"]

    graph = api.get(f"/api/flow_runs/{run_id}/graph").json()

    labels = {n["id"]: n["label"] for n in graph["nodes"]}
    kinds = sorted(n["kind"] for n in graph["nodes"])
    assert not graph["grouped"] and kinds == ["flow_run"] + ["task_run"] * 6
    into_total = [labels[e["source"]] for e in graph["edges"]
                  if labels[e["target"]].startswith("total")]
    assert sorted(label.split("-")[0] for label in into_total) == ["double"] * 3


def test_logs_carry_task_run_names_and_filter_by_level_and_follow(api: httpx.Client) -> None:
    run_id = the_run(api, "pipeline")["id"]

    lines = api.get(f"/api/flow_runs/{run_id}/logs").json()
    warnings = api.get(f"/api/flow_runs/{run_id}/logs", params={"min_level": 30}).json()
    after = api.get(f"/api/flow_runs/{run_id}/logs", params={"after_id": lines["last_id"]}).json()

    messages = [line["message"] for line in lines["items"]]
    assert "working on 3" in messages and "doubling 2" in messages
    named = {line["message"]: line["task_run_name"] for line in lines["items"]}
    assert named["working on 3"] is None and named["adding up"].startswith("total-")
    assert [line["message"] for line in warnings["items"]] == ["adding up"]
    assert after == {"items": [], "last_id": lines["last_id"]}


def test_assets_flows_and_lineage_read_back(api: httpx.Client) -> None:
    assets = api.get("/api/assets").json()
    detail = api.get("/api/assets/detail", params={"key": "file://warehouse/report.csv"}).json()
    lineage = api.get("/api/assets/lineage", params={"key": "file://warehouse/raw.csv"}).json()
    flows = api.get("/api/flows").json()

    assert [a["key"] for a in assets] == ["file://warehouse/raw.csv",
                                          "file://warehouse/report.csv"]
    assert detail["asset"]["materializations"] == 1
    assert detail["materializations"][0]["upstream"] == ["file://warehouse/raw.csv"]
    assert lineage["downstream"] == ["file://warehouse/report.csv"]
    assert [(f["name"], f["runs"]) for f in flows] == [("broken", 1), ("child", 1),
                                                       ("pipeline", 1)]


def test_errors_are_json_that_say_what_to_do(api: httpx.Client) -> None:
    missing = api.get("/api/flow_runs/0000dead")
    bad_state = api.get("/api/flow_runs", params={"state": "done"})
    bad_cursor = api.get("/api/flow_runs", params={"cursor": "yesterday"})
    bad_limit = api.get("/api/flow_runs", params={"limit": "lots"})
    no_asset = api.get("/api/assets/detail", params={"key": "file://warehouse/rpt.csv"})
    finished = api.post(f"/api/flow_runs/{the_run(api, 'broken')['id']}/cancel")

    assert missing.status_code == 404 and "No flow run has the id '0000dead'" in missing.json()[
        "message"]
    assert bad_state.status_code == 422 and "'done' is not a state type" in bad_state.json()[
        "message"]
    assert bad_cursor.status_code == 422 and "next_cursor" in bad_cursor.json()["message"]
    assert bad_limit.status_code == 422 and "limit='lots'" in bad_limit.json()["message"]
    assert no_asset.status_code == 404 and "Did you mean 'file://warehouse/report.csv'" in (
        no_asset.json()["message"])
    assert finished.status_code == 409 and "already finished" in finished.json()["message"]
    assert "Traceback" not in missing.text + bad_state.text + finished.text


def test_a_running_run_changes_token_and_is_cancelled_from_the_api(
    store_url: str, tmp_path: Path,
) -> None:
    release = tmp_path / "release"
    proc = start_gated(store_url, release)
    try:
        with serving(store_url) as base, httpx.Client(base_url=base, timeout=30) as api:
            page = poll_json(api, "/api/flow_runs", lambda b: any(
                r["state_type"] == "RUNNING" for r in b["items"]))
            [run] = page["items"]
            token = api.get("/api/changes", params={"flow_run": run["id"]}).json()["token"]

            answer = api.post(f"/api/flow_runs/{run['id']}/cancel",
                              headers={"Origin": base, "Sec-Fetch-Site": "same-origin"})
            # The tasks wait inside their calls until the run has seen the request.
            poll_json(api, f"/api/flow_runs/{run['id']}",
                      lambda b: b["state_type"] == "CANCELLING")
            release.touch()
            final = poll_json(api, f"/api/flow_runs/{run['id']}",
                              lambda b: b["state_type"] in ("CANCELLED", "COMPLETED"))

            assert answer.status_code == 200 and "Asked flow run" in answer.json()["message"]
            assert final["state_name"] == "Cancelled" and final["cancel_requested"] is True
            assert api.get("/api/changes", params={"flow_run": run["id"]}).json()[
                "token"] != token
            assert final["change_token"] != token
        wait_until(lambda: proc.poll() is not None, timeout=60)
    finally:
        release.touch()
        proc.kill()
        proc.communicate()


def test_actions_from_another_origin_are_refused(sqlite_url: str) -> None:
    with serving(sqlite_url) as base, httpx.Client(base_url=base, timeout=30) as api:
        cross = api.post("/api/flow_runs/x/cancel", headers={"Origin": "https://evil.example"})
        fetch = api.post("/api/flow_runs/x/cancel", headers={"Sec-Fetch-Site": "cross-site"})
        same = api.post("/api/flow_runs/x/cancel", headers={"Origin": base})

    assert cross.status_code == 403 and "another origin" in cross.json()["message"]
    assert fetch.status_code == 403
    assert same.status_code == 404  # allowed through: there is no run "x"


def test_with_auth_every_request_needs_the_password(sqlite_url: str) -> None:
    good = base64.b64encode(b"ada:s3cret").decode()
    bad = base64.b64encode(b"ada:guess").decode()
    with serving(sqlite_url, auth="ada:s3cret") as base, httpx.Client(base_url=base) as api:
        none = api.get("/api/flow_runs")
        wrong = api.get("/api/flow_runs", headers={"Authorization": f"Basic {bad}"})
        right = api.get("/api/flow_runs", headers={"Authorization": f"Basic {good}"})
        page = api.get("/runs", headers={"Authorization": f"Basic {good}"})

    assert none.status_code == 401 and none.headers["www-authenticate"].startswith("Basic")
    assert wrong.status_code == 401 and "s3cret" not in wrong.text
    assert right.status_code == 200 and page.status_code == 200


def test_the_openapi_spec_and_docs_are_served(sqlite_url: str) -> None:
    with serving(sqlite_url) as base, httpx.Client(base_url=base) as api:
        spec = api.get("/openapi.json").json()
        docs = api.get("/docs")

    assert "/api/flow_runs" in spec["paths"] and "/api/flow_runs/{run_id}/cancel" in spec["paths"]
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
