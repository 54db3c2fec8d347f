"""A task run's "Finished in state" line reads and is recorded the same whichever way it
goes: straight to headwater's console and sink (nothing else listening), or through `logging`
(a handler of the user's on the root logger sees it too).

pytest puts its own handlers on the root logger, so each case runs in a fresh interpreter.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap

import pytest

SCRIPT = """
import json, logging, sys
from headwater import flow, task
from headwater.events.memory import MemorySink
from headwater.engine.runtime import use_sink

if sys.argv[1] == "user-handler":
    class Keep(logging.Handler):
        seen = []
        def emit(self, record):
            Keep.seen.append([record.name, record.getMessage()])
    logging.getLogger().addHandler(Keep())
elif sys.argv[1] == "same-millisecond":
    # Every line at one instant: the line's start, kept per millisecond, must follow the level.
    import itertools
    from headwater.engine import logs
    logs._time = itertools.repeat(1_700_000_000.25).__next__
elif sys.argv[1] == "console-filter":
    # A filter on headwater's own console handler, which keeps task runs' lines off it.
    from headwater.engine.logs import setup_logging
    setup_logging()
    console_handler = logging.getLogger("headwater").handlers[0]
    console_handler.addFilter(lambda record: record.name != "headwater.task_runs")

@task
def ok(x):
    return x

@task
def bad():
    raise ValueError("no")

@flow
def pipeline():
    ok(1)
    bad(return_state=True)
    ok.submit(2).result()

@flow
def read_back():
    ok(1)
    with open(written, encoding="utf-8") as f:  # what reached the file, the buffer unflushed
        return f.read()

sink = MemorySink()
console = None
with use_sink(sink):
    if sys.argv[1] in ("block-buffered", "write-through", "unbuffered"):
        # A stderr that is not line-buffered (a program may set one up): a task run's line
        # must still be written out as it is logged, not when the buffer fills. Written
        # through to a buffered file, it still sits in that buffer; unbuffered, it does not.
        import io, tempfile
        written = tempfile.NamedTemporaryFile(suffix=".log", delete=False).name
        raw = open(written, "wb", buffering=0 if sys.argv[1] == "unbuffered" else -1)
        sys.stderr = io.TextIOWrapper(raw, encoding="utf-8", line_buffering=False,
                                      write_through=sys.argv[1] != "block-buffered")
        console = read_back()
    elif sys.argv[1] == "closed":
        # A stderr closed in the middle of the flow: the flow still ends, its lines recorded.
        import io
        real_stderr = sys.stderr

        @task
        def close_stderr():
            sys.stderr = io.TextIOWrapper(io.BytesIO(), line_buffering=True)
            sys.stderr.close()

        @flow
        def closing():
            ok(1)
            close_stderr()
            ok(2)
            bad(return_state=True)
            return "done"

        console = closing()
        sys.stderr = real_stderr
    else:
        pipeline()
lines = [
    {"task_run_id": str(r.task_run_id), "logger": r.logger, "level": r.level,
     "message": r.message}
    for r in sink.logs()
    if r.logger == "headwater.task_runs" and r.message.startswith("Finished in state")
]
runs = {str(r.task_run_id): r.name for r in sink.task_runs()}
seen = Keep.seen if sys.argv[1] == "user-handler" else None
print(json.dumps({"lines": lines, "runs": runs, "seen": seen, "console": console}))
"""

LINE = re.compile(
    r"^\d{2}:\d{2}:\d{2}\.\d{3} \| (?P<level>INFO   |ERROR  ) \| Task run '(?P<name>[^']+)' - "
    r"(?P<message>Finished in state .*)$", re.MULTILINE
)


def run(route: str) -> tuple[dict[str, object], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    env.update(HEADWATER_STORE="memory", PYTHONIOENCODING="utf-8")
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(SCRIPT), route],
                          capture_output=True, text=True, env=env, timeout=120, check=True)
    return json.loads(done.stdout.splitlines()[-1]), done.stderr


@pytest.mark.parametrize("route", ["direct", "user-handler", "same-millisecond"])
def test_each_task_run_has_one_finished_line_on_the_console_and_in_the_sink(
    route: str,
) -> None:
    out, console = run(route)
    lines, runs = out["lines"], out["runs"]
    assert isinstance(lines, list) and isinstance(runs, dict)
    assert len(runs) == 3
    assert sorted(line["task_run_id"] for line in lines) == sorted(runs)
    for line in lines:
        assert line["logger"] == "headwater.task_runs"
    levels = sorted((line["message"].split("(")[0], line["level"]) for line in lines)
    assert levels == [("Finished in state Completed", 20), ("Finished in state Completed", 20),
                      ("Finished in state Failed", 40)]
    printed = [m.groupdict() for m in LINE.finditer(console)]
    assert sorted((p["name"], p["message"]) for p in printed) == sorted(
        (runs[line["task_run_id"]], line["message"]) for line in lines)
    levels_by_name = {runs[line["task_run_id"]]: line["level"] for line in lines}
    assert [(p["name"], p["level"].strip()) for p in printed] == [
        (p["name"], "INFO" if levels_by_name[p["name"]] == 20 else "ERROR") for p in printed]
    assert {p["level"].strip() for p in printed} == {"INFO", "ERROR"}


def test_a_closed_stderr_fails_no_flow_and_loses_no_line_from_the_sink() -> None:
    out, _ = run("closed")
    lines, runs = out["lines"], out["runs"]
    assert out["console"] == "done"
    assert isinstance(lines, list) and isinstance(runs, dict) and len(runs) == 4
    finished = {runs[line["task_run_id"]].split("-")[0] for line in lines}
    assert len(lines) == 4 and finished == {"ok", "close_stderr", "bad"}


def test_a_handler_of_the_users_sees_the_lines_too() -> None:
    out, _ = run("user-handler")
    seen = out["seen"]
    assert isinstance(seen, list)
    assert sum(1 for name, message in seen
               if name == "headwater.task_runs" and message.startswith("Finished in state")) == 3


@pytest.mark.parametrize("stream", ["block-buffered", "write-through", "unbuffered"])
def test_a_line_reaches_a_stderr_that_is_not_line_buffered_at_once(stream: str) -> None:
    out, _ = run(stream)
    console, runs = out["console"], out["runs"]
    assert isinstance(console, str) and isinstance(runs, dict) and len(runs) == 1
    printed = [m.groupdict() for m in LINE.finditer(console)]
    assert [(p["name"], p["message"]) for p in printed] == [
        (name, "Finished in state Completed()") for name in runs.values()]


def test_a_filter_on_headwaters_console_handler_keeps_the_lines_off_the_console_only() -> None:
    out, console = run("console-filter")
    lines, runs = out["lines"], out["runs"]
    assert isinstance(lines, list) and isinstance(runs, dict) and len(runs) == 3
    assert sorted(line["task_run_id"] for line in lines) == sorted(runs)
    assert [m.group(0) for m in LINE.finditer(console)] == []
    assert "Finished in state" in console  # the flow run's own line still reaches it
