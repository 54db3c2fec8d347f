"""Settings: `HEADWATER_*` environment variables, read when they are needed, never at import.

| variable | default | meaning |
|---|---|---|
| `HEADWATER_HOME` | `~/.headwater` | where the run store and results live |
| `HEADWATER_LOCAL_STORAGE_PATH` | `<home>/storage` | results persisted without `result_storage` |
| `HEADWATER_LOGGING_LEVEL` | `INFO` | level of the run loggers and the console |
| `HEADWATER_LOGGING_LOG_PRINTS` | `false` | default for `log_prints` when no flow sets it |
| `HEADWATER_STORE` | (unset) | `memory` keeps every record in memory, for users' unit tests |
| `HEADWATER_DATABASE_URL` | SQLite file in home | the run store; `postgresql+psycopg://...` |
| `HEADWATER_STORE_BATCH_SECONDS` | `0.2` | how often the store writer commits (at most 1) |
| `HEADWATER_STORE_WRITER` | `process` | `process`: a writer process commits; `thread`: this one |
| `HEADWATER_HEARTBEAT_SECONDS` | `5` | how often a running flow run's heartbeat is written |
| `HEADWATER_CRASH_AFTER_SECONDS` | `30` | silent this long: marked Crashed (>= 2 heartbeats) |
| `HEADWATER_FLUSH_TIMEOUT` | `5` | longest a flow's end waits for its records to be stored |
| `HEADWATER_FLOW_DEFAULT_RETRIES` | `0` | retries of a flow that does not set `retries` |
| `HEADWATER_TASK_DEFAULT_RETRIES` | `0` | retries of a task that does not set `retries` |
| `HEADWATER_RESULTS_PERSIST_BY_DEFAULT` | `false` | persist results (so runs can resume) |
| `HEADWATER_SERVE_PERSIST_RESULTS` | `true` | ...and in runs of served deployments |
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from headwater.errors import SettingError

if TYPE_CHECKING:  # imported where a path is made: the writer process reads settings
    from pathlib import Path  # without `pathlib` (which loads `urllib.parse` and `ipaddress`)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    return value.strip() if value is not None else None


def get_bool(name: str, default: bool) -> bool:
    """Read a boolean variable; `true/false`, `1/0`, `yes/no`, `on/off` in any case."""
    value = _raw(name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise SettingError(
        f"{name}={value!r} is not a boolean. Set it to 'true' or 'false', or unset it "
        f"to use the default ({str(default).lower()})."
    )


def get_int(name: str, default: int, *, minimum: int = 0) -> int:
    """Read an integer variable that must be at least `minimum`."""
    value = _raw(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        number = minimum - 1
    if number < minimum:
        raise SettingError(
            f"{name}={value!r} is not a whole number >= {minimum}. Set it to e.g. "
            f"{max(minimum, default)}, or unset it to use the default ({default})."
        )
    return number


def get_float(
    name: str, default: float, *, minimum: float = 0.0, maximum: float | None = None
) -> float:
    """Read a number of seconds (or any float) that must lie in [minimum, maximum]."""
    value = _raw(name)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except ValueError:
        number = minimum - 1
    if number < minimum or (maximum is not None and number > maximum):
        upper = f" and <= {maximum:g}" if maximum is not None else ""
        raise SettingError(
            f"{name}={value!r} is not a number >= {minimum:g}{upper}. Set it to e.g. "
            f"{default:g}, or unset it to use the default ({default:g})."
        )
    return number


def home() -> Path:
    """The folder for headwater's files (`HEADWATER_HOME`, default `~/.headwater`)."""
    from pathlib import Path

    value = _raw("HEADWATER_HOME")
    return Path(value).expanduser() if value else Path.home() / ".headwater"


def local_storage_path() -> Path:
    """Where results are persisted when no `result_storage` is given
    (`HEADWATER_LOCAL_STORAGE_PATH`, default `<home>/storage`)."""
    from pathlib import Path

    value = _raw("HEADWATER_LOCAL_STORAGE_PATH")
    return Path(value).expanduser() if value else home() / "storage"


def logging_level() -> int:
    """The level for run loggers and the console (`HEADWATER_LOGGING_LEVEL`, default INFO)."""
    value = (_raw("HEADWATER_LOGGING_LEVEL") or "INFO").upper()
    if value.isdigit():
        return int(value)
    if value not in _LEVELS:
        raise SettingError(
            f"HEADWATER_LOGGING_LEVEL={value!r} is not a logging level. "
            f"Use one of {', '.join(_LEVELS)}."
        )
    import logging  # here, not at the top: the store's writer process reads settings too

    return int(logging.getLevelName(value))


def log_prints() -> bool:
    """Whether `print()` inside runs becomes a log record when no flow or task says otherwise."""
    return get_bool("HEADWATER_LOGGING_LOG_PRINTS", False)


def store_kind() -> str | None:
    """The kind of run store asked for with `HEADWATER_STORE`, lowercased, or None."""
    value = _raw("HEADWATER_STORE")
    return value.lower() if value else None


def flow_default_retries() -> int:
    return get_int("HEADWATER_FLOW_DEFAULT_RETRIES", 0)


def task_default_retries() -> int:
    return get_int("HEADWATER_TASK_DEFAULT_RETRIES", 0)


def database_url() -> str:
    """The run store's SQLAlchemy URL (`HEADWATER_DATABASE_URL`, default a SQLite file in home)."""
    value = _raw("HEADWATER_DATABASE_URL")
    if value:
        return value
    return f"sqlite:///{home() / 'headwater.db'}"


def store_batch_seconds() -> float:
    """Longest a record waits before the store sink's writer stores it (default 0.2 s, max 1)."""
    return get_float("HEADWATER_STORE_BATCH_SECONDS", 0.2, minimum=0.001, maximum=1.0)


def heartbeat_seconds() -> float:
    """How often the store sink writes heartbeats for running flow runs (default 5 s)."""
    return get_float("HEADWATER_HEARTBEAT_SECONDS", 5.0, minimum=0.01)


def crash_after_seconds() -> float:
    """A flow run with no heartbeat for this long is marked Crashed (default 30 s).

    Raises:
        SettingError: it is below twice `HEADWATER_HEARTBEAT_SECONDS`.
    """
    crash_after = get_float("HEADWATER_CRASH_AFTER_SECONDS", 30.0, minimum=0.01)
    check_crash_after(crash_after, heartbeat_seconds())
    return crash_after


def check_crash_after(
    crash_after: float,
    heartbeat: float,
    *,
    names: tuple[str, str] = ("HEADWATER_CRASH_AFTER_SECONDS", "HEADWATER_HEARTBEAT_SECONDS"),
) -> None:
    """Refuse a crash-after time shorter than two heartbeats.

    A live run's heartbeat may be one interval late (a busy writer, a slow commit); with less
    than two intervals of slack, live runs would be marked Crashed while they run.

    Args:
        crash_after: seconds of silence after which a run is marked Crashed.
        heartbeat: seconds between heartbeats.
        names: what the two values are called, for the message.

    Raises:
        SettingError: `crash_after` is below `2 * heartbeat`.
    """
    minimum = 2 * heartbeat
    if crash_after < minimum:
        crash_name, heartbeat_name = names
        raise SettingError(
            f"{crash_name}={crash_after:g} is too short for {heartbeat_name}={heartbeat:g}: a "
            f"run is marked Crashed after missing heartbeats, so live runs would be marked "
            f"Crashed. Set {crash_name} to at least {minimum:g} (twice {heartbeat_name}), or "
            f"lower {heartbeat_name}."
        )


def flush_timeout() -> float:
    """The longest the end of a flow run waits for its records to be stored
    (`HEADWATER_FLUSH_TIMEOUT`, default 5 s, at most 3600): a slow or locked store then keeps
    writing in the background, and at exit."""
    return get_float("HEADWATER_FLUSH_TIMEOUT", 5.0, minimum=0.0, maximum=3600.0)


def store_writer() -> str:
    """Where the store sink folds and commits records (`HEADWATER_STORE_WRITER`): `process`
    (the default on POSIX: a writer process, so the flow's process spends no time on SQL) or
    `thread` (a thread of the flow's own process; the default on Windows)."""
    default = "thread" if sys.platform == "win32" else "process"
    value = (_raw("HEADWATER_STORE_WRITER") or default).lower()
    if value not in ("process", "thread"):
        raise SettingError(
            f"HEADWATER_STORE_WRITER={value!r} is not a writer. Use 'process' (the default) "
            f"or 'thread'."
        )
    return value
