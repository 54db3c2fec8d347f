"""Ctrl-C and SIGTERM end a run Crashed, with hooks run and the state recorded first."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

SCRIPT = textwrap.dedent("""
    import sys, time
    from headwater import flow, task
    from headwater.engine.runtime import set_sink
    from headwater.events import EventSink
    from headwater.events.records import StateChanged

    class PrintingSink(EventSink):
        def emit(self, record):
            if isinstance(record, StateChanged):
                print(f"state {record.kind} {record.state.name}", flush=True)

    set_sink(PrintingSink())

    def crashed_hook(flow, run, state):
        print(f"on_crashed: {state.message}", flush=True)

    @task
    def wait_forever():
        print("started", flush=True)
        while True:
            time.sleep(0.01)

    @flow(on_crashed=[crashed_hook])
    def stuck():
        wait_forever()

    stuck()
""")


def _start() -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    for line in proc.stdout:
        if line.strip() == "started" or time.monotonic() > deadline:
            break
    return proc


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigterm_during_a_run_ends_it_crashed_after_running_hooks() -> None:
    proc = _start()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "state task Crashed" in out
    assert "state flow Crashed" in out
    assert "on_crashed: Execution was aborted by a termination signal." in out
    assert "Traceback" not in err


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_during_a_run_ends_it_crashed_and_exits_with_keyboard_interrupt() -> None:
    proc = _start()
    os.kill(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode != 0
    assert "state flow Crashed" in out
    assert "on_crashed: Execution was aborted by an interrupt signal." in out
    assert "KeyboardInterrupt" in err
