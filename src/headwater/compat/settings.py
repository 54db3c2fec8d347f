"""`prefect.settings` under the shim: `PREFECT_*` setting objects and `temporary_settings`.

    from prefect.settings import PREFECT_HOME, temporary_settings
    PREFECT_HOME.value()                      # a Path
    with temporary_settings({PREFECT_TASKS_DEFAULT_RETRIES: 2}): ...

A setting's value is, in order: a `temporary_settings` override, the `PREFECT_*` variable,
the `HEADWATER_*` variable it maps onto (compat/_environment.py), then Prefect's default.
`temporary_settings` also sets the mapped `HEADWATER_*` variable for the block, so headwater
itself honours it (retries, persistence, logging, where results go). Settings that only a
Prefect server or worker would use keep their values but change nothing here.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from headwater.compat._environment import PREFECT_TO_HEADWATER

_HOME = object()  # a default that is a path under PREFECT_HOME, computed when read

# PREFECT_* name -> (accessor, default). A default of (_HOME, "x") means `<home>/x`.
SETTINGS: dict[str, tuple[str, Any]] = {
    "PREFECT_HOME": ("home", Path("~/.prefect").expanduser()),
    "PREFECT_PROFILES_PATH": ("profiles_path", (_HOME, "profiles.toml")),
    "PREFECT_DEBUG_MODE": ("debug_mode", False),
    "PREFECT_API_URL": ("api.url", None),
    "PREFECT_API_KEY": ("api.key", None),
    "PREFECT_UI_URL": ("ui_url", None),
    "PREFECT_RESULTS_LOCAL_STORAGE_PATH": ("results.local_storage_path", (_HOME, "storage")),
    "PREFECT_LOCAL_STORAGE_PATH": ("results.local_storage_path", (_HOME, "storage")),
    "PREFECT_RESULTS_PERSIST_BY_DEFAULT": ("results.persist_by_default", False),
    "PREFECT_RESULTS_DEFAULT_SERIALIZER": ("results.default_serializer", "pickle"),
    "PREFECT_RESULTS_DEFAULT_STORAGE_BLOCK": ("results.default_storage_block", None),
    "PREFECT_TASKS_DEFAULT_RETRIES": ("tasks.default_retries", 0),
    "PREFECT_TASK_DEFAULT_RETRIES": ("tasks.default_retries", 0),
    "PREFECT_TASKS_DEFAULT_RETRY_DELAY_SECONDS": ("tasks.default_retry_delay_seconds", 0),
    "PREFECT_TASK_DEFAULT_RETRY_DELAY_SECONDS": ("tasks.default_retry_delay_seconds", 0),
    "PREFECT_TASKS_REFRESH_CACHE": ("tasks.refresh_cache", False),
    "PREFECT_FLOWS_DEFAULT_RETRIES": ("flows.default_retries", 0),
    "PREFECT_FLOW_DEFAULT_RETRIES": ("flows.default_retries", 0),
    "PREFECT_FLOW_DEFAULT_RETRY_DELAY_SECONDS": ("flows.default_retry_delay_seconds", 0),
    "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": ("flows.heartbeat_frequency", 180),
    "PREFECT_LOGGING_LEVEL": ("logging.level", "INFO"),
    "PREFECT_LOGGING_LOG_PRINTS": ("logging.log_prints", False),
    "PREFECT_LOGGING_TO_API_ENABLED": ("logging.to_api.enabled", True),
    "PREFECT_LOGGING_EXTRA_LOGGERS": ("logging.extra_loggers", []),
    "PREFECT_RUNNER_POLL_FREQUENCY": ("runner.poll_frequency", 10),
    "PREFECT_RUNNER_PROCESS_LIMIT": ("runner.process_limit", 5),
    "PREFECT_SERVER_ALLOW_EPHEMERAL_MODE": ("server.ephemeral.enabled", True),
    "PREFECT_TEST_MODE": ("testing.test_mode", False),
    "PREFECT_UNIT_TEST_MODE": ("testing.unit_test_mode", False),
}
_BY_ACCESSOR = {accessor: name for name, (accessor, _) in reversed(SETTINGS.items())}
_overrides: list[dict[str, Any]] = []  # temporary_settings blocks, innermost last


def _convert(raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    if isinstance(default, Path) or (isinstance(default, tuple) and default[0] is _HOME):
        return Path(raw).expanduser()
    if isinstance(default, list):
        return json.loads(raw) if raw.strip().startswith("[") else raw.split(",")
    return raw


class Setting:
    """One Prefect setting: `.name` (its variable), `.accessor`, `.value()`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.accessor, self.default = SETTINGS[name]

    def value(self) -> Any:
        """The current value (see the module docs for the order of sources)."""
        for block in reversed(_overrides):
            if self.accessor in block:
                return block[self.accessor]
        for variable in (self.name, PREFECT_TO_HEADWATER.get(self.name)):
            if variable and os.environ.get(variable) is not None:
                return _convert(os.environ[variable], self.default)
        if isinstance(self.default, tuple) and self.default[0] is _HOME:
            return Setting("PREFECT_HOME").value() / self.default[1]
        return self.default

    def __bool__(self) -> bool:
        return bool(self.value())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Setting):
            return self.name == other.name
        return bool(self.value() == other)

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"<{self.name}: {self.value()!r}>"


def __getattr__(name: str) -> Setting:
    if name in SETTINGS:
        return Setting(name)
    raise AttributeError(
        f"{name!r} is not a Prefect setting headwater knows. Known: {', '.join(SETTINGS)}."
    )


def _accessor(key: Setting | str) -> str:
    accessor = key.accessor if isinstance(key, Setting) else str(key)
    if accessor in SETTINGS:  # a variable name was given
        accessor = SETTINGS[accessor][0]
    if accessor not in _BY_ACCESSOR:
        raise ValueError(f"Unknown setting: {key!r}. Known settings: {', '.join(SETTINGS)}.")
    return accessor


def get_current_settings() -> Any:
    """Every known setting's current value, by accessor: `settings.results.local_storage_path`."""
    root = SimpleNamespace()
    for accessor, name in _BY_ACCESSOR.items():
        *parents, last = accessor.split(".")
        node = root
        for part in parents:
            node = node.__dict__.setdefault(part, SimpleNamespace())
        setattr(node, last, Setting(name).value())
    return root


@contextmanager
def temporary_settings(
    updates: Mapping[Setting | str, Any] | None = None,
    set_defaults: Mapping[Setting | str, Any] | None = None,
    restore_defaults: Iterable[Setting | str] | None = None,
) -> Iterator[Any]:
    """Change settings for the block; headwater honours those it has (see the module docs).

    Raises:
        ValueError: a key is not a known setting.
    """
    block: dict[str, Any] = {}
    for key in restore_defaults or ():
        accessor = _accessor(key)
        default = SETTINGS[_BY_ACCESSOR[accessor]][1]
        block[accessor] = None if isinstance(default, tuple) else default
    for key, value in {**(set_defaults or {}), **(updates or {})}.items():
        block[_accessor(key)] = value
    saved = {v: os.environ.get(v) for v in PREFECT_TO_HEADWATER.values()}
    _overrides.append(block)
    try:
        for name, headwater_name in PREFECT_TO_HEADWATER.items():
            mapped = SETTINGS[name][0] if name in SETTINGS else ""
            if block.get(mapped) is not None:
                value = block[mapped]
                os.environ[headwater_name] = (str(value).lower() if isinstance(value, bool)
                                              else str(value))
        yield get_current_settings()
    finally:
        _overrides.remove(block)
        for variable, previous in saved.items():
            if previous is None:
                os.environ.pop(variable, None)
            else:
                os.environ[variable] = previous
