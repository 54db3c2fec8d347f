"""Runs one script through `python -m headwater.compat`'s entry point, with the engine's clock
frozen (retry delays are recorded, not slept) and every run record captured; writes a JSON
summary for the acceptance test to check. Usage: python harness.py REPORT.json SCRIPT.py [ARGS...]
"""

from __future__ import annotations

import json
import sys

from headwater.compat.__main__ import main
from headwater.engine.runtime import use_clock
from headwater.events.records import StateChanged
from headwater.testing import FrozenClock, capture_events


def run(report_path: str, script: str, *args: str) -> int:
    clock = FrozenClock()
    error = None
    with use_clock(clock), capture_events() as events:
        try:
            code = main([script, *args])
        except BaseException as exc:  # the summary is written whatever the script does
            code, error = 1, repr(exc)
    summary = {
        "exit_code": code,
        "error": error,
        "slept": clock.slept,
        "flow_runs": [
            {"name": r.name, "flow_name": r.flow_name,
             "states": events.state_names(r.flow_run_id),
             "parent": str(r.parent_flow_run_id) if r.parent_flow_run_id else None}
            for r in events.flow_runs()
        ],
        "task_runs": [
            {"task_name": r.task_name, "states": events.state_names(r.task_run_id)}
            for r in events.task_runs()
        ],
        "messages": events.messages(),
        "events": [
            {"name": r.name, "resource": r.resource.get("headwater.resource.id")}
            for r in events.records
            if type(r).__name__ == "Event"
        ],
        "state_changes": sum(isinstance(r, StateChanged) for r in events.records),
    }
    with open(report_path, "w", encoding="utf-8") as out:
        json.dump(summary, out, ensure_ascii=False, indent=1)
    return code


if __name__ == "__main__":
    sys.exit(run(sys.argv[1], sys.argv[2], *sys.argv[3:]))
