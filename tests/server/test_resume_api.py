"""POST /api/flow_runs/{id}/resume: the server resumes a failed run in a process of its own."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import httpx

from tests.server.live import poll_json, serving
from tests.store.processes import env_for

FLOW = """
    import os
    from pathlib import Path
    from headwater import flow, task

    HERE = Path(__file__).parent

    @task
    def step(i: int) -> int:
        with open(HERE / "ran.txt", "a") as f:
            f.write(f"{i}\\n")
        if i == 2 and (HERE / "source.txt").read_text() == "broken":
            raise ValueError("broken")
        return i

    @flow(persist_result=True)
    def three() -> int:
        return step(1) + step(2) + step(3)

    if __name__ == "__main__":
        three(return_state=True)
"""

SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}


def test_a_failed_run_is_resumed_from_the_api_and_completes(store_url: str,
                                                           tmp_path: Path) -> None:
    script = tmp_path / "three.py"
    script.write_text(textwrap.dedent(FLOW))
    (tmp_path / "source.txt").write_text("broken")
    subprocess.run([sys.executable, str(script)], env=env_for(store_url), capture_output=True,
                   timeout=120, check=False)
    (tmp_path / "source.txt").write_text("fixed")

    with serving(store_url) as base, httpx.Client(base_url=base, timeout=30) as api:
        [run] = api.get("/api/flow_runs").json()["items"]
        assert run["state_type"] == "FAILED"
        answer = api.post(f"/api/flow_runs/{run['id']}/resume",
                          headers={**SAME_ORIGIN, "Origin": base})
        final = poll_json(api, f"/api/flow_runs/{run['id']}",
                          lambda b: b["state_type"] == "COMPLETED", timeout=90)
        again = api.post(f"/api/flow_runs/{run['id']}/resume",
                         headers={**SAME_ORIGIN, "Origin": base})

    assert answer.status_code == 202, answer.text
    assert answer.json()["message"].startswith(f"Resuming flow run {run['name']!r} (attempt 2)")
    assert (final["state_name"], final["run_count"]) == ("Completed", 2)
    assert (tmp_path / "ran.txt").read_text().split() == ["1", "2", "2", "3"]
    assert again.status_code == 409
    assert "there is nothing left to run" in again.json()["message"]
