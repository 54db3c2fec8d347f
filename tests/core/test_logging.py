"""Run loggers, the console format, `HEADWATER_LOGGING_LEVEL` and `log_prints`.

The console handler writes to whatever `sys.stderr` is at the time, so `capsys` sees the lines.
Tests that change the process-wide logging configuration run in a subprocess.
"""

from __future__ import annotations

import builtins
import io
import logging
import os
import re
import subprocess
import sys
import textwrap
import threading

import pytest

from headwater import flow, get_run_logger, task
from headwater.engine.logs import setup_logging
from headwater.errors import HeadwaterError, MissingContextError, SettingError
from headwater.events.memory import MemorySink

TIME = r"\d{2}:\d{2}:\d{2}\.\d{3}"
FLOW_LINE = TIME + r" \| LEVEL \| Flow run '(?P<name>[^']+)' - MESSAGE$"
TASK_LINE = TIME + r" \| LEVEL \| Task run '(?P<name>[^']+)' - MESSAGE$"


def console_line(template: str, level: str, message: str) -> re.Pattern[str]:
    """A regex for one console line; `level` is padded to 7 characters as in Prefect."""
    pattern = template.replace("LEVEL", re.escape(f"{level:<7}")).replace("MESSAGE", message)
    return re.compile(pattern, re.MULTILINE)


def run_script(source: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `source` in a fresh interpreter, so its logging configuration stays there."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    full_env.update(env, PYTHONIOENCODING="utf-8")
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(source)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=full_env,
        timeout=60,
    )


# -- get_run_logger ---------------------------------------------------------------------------


def test_get_run_logger_in_a_flow_stamps_records_with_the_flow_run_id(
    events: MemorySink,
) -> None:
    @flow
    def greeter() -> None:
        get_run_logger().info("hello from the flow")

    greeter()

    [flow_run] = events.flow_runs()
    [record] = [r for r in events.logs() if r.message == "hello from the flow"]
    assert record.flow_run_id == flow_run.flow_run_id
    assert record.task_run_id is None
    assert record.logger == "headwater.flow_runs"
    assert record.level == logging.INFO


def test_get_run_logger_in_a_task_stamps_records_with_the_task_and_flow_run_ids(
    events: MemorySink,
) -> None:
    @task
    def worker() -> None:
        get_run_logger().warning("hello from the task")

    @flow
    def boss() -> None:
        worker()

    boss()

    [flow_run] = events.flow_runs()
    [task_run] = events.task_runs()
    [record] = [r for r in events.logs() if r.message == "hello from the task"]
    assert record.task_run_id == task_run.task_run_id
    assert record.flow_run_id == flow_run.flow_run_id
    assert record.logger == "headwater.task_runs"
    assert record.level == logging.WARNING
    assert "hello from the task" in events.messages(task_run.task_run_id)


def test_get_run_logger_in_a_task_outside_a_flow_has_no_flow_run_id(
    events: MemorySink,
) -> None:
    @task
    def lonely() -> None:
        get_run_logger().info("on my own")

    lonely()

    [task_run] = events.task_runs()
    [record] = [r for r in events.logs() if r.message == "on my own"]
    assert record.task_run_id == task_run.task_run_id
    assert record.flow_run_id is None


def test_flow_log_lines_show_on_the_console_in_prefects_format(
    events: MemorySink, capsys: pytest.CaptureFixture[str]
) -> None:
    @flow
    def console_flow() -> None:
        get_run_logger().info("message from the flow")

    console_flow()

    err = capsys.readouterr().err
    [flow_run] = events.flow_runs()
    line = console_line(FLOW_LINE, "INFO", "message from the flow").search(err)
    assert line is not None, err
    assert line["name"] == flow_run.name


def test_task_log_lines_show_on_the_console_with_the_task_run_name(
    events: MemorySink, capsys: pytest.CaptureFixture[str]
) -> None:
    @task
    def console_task() -> None:
        get_run_logger().info("message from the task")

    @flow
    def console_flow() -> None:
        console_task()

    console_flow()

    err = capsys.readouterr().err
    [task_run] = events.task_runs()
    line = console_line(TASK_LINE, "INFO", "message from the task").search(err)
    assert line is not None, err
    assert line["name"] == task_run.name
    assert re.fullmatch(r"console_task-[0-9a-f]{3}", task_run.name)


def test_console_lines_go_to_stderr_not_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    @flow
    def quiet_on_stdout() -> None:
        get_run_logger().info("only on stderr")

    quiet_on_stdout()

    out, err = capsys.readouterr()
    assert "only on stderr" in err
    assert "only on stderr" not in out


def test_a_flow_run_logs_beginning_and_finished_lines(
    events: MemorySink, capsys: pytest.CaptureFixture[str]
) -> None:
    @flow
    def my_flow() -> int:
        return 1

    my_flow()

    err = capsys.readouterr().err
    [flow_run] = events.flow_runs()
    name = re.escape(flow_run.name)
    beginning = console_line(
        FLOW_LINE, "INFO", f"Beginning flow run '{name}' for flow 'my-flow'"
    ).search(err)
    finished = console_line(FLOW_LINE, "INFO", re.escape("Finished in state Completed()")).search(
        err
    )
    assert beginning is not None, err
    assert finished is not None, err
    assert beginning.start() < finished.start()
    assert events.messages(flow_run.flow_run_id) == [
        f"Beginning flow run '{flow_run.name}' for flow 'my-flow'",
        "Finished in state Completed()",
    ]


def test_a_subflow_run_logs_beginning_subflow_run(
    events: MemorySink, capsys: pytest.CaptureFixture[str]
) -> None:
    @flow
    def child() -> None:
        pass

    @flow
    def parent() -> None:
        child()

    parent()

    [_, child_run] = events.flow_runs()
    assert f"Beginning subflow run '{child_run.name}' for flow 'child'" in events.messages(
        child_run.flow_run_id
    )
    assert "Beginning subflow run" in capsys.readouterr().err


def test_a_completed_task_run_logs_finished_at_info(
    events: MemorySink, capsys: pytest.CaptureFixture[str]
) -> None:
    @task
    def fine() -> int:
        return 1

    @flow
    def runner() -> None:
        fine()

    runner()

    [task_run] = events.task_runs()
    finished = [r for r in events.logs(task_run.task_run_id) if r.message.startswith("Finished")]
    assert [(r.message, r.level) for r in finished] == [
        ("Finished in state Completed()", logging.INFO)
    ]
    pattern = console_line(TASK_LINE, "INFO", re.escape("Finished in state Completed()"))
    assert pattern.search(capsys.readouterr().err)


def test_a_failed_task_run_logs_its_exception_and_final_state_at_error(
    events: MemorySink, capsys: pytest.CaptureFixture[str]
) -> None:
    @task
    def breaks() -> None:
        raise RuntimeError("nope")

    @flow
    def runner() -> None:
        breaks(return_state=True)

    runner()

    err = capsys.readouterr().err
    [task_run] = events.task_runs()
    records = events.logs(task_run.task_run_id)
    failure = next(r for r in records if r.message.startswith("Task run failed with exception"))
    finished = next(r for r in records if r.message.startswith("Finished in state"))
    assert failure.level == logging.ERROR
    assert failure.message.startswith("Task run failed with exception: RuntimeError('nope')")
    assert "Traceback (most recent call last)" in failure.message  # logged with its traceback
    assert finished.level == logging.ERROR
    assert finished.message.startswith("Finished in state Failed(")
    assert console_line(
        TASK_LINE, "ERROR", re.escape("Task run failed with exception: RuntimeError('nope')")
    ).search(err), err
    assert console_line(TASK_LINE, "ERROR", r"Finished in state Failed\(.*\)").search(err), err


def test_a_failed_flow_run_logs_the_exception_at_error_with_its_traceback(
    events: MemorySink, capsys: pytest.CaptureFixture[str]
) -> None:
    @flow
    def explodes() -> None:
        raise ValueError("child boom")

    with pytest.raises(ValueError, match="child boom"):
        explodes()

    [flow_run] = events.flow_runs()
    [encountered] = [
        r for r in events.logs(flow_run.flow_run_id) if r.message.startswith("Encountered")
    ]
    assert encountered.level == logging.ERROR
    assert encountered.message.startswith(
        "Encountered exception during execution: ValueError('child boom')"
    )
    assert "Traceback (most recent call last)" in encountered.message
    assert console_line(
        FLOW_LINE,
        "ERROR",
        re.escape("Encountered exception during execution: ValueError('child boom')"),
    ).search(capsys.readouterr().err)


def test_a_failed_flow_run_logs_finished_in_state_failed_at_info_as_prefect_does(
    events: MemorySink,
) -> None:
    # prefect_semantics.md §12: the flow's "Finished in state ..." line is always INFO,
    # even for Failed (only task runs use ERROR for a non-Completed final state).
    @flow
    def explodes() -> None:
        raise ValueError("child boom")

    explodes(return_state=True)

    [flow_run] = events.flow_runs()
    [finished] = [
        r for r in events.logs(flow_run.flow_run_id) if r.message.startswith("Finished in state")
    ]
    assert finished.message == (
        "Finished in state Failed('Flow run encountered an exception: ValueError: child boom')"
    )
    assert finished.level == logging.INFO


def test_get_run_logger_outside_a_run_raises_a_helpful_missing_context_error() -> None:
    with pytest.raises(MissingContextError) as caught:
        get_run_logger()

    message = str(caught.value)
    assert "outside a flow or task run" in message
    assert "@flow" in message and "@task" in message  # says what to do instead
    assert isinstance(caught.value, RuntimeError)
    assert isinstance(caught.value, HeadwaterError)


def test_get_run_logger_after_a_flow_has_finished_raises_again() -> None:
    @flow
    def short() -> None:
        get_run_logger().info("inside")

    short()

    with pytest.raises(MissingContextError):
        get_run_logger()


def test_get_run_logger_extra_fields_are_added_to_each_record(
    caplog: pytest.LogCaptureFixture,
) -> None:
    @flow
    def tagged() -> None:
        get_run_logger(stage="load").info("with extra")

    tagged()

    [record] = [r for r in caplog.records if r.getMessage() == "with extra"]
    assert record.stage == "load"  # type: ignore[attr-defined]
    assert record.flow_run_id is not None  # type: ignore[attr-defined]


def test_caplog_sees_flow_and_task_run_records_under_headwater_logger_names(
    events: MemorySink, caplog: pytest.LogCaptureFixture
) -> None:
    @task
    def child() -> None:
        get_run_logger().info("task says hi")

    @flow
    def parent() -> None:
        get_run_logger().info("flow says hi")
        child()

    parent()

    [flow_run] = events.flow_runs()
    [task_run] = events.task_runs()
    by_message = {r.getMessage(): r for r in caplog.records}
    flow_record = by_message["flow says hi"]
    task_record = by_message["task says hi"]
    assert flow_record.name == "headwater.flow_runs"
    assert task_record.name == "headwater.task_runs"
    assert flow_record.flow_run_id == flow_run.flow_run_id  # type: ignore[attr-defined]
    assert flow_record.flow_run_name == flow_run.name  # type: ignore[attr-defined]
    assert flow_record.flow_name == "parent"  # type: ignore[attr-defined]
    assert task_record.task_run_id == task_run.task_run_id  # type: ignore[attr-defined]
    assert task_record.task_run_name == task_run.name  # type: ignore[attr-defined]
    assert task_record.task_name == "child"  # type: ignore[attr-defined]
    assert task_record.flow_run_id == flow_run.flow_run_id  # type: ignore[attr-defined]
    assert task_record.flow_name == "parent"  # type: ignore[attr-defined]


# -- HEADWATER_LOGGING_LEVEL ------------------------------------------------------------------

LEVEL_SCRIPT = """
    from headwater import flow, get_run_logger

    @flow
    def levels():
        logger = get_run_logger()
        logger.debug("a debug line")
        logger.info("an info line")
        logger.warning("a warning line")

    levels()
"""


def test_the_default_logging_level_is_info() -> None:
    result = run_script(LEVEL_SCRIPT)

    assert result.returncode == 0, result.stderr
    assert "an info line" in result.stderr
    assert "a warning line" in result.stderr
    assert "a debug line" not in result.stderr
    assert "Beginning flow run" in result.stderr


def test_headwater_logging_level_warning_hides_info_lines() -> None:
    result = run_script(LEVEL_SCRIPT, HEADWATER_LOGGING_LEVEL="WARNING")

    assert result.returncode == 0, result.stderr
    assert "a warning line" in result.stderr
    assert "an info line" not in result.stderr
    assert "Beginning flow run" not in result.stderr
    assert "Finished in state" not in result.stderr


def test_headwater_logging_level_debug_shows_debug_lines_and_is_case_insensitive() -> None:
    result = run_script(LEVEL_SCRIPT, HEADWATER_LOGGING_LEVEL="debug")

    assert result.returncode == 0, result.stderr
    assert console_line(FLOW_LINE, "DEBUG", "a debug line").search(result.stderr)


def test_a_bad_headwater_logging_level_fails_the_first_run_with_a_setting_error() -> None:
    result = run_script(LEVEL_SCRIPT, HEADWATER_LOGGING_LEVEL="LOUD")

    assert result.returncode != 0
    assert "SettingError" in result.stderr
    assert "HEADWATER_LOGGING_LEVEL='LOUD' is not a logging level" in result.stderr


def test_setup_logging_with_a_bad_level_raises_a_setting_error_and_changes_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    setup_logging()  # configured from the real environment, as any earlier run left it
    headwater_logger = logging.getLogger("headwater")
    level, handlers = headwater_logger.level, list(headwater_logger.handlers)
    monkeypatch.setenv("HEADWATER_LOGGING_LEVEL", "verbose")

    with pytest.raises(SettingError) as caught:
        setup_logging(force=True)

    assert "HEADWATER_LOGGING_LEVEL='VERBOSE'" in str(caught.value)
    assert "DEBUG, INFO, WARNING, ERROR, CRITICAL" in str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert headwater_logger.level == level
    assert headwater_logger.handlers == handlers


# -- log_prints -------------------------------------------------------------------------------


def test_log_prints_on_a_flow_turns_print_into_flow_run_log_records(
    events: MemorySink, capsys: pytest.CaptureFixture[str]
) -> None:
    @flow(log_prints=True)
    def chatty() -> None:
        print("hello", "from print", sep=" - ")

    chatty()

    out, err = capsys.readouterr()
    [flow_run] = events.flow_runs()
    [record] = [r for r in events.logs() if r.message == "hello - from print"]
    assert record.flow_run_id == flow_run.flow_run_id
    assert record.level == logging.INFO
    assert "hello - from print" not in out
    assert console_line(FLOW_LINE, "INFO", "hello - from print").search(err)


def test_log_prints_strips_trailing_whitespace_from_printed_lines(events: MemorySink) -> None:
    @flow(log_prints=True)
    def chatty() -> None:
        print("padded   ", end="\n\n")

    chatty()

    assert "padded" in events.messages()


def test_tasks_inherit_log_prints_from_their_flow(
    events: MemorySink, capsys: pytest.CaptureFixture[str]
) -> None:
    @task
    def noisy() -> None:
        print("printed in a task")

    @flow(log_prints=True)
    def chatty() -> None:
        noisy()

    chatty()

    out, err = capsys.readouterr()
    [task_run] = events.task_runs()
    [record] = [r for r in events.logs() if r.message == "printed in a task"]
    assert record.task_run_id == task_run.task_run_id
    assert "printed in a task" not in out
    assert console_line(TASK_LINE, "INFO", "printed in a task").search(err)


def test_a_task_with_log_prints_false_keeps_printing_to_stdout(
    events: MemorySink, capsys: pytest.CaptureFixture[str]
) -> None:
    @task(log_prints=False)
    def plain() -> None:
        print("straight to stdout")

    @flow(log_prints=True)
    def chatty() -> None:
        print("logged by the flow")
        plain()

    chatty()

    out, _ = capsys.readouterr()
    assert out == "straight to stdout\n"
    assert "straight to stdout" not in events.messages()
    assert "logged by the flow" in events.messages()


def test_a_task_with_log_prints_true_logs_its_prints_in_a_flow_without_it(
    events: MemorySink, capsys: pytest.CaptureFixture[str]
) -> None:
    @task(log_prints=True)
    def noisy() -> None:
        print("task line")

    @flow
    def quiet() -> None:
        print("flow line")
        noisy()

    quiet()

    out, _ = capsys.readouterr()
    assert out == "flow line\n"
    assert "task line" in events.messages()
    assert "flow line" not in events.messages()


def test_print_to_another_file_is_never_captured(
    events: MemorySink, capsys: pytest.CaptureFixture[str]
) -> None:
    buffer = io.StringIO()

    @flow(log_prints=True)
    def writes_to_a_buffer() -> None:
        print("into the buffer", file=buffer)

    writes_to_a_buffer()

    assert buffer.getvalue() == "into the buffer\n"
    assert "into the buffer" not in events.messages()
    assert "into the buffer" not in capsys.readouterr().out


def test_print_to_stderr_in_a_log_prints_flow_is_logged_as_prefect_does(
    events: MemorySink,
) -> None:
    @flow(log_prints=True)
    def to_stderr() -> None:
        print("to stderr", file=sys.stderr)

    to_stderr()

    assert "to stderr" in events.messages()


def test_print_is_back_to_normal_after_a_log_prints_flow_ends(
    events: MemorySink, capsys: pytest.CaptureFixture[str]
) -> None:
    original = builtins.print

    @flow(log_prints=True)
    def chatty() -> None:
        print("during")

    chatty()
    print("after")

    assert builtins.print is original
    assert capsys.readouterr().out == "after\n"
    assert "after" not in events.messages()


def test_print_is_restored_even_when_a_log_prints_flow_fails() -> None:
    original = builtins.print

    @flow(log_prints=True)
    def chatty_and_broken() -> None:
        print("about to fail")
        raise ValueError("broken")

    with pytest.raises(ValueError, match="broken"):
        chatty_and_broken()

    assert builtins.print is original


def test_prints_from_a_thread_without_a_run_context_are_left_alone(
    events: MemorySink, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a log_prints flow that starts a plain thread (which does not copy contextvars)
    @flow(log_prints=True)
    def with_a_thread() -> None:
        thread = threading.Thread(target=print, args=("from a bare thread",))
        thread.start()
        thread.join()

    # When it runs
    with_a_thread()

    # Then the thread's print went to stdout, not to the run's log
    assert capsys.readouterr().out == "from a bare thread\n"
    assert "from a bare thread" not in events.messages()


def test_headwater_logging_log_prints_sets_the_default_for_flows_that_do_not_say(
    events: MemorySink, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HEADWATER_LOGGING_LOG_PRINTS", "true")

    @flow
    def undecided() -> None:
        print("default says log it")

    @flow(log_prints=False)
    def decided() -> None:
        print("flow says print it")

    undecided()
    decided()

    assert "default says log it" in events.messages()
    assert capsys.readouterr().out == "flow says print it\n"
