"""Run loggers, the console format Prefect users know, and `log_prints`.

Loggers: `headwater.flow_runs` and `headwater.task_runs` carry run ids in each record's extras;
`headwater.engine` takes messages from before a run logger exists. Console lines look like

    12:01:02.345 | INFO    | Flow run 'tuscan-bat' - Beginning flow run 'tuscan-bat' for flow 'etl'

Nothing is configured at import: the first run calls `setup_logging()`.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import logging
import sys
import threading
import time
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

from headwater.core.context import flow_run_var, task_run_var
from headwater.engine.runtime import current_sink
from headwater.errors import MissingContextError
from headwater.events.records import LogEmitted

FLOW_RUNS_LOGGER = "headwater.flow_runs"
TASK_RUNS_LOGGER = "headwater.task_runs"
ENGINE_LOGGER = "headwater.engine"

_EXTRA_FIELDS = (
    "flow_run_id",
    "flow_run_name",
    "flow_name",
    "task_run_id",
    "task_run_name",
    "task_name",
)


class RunLoggerAdapter(logging.LoggerAdapter):  # type: ignore[type-arg]
    """A logger that stamps each record with the ids and names of the run it belongs to."""

    def engine(self, level: int, msg: str, *args: Any) -> None:
        """Log one of the engine's own messages, skipping the caller lookup.

        `Logger.log` walks the stack to find the calling file and line; for the engine's
        per-run lines that is a third of the cost of logging and tells the user nothing.
        """
        logger = self.logger
        if not logger.isEnabledFor(level):
            return
        logger.handle(logger.makeRecord(logger.name, level, "", 0, msg, args, None,
                                        extra=self.extra))

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, Any]:
        extra = kwargs.get("extra")
        kwargs["extra"] = {**self.extra, **extra} if extra else self.extra  # type: ignore[dict-item]
        return msg, kwargs


class HeadwaterFormatter(logging.Formatter):
    """`HH:MM:SS.mmm | LEVEL   | Flow run 'name' - message`.

    Written out by hand rather than with a %-style format string, and with the clock text cached
    per second: this runs for every task run's "Finished in state" line.
    """

    def __init__(self) -> None:
        super().__init__()
        self._last: tuple[int, str] = (-1, "")  # one tuple: threads may replace it

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return self.clock(record.created)

    def clock(self, created: float) -> str:
        """`HH:MM:SS` of `created`, local time (made once per second)."""
        second = int(created)
        last_second, text = self._last
        if second != last_second:
            text = time.strftime("%H:%M:%S", time.localtime(second))
            self._last = (second, text)
        return text

    def format(self, record: logging.LogRecord) -> str:
        task_run_name = getattr(record, "task_run_name", None)
        if task_run_name:
            prefix = f"Task run {task_run_name!r} - "
        else:
            flow_run_name = getattr(record, "flow_run_name", None)
            prefix = f"Flow run {flow_run_name!r} - " if flow_run_name else f"{record.name} - "
        text = (f"{self.formatTime(record)}.{int(record.msecs):03d} | "
                f"{record.levelname:<7} | {prefix}{record.getMessage()}")
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            text = f"{text}\n{record.exc_text}"
        if record.stack_info:
            text = f"{text}\n{self.formatStack(record.stack_info)}"
        return text


class _ConsoleHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the time, so redirection and capture work.

    A console that cannot be written (a closed stderr) is not the flow's problem: `logging`
    reports the failure on that same stderr, and when that fails too, nothing is raised.
    """

    def handleError(self, record: logging.LogRecord) -> None:
        # The report could not be written either: the sink's record of the line still is.
        with contextlib.suppress(Exception):
            super().handleError(record)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


class _SinkHandler(logging.Handler):
    """Hands every run log record to the current event sink."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            # The run's own sink, so a run's logs always land beside its states.
            ctx = flow_run_var.get()
            sink = ctx.sink if ctx is not None else current_sink()
            message = record.getMessage()
            if record.exc_info and record.exc_info[1] is not None:
                message = f"{message}\n{self.formatException(record.exc_info)}"
            sink.emit(
                LogEmitted(
                    flow_run_id=getattr(record, "flow_run_id", None),
                    task_run_id=getattr(record, "task_run_id", None),
                    logger=record.name,
                    level=record.levelno,
                    message=message,
                    timestamp=record.created,
                )
            )
        except Exception:
            self.handleError(record)

    def formatException(self, exc_info: Any) -> str:
        return logging.Formatter().formatException(exc_info)


_setup_lock = threading.Lock()
_configured = False


def setup_logging(force: bool = False) -> None:
    """Attach the console and event-sink handlers to the `headwater` logger (once).

    The level comes from `HEADWATER_LOGGING_LEVEL` (default INFO). Records still propagate to
    the root logger, so pytest's `caplog` and the user's own handlers see them too.
    """
    global _configured
    if _configured and not force:
        return
    from headwater import settings

    level = settings.logging_level()
    with _setup_lock:
        root = logging.getLogger("headwater")
        for handler in list(root.handlers):
            if isinstance(handler, (_ConsoleHandler, _SinkHandler)):
                root.removeHandler(handler)
        console = _ConsoleHandler()
        formatter = HeadwaterFormatter()
        console.setFormatter(formatter)
        sink_handler = _SinkHandler()
        root.addHandler(console)
        root.addHandler(sink_handler)
        root.setLevel(level)
        _ours[:] = [console, sink_handler, formatter]
        _configured = True


_ours: list[Any] = []  # the console handler, the sink handler and the formatter setup made


_flow_runs_logger = logging.getLogger(FLOW_RUNS_LOGGER)
_task_runs_logger = logging.getLogger(TASK_RUNS_LOGGER)
_headwater_logger = logging.getLogger("headwater")
_root = logging.root


def flow_run_logger(flow_run: Any, flow_name: str) -> RunLoggerAdapter:
    return RunLoggerAdapter(
        _flow_runs_logger,
        {"flow_run_id": flow_run.id, "flow_run_name": flow_run.name, "flow_name": flow_name},
    )


def task_run_logger(task_run: Any, flow_run: Any, flow_name: str | None) -> RunLoggerAdapter:
    return RunLoggerAdapter(
        _task_runs_logger,
        {
            "task_run_id": task_run.id,
            "task_run_name": task_run.name,
            "task_name": task_run.task_name,
            "flow_run_id": task_run.flow_run_id,
            "flow_run_name": flow_run.name if flow_run is not None else None,
            "flow_name": flow_name,
        },
    )


def task_run_line(ctx: Any, level: int, msg: str, *args: Any) -> None:
    """One of the engine's own lines about a task run ("Finished in state Completed()").

    Every task run writes one at INFO, so when nothing but headwater's own handlers would see
    it (the usual script: no handler on the root logger, no filters), it goes straight to the
    console and the event sink, exactly as those handlers would write it, without a logger
    adapter, a `LogRecord` and the handler chain. Anything else (a handler or filter of the
    user's, pytest's log capture) gets the line through `logging` as usual.
    """
    if not _task_runs_logger.isEnabledFor(level):
        return
    if not _direct():
        ctx.logger.engine(level, msg, *args)
        return
    _write_line(ctx, level, msg % args if args else msg, msg, args)


def task_run_finished(ctx: Any, state: Any) -> None:
    """`task_run_line(ctx, INFO, "Finished in state %s", state)`, for a run that completed;
    called only while the task runs' logger is enabled for INFO (the caller has looked).

    The line every task run writes, so it is made with as few Python calls as can be: its
    message is kept per state name (for a state without a message) and then shared, so the
    sink's records of it carry one text object (each batch encodes it once).
    """
    if not _direct():
        ctx.logger.engine(_INFO, _FINISHED, state)
        return
    name = state.name
    plain = state.message is None and name.__class__ is str  # as `State.__str__` keeps them
    known = _finished_messages.get(name) if plain else None
    if known is not None and known[0] is state.type:
        message = known[1]
    else:
        message = _FINISHED % state
        if plain and len(_finished_messages) < 256:
            _finished_messages[name] = (state.type, message)
    _write_line(ctx, _INFO, message, _FINISHED, (state,))


_INFO = logging.INFO
_FINISHED = "Finished in state %s"
# A state's name -> its type and "Finished in state" message, for states without a message.
_finished_messages: dict[str, tuple[Any, str]] = {}


def _write_line(ctx: Any, level: int, message: str, msg: str, args: tuple[Any, ...]) -> None:
    console, sink_handler, formatter = _ours
    now = _time()
    run = ctx.task_run
    millis = int(now * 1000)
    last_millis, last_level, stamp = _last_stamp[0]  # one tuple: threads may replace it
    if millis != last_millis or level != last_level:
        stamp = _stamp(formatter, millis, level)
    line = f"{stamp}Task run {run.name!r} - {message}\n"
    try:
        with console.lock:
            stream = sys.stderr
            stream.write(line)
            # A line-buffered text stream (the usual stderr) has written the line already, and
            # so has one written through to a raw file (`python -u`, PYTHONUNBUFFERED).
            if stream.__class__ is not io.TextIOWrapper or not (
                    stream.line_buffering
                    or (stream.write_through and stream.buffer.__class__ is io.FileIO)):
                stream.flush()
    except Exception:  # a closed or broken stream: let logging report it its own way
        ctx.logger.engine(level, msg, *args)
        return
    try:
        flow_ctx = flow_run_var.get()
        sink = flow_ctx.sink if flow_ctx is not None else current_sink()
        sink.emit(_tuple_new(LogEmitted, (run.flow_run_id, run.id, TASK_RUNS_LOGGER, level,
                                          message, now)))
    except Exception:  # as the sink handler: never the flow's problem
        sink_handler.handleError(logging.makeLogRecord({"msg": message}))


_time = time.time
_tuple_new = tuple.__new__
# The start of a console line, "12:01:02.345 | INFO    | ", for the last millisecond and level
# a task run's line was written at: many runs finish within one millisecond.
_last_stamp: list[tuple[int, int, str]] = [(-1, 0, "")]


def _stamp(formatter: HeadwaterFormatter, millis: int, level: int) -> str:
    """`12:01:02.345 | INFO    | ` for `millis` (since the epoch), kept for the next line."""
    text = (f"{formatter.clock(millis // 1000)}.{millis % 1000:03d} | "
            f"{logging.getLevelName(level):<7} | ")
    _last_stamp[0] = (millis, level, text)
    return text


def _direct() -> bool:
    """Whether headwater's own two handlers are all that would see a task run's record."""
    logger = _task_runs_logger
    if (not _ours or _root.handlers or logger.handlers or logger.filters
            or not logger.propagate or logger.disabled):
        return False
    parent = logger.parent
    if parent is not _headwater_logger or parent.disabled or parent.filters:
        return False
    console, sink_handler, formatter = _ours
    handlers = parent.handlers
    return (len(handlers) == 2 and handlers[0] is console and handlers[1] is sink_handler
            and not console.filters and not sink_handler.filters
            and console.level == sink_handler.level == 0 and console.formatter is formatter)


def get_run_logger(**extra: Any) -> logging.LoggerAdapter:  # type: ignore[type-arg]
    """The logger of the current task run, else of the current flow run.

    Its records carry the run's ids and names, reach the console in the run format and are
    recorded with the run's history.

    Raises:
        MissingContextError: called outside a flow or task run.
    """
    ctx = task_run_var.get() or flow_run_var.get()
    if ctx is None:
        raise MissingContextError(
            "get_run_logger() was called outside a flow or task run, so there is no run to "
            "attach the records to. Call it inside a @flow or @task function, or use "
            "logging.getLogger(__name__) for code that also runs outside runs."
        )
    if extra:
        return RunLoggerAdapter(ctx.logger.logger, {**ctx.logger.extra, **extra})  # type: ignore[dict-item]
    return ctx.logger


# -- log_prints ------------------------------------------------------------------------------------
_original_print = builtins.print
_patch_lock = threading.Lock()
_patch_depth = 0


def _print_as_log(*args: Any, sep: str | None = " ", end: str | None = "\n",
                  file: Any = None, flush: bool = False) -> None:
    if file is None or file is sys.stdout or file is sys.stderr:
        ctx = task_run_var.get() or flow_run_var.get()
        if ctx is not None and ctx.log_prints:
            buffer = io.StringIO()
            _original_print(*args, sep=sep, end=end, file=buffer)
            ctx.logger.info(buffer.getvalue().rstrip())
            return
    _original_print(*args, sep=sep, end=end, file=file, flush=flush)


@contextmanager
def printing_as_logs() -> Iterator[None]:
    """Route `print()` of runs that have `log_prints` to their run logger, inside the block.

    The patch is process-wide (like Prefect's) but checks the calling code's run context, so
    prints from other threads and from runs without `log_prints` are left alone.
    """
    global _patch_depth
    with _patch_lock:
        _patch_depth += 1
        builtins.print = _print_as_log
    try:
        yield
    finally:
        with _patch_lock:
            _patch_depth -= 1
            if _patch_depth == 0:
                builtins.print = _original_print
