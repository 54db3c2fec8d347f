"""The examples in examples/ run and print what the seed tutorial shows.

The seed (the first three examples of the Prefect tutorial this project starts from) shows
`Hello world`, the three Chinese lines of the class flows, and `the number N is even|odd`;
Prefect also writes `Beginning flow run` / `Finished in state Completed()` log lines to stderr.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
LOG_LINE = r"\d{2}:\d{2}:\d{2}\.\d{3} \| INFO    \| Flow run '[^']+' - "


def run_python(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    env["PYTHONIOENCODING"] = "utf-8"
    env["HEADWATER_HOME"] = str(cwd / "headwater-home")
    result = subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result


def run_example(name: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_python([str(EXAMPLES / name)], cwd)


RUN_LINE = re.compile(LOG_LINE.replace("'[^']+'", "'(?P<run>[^']+)'") + "(?P<message>.*)$")


def flow_lines(stderr: str, flow_name: str) -> list[str]:
    """The console messages of the runs of one flow, in order."""
    lines = [m for m in map(RUN_LINE.match, stderr.splitlines()) if m is not None]
    runs = {
        m["run"]
        for m in lines
        if re.fullmatch(
            f"Beginning (sub)?flow run '[^']+' for flow {re.escape(repr(flow_name))}", m["message"]
        )
    }
    return [m["message"] for m in lines if m["run"] in runs]


def assert_flow_began_and_completed(stderr: str, flow_name: str) -> None:
    lines = flow_lines(stderr, flow_name)
    assert lines, f"no run of flow {flow_name!r} in:\n{stderr}"
    assert lines[0].startswith("Beginning ")
    assert lines[-1] == "Finished in state Completed()", stderr


def test_the_basic_flow_example_prints_hello_world(tmp_path: Path) -> None:
    result = run_example("basic_flow.py", tmp_path)

    assert result.stdout == "Hello world\n"
    assert_flow_began_and_completed(result.stderr, "test-flow")


def test_the_class_flows_example_prints_one_line_per_kind_of_method(tmp_path: Path) -> None:
    result = run_example("class_flows.py", tmp_path)

    assert result.stdout.splitlines() == ["实例方法流水线", "类方法流水线", "静态方法流水线"]
    for flow_name in ("instance-methods-flow", "class-methods-flow", "static-methods-flow"):
        assert_flow_began_and_completed(result.stderr, flow_name)


def check_even_or_odd(result: subprocess.CompletedProcess[str]) -> int:
    match = re.fullmatch(r"the number (\d+) is (even|odd)\n", result.stdout)
    assert match is not None, result.stdout
    number, parity = int(match[1]), match[2]
    assert 0 <= number <= 100
    assert parity == ("even" if number % 2 == 0 else "odd")
    assert_flow_began_and_completed(result.stderr, "even or odd")
    assert_flow_began_and_completed(result.stderr, "even number")
    assert re.search(
        LOG_LINE + "Beginning subflow run '[^']+' for flow 'even number'$",
        result.stderr,
        re.MULTILINE,
    ), result.stderr
    assert re.search(
        r"\| INFO    \| Task run 'generate_a_number-[0-9a-f]{3}' - Finished in state Completed\(\)",
        result.stderr,
    ), result.stderr
    return number


def test_the_nested_flows_example_says_whether_its_number_is_even(tmp_path: Path) -> None:
    check_even_or_odd(run_example("nested_flows.py", tmp_path))


@pytest.mark.parametrize("number", [30, 49], ids=["even", "odd"])
def test_the_nested_flows_example_takes_both_branches(tmp_path: Path, number: int) -> None:
    # The example draws with random.randint; pin it so both branches run.
    script = (
        "import random, runpy, sys\n"
        f"random.randint = lambda low, high: {number}\n"
        "runpy.run_path(sys.argv[1], run_name='__main__')\n"
    )
    result = run_python(["-c", script, str(EXAMPLES / "nested_flows.py")], tmp_path)

    assert check_even_or_odd(result) == number


def test_the_hello_example_logs_its_printed_line(tmp_path: Path) -> None:
    result = run_example("hello.py", tmp_path)

    assert result.stdout == ""  # log_prints=True: the print became a log line
    assert re.search(LOG_LINE + "HELLO, WORLD!$", result.stderr, re.MULTILINE), result.stderr
    assert_flow_began_and_completed(result.stderr, "hello")
