"""Checks for decorator options, run when `@flow(...)` / `@task(...)` is applied.

Each check returns the normalised value or raises `OptionError` naming the option, quoting the
value and saying what would work. Checking at decoration time means a typo fails on import,
not at 3 a.m. in the middle of a run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from headwater.errors import InvalidNameError as InvalidNameError
from headwater.errors import OptionError as OptionError
from headwater.errors import OptionTypeError as OptionTypeError
from headwater.errors import ReservedArgumentError as ReservedArgumentError

if TYPE_CHECKING:  # `datetime` and `numbers` are imported where a value needs them
    import datetime as dt

BANNED_NAME_CHARACTERS = ("/", "%", "&", ">", "<")
RESERVED_ARGUMENTS = ("return_state", "wait_for")
MAX_RETRY_DELAYS = 50


class _NotSet:
    """Marks an option that was not passed (None can be a meaningful value)."""

    _instance: _NotSet | None = None

    def __new__(cls) -> _NotSet:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NotSet"

    def __bool__(self) -> bool:
        return False


NotSet: Any = _NotSet()


def _where(owner: str) -> str:
    return f" on {owner}" if owner else ""


def check_name(value: Any, *, kind: str, owner: str = "", check_characters: bool = True) -> str:
    if not isinstance(value, str):
        hint = (
            f" Perhaps you meant to call it? e.g. "
            f"'@{kind}(name={getattr(value, '__name__', 'f')}())'"
            if callable(value)
            else ""
        )
        raise OptionTypeError(
            f"Expected a string for {kind} option 'name'{_where(owner)}; "
            f"got {type(value).__name__} {value!r} instead.{hint}",
            option="name",
            value=value,
        )
    bad = [c for c in BANNED_NAME_CHARACTERS if c in value] if check_characters else []
    if bad:
        raise InvalidNameError(
            f"Name {value!r} contains the character {bad[0]!r}, which is not allowed. "
            f"Names must not contain any of {list(BANNED_NAME_CHARACTERS)}; "
            f"try {value.translate({ord(c): '-' for c in BANNED_NAME_CHARACTERS})!r}.",
            option="name",
            value=value,
        )
    return value


def check_optional_str(option: str, value: Any, *, owner: str = "") -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise OptionError(
        f"Option {option!r}{_where(owner)} must be a string, got {type(value).__name__} "
        f"{value!r}. Write {option}={str(value)!r}.",
        option=option,
        value=value,
    )


def check_retries(value: Any, *, owner: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise OptionError(
            f"Option 'retries'{_where(owner)} must be a whole number >= 0, got {value!r}. "
            "retries=N means up to N more attempts after the first; use 0 for none.",
            option="retries",
            value=value,
        )
    return value


def _is_real(value: Any) -> bool:
    """`isinstance(value, numbers.Real)`; `numbers` is imported only for what is neither an int
    nor a float."""
    if type(value) is int or type(value) is float:
        return True
    from numbers import Real

    return isinstance(value, Real)


def _check_delay(option: str, value: Any, owner: str) -> float:
    if isinstance(value, bool) or not _is_real(value) or not math.isfinite(value):
        raise OptionError(
            f"Option {option!r}{_where(owner)} must be a number of seconds >= 0, got {value!r}.",
            option=option,
            value=value,
        )
    if value < 0:
        raise OptionError(
            f"Option {option!r}{_where(owner)} must be >= 0 seconds, got {value!r}. "
            "Use 0 to retry at once.",
            option=option,
            value=value,
        )
    return value  # type: ignore[no-any-return]  # kept as given: 5 stays 5, as in Prefect


def check_flow_retry_delay(value: Any, *, owner: str = "") -> float:
    """Flows take one number of seconds (as Prefect's flows do)."""
    if isinstance(value, (list, tuple)) or callable(value):
        raise OptionError(
            f"Option 'retry_delay_seconds'{_where(owner)} must be a number for a flow, got "
            f"{value!r}. Lists, callables and backoff apply to tasks; give the flow one delay.",
            option="retry_delay_seconds",
            value=value,
        )
    return _check_delay("retry_delay_seconds", value, owner)


def check_task_retry_delay(value: Any, retries: int, *, owner: str = "") -> float | list[float]:
    """A number, a list (one delay per retry, the last repeating) or `f(retries) -> list`."""
    option = "retry_delay_seconds"
    if callable(value):
        try:
            produced = value(retries)
        except Exception as exc:
            raise OptionError(
                f"Option {option!r}{_where(owner)} is a callable, and calling it with "
                f"retries={retries} raised {exc!r}. It must return a list of delays.",
                option=option,
                value=value,
            ) from exc
        return check_task_retry_delay(list(produced), retries, owner=owner)
    if isinstance(value, (list, tuple)):
        if len(value) > MAX_RETRY_DELAYS:
            raise OptionError(
                f"Option {option!r}{_where(owner)} has {len(value)} delays; at most "
                f"{MAX_RETRY_DELAYS} are allowed (the last one repeats for later retries).",
                option=option,
                value=value,
            )
        return [_check_delay(option, item, owner) for item in value]
    return _check_delay(option, value, owner)


def check_timeout(value: Any, *, owner: str = "") -> float | None:
    """None or 0 mean no timeout (as in Prefect); otherwise a positive number of seconds."""
    if value is None or (value == 0 and not isinstance(value, bool)):
        return None
    if isinstance(value, bool) or not _is_real(value) or not float(value) > 0:
        raise OptionError(
            f"Option 'timeout_seconds'{_where(owner)} must be a number of seconds > 0, "
            f"got {value!r}. Use None for no timeout.",
            option="timeout_seconds",
            value=value,
        )
    return float(value)


def check_jitter(value: Any, *, owner: str = "") -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not _is_real(value) or value < 0:
        raise OptionError(
            f"Option 'retry_jitter_factor'{_where(owner)} must be a number >= 0, got {value!r}. "
            "0.5 spreads each delay over ±50%.",
            option="retry_jitter_factor",
            value=value,
        )
    return float(value)


def check_optional_bool(option: str, value: Any, *, owner: str = "") -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise OptionError(
        f"Option {option!r}{_where(owner)} must be True, False or None, got {value!r}.",
        option=option,
        value=value,
    )


def check_callable(option: str, value: Any, *, owner: str = "") -> Callable[..., Any] | None:
    if value is None or callable(value):
        return value  # type: ignore[no-any-return]
    raise OptionTypeError(
        f"Option {option!r}{_where(owner)} must be callable, got {type(value).__name__} "
        f"{value!r}. Pass the function itself, without calling it.",
        option=option,
        value=value,
    )


def check_run_name(option: str, value: Any, *, owner: str = "") -> str | Callable[..., Any] | None:
    if value is None or isinstance(value, str) or callable(value):
        return value  # type: ignore[no-any-return]
    raise OptionTypeError(
        f"Option {option!r}{_where(owner)} must be a string template such as "
        f"'run-{{x}}' or a callable returning a string; got {type(value).__name__} {value!r}.",
        option=option,
        value=value,
    )


def check_hooks(option: str, value: Any, *, owner: str = "") -> list[Callable[..., Any]]:
    if value is None:
        return []
    if callable(value) or not isinstance(value, Iterable) or isinstance(value, (str, bytes)):
        shown = getattr(value, "__name__", repr(value))
        raise OptionTypeError(
            f"Option {option!r}{_where(owner)} must be a list of hooks, got {shown}. "
            f"Write {option}=[{shown}].",
            option=option,
            value=value,
        )
    hooks = list(value)
    for hook in hooks:
        if not callable(hook):
            raise OptionTypeError(
                f"Option {option!r}{_where(owner)} must hold callables, but one item is "
                f"{type(hook).__name__} {hook!r}. Hooks are called as hook(obj, run, state).",
                option=option,
                value=value,
            )
    return hooks


def check_tags(value: Any, *, owner: str = "") -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise OptionError(
            f"Option 'tags'{_where(owner)} must be a list of strings, got {value!r}. "
            f"Write tags=[{value!r}].",
            option="tags",
            value=value,
        )
    items = list(value)
    for item in items:
        if not isinstance(item, str):
            raise OptionError(
                f"Option 'tags'{_where(owner)} must hold strings, but one item is {item!r}.",
                option="tags",
                value=value,
            )
    return frozenset(items)


def check_expiration(value: Any, *, owner: str = "") -> dt.timedelta | None:
    if value is None:
        return None
    import datetime as dt

    if isinstance(value, dt.timedelta):
        return value
    raise OptionError(
        f"Option 'cache_expiration'{_where(owner)} must be a datetime.timedelta, got {value!r}. "
        "Write cache_expiration=timedelta(hours=1).",
        option="cache_expiration",
        value=value,
    )


def check_reserved_arguments(fn: Callable[..., Any], *, kind: str) -> None:
    import inspect  # here, not at the top: see `_decorated.py`

    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):  # builtins without a signature
        return
    for name in RESERVED_ARGUMENTS:
        if name in params:
            raise ReservedArgumentError(
                f"{kind.title()} function {getattr(fn, '__qualname__', fn)!r} has a parameter "
                f"named {name!r}, which headwater reserves for itself. Rename the parameter."
            )


def hook_name(hook: Callable[..., Any]) -> str:
    """The name a hook is logged under: its `__name__`, a partial's function, or its class."""
    if hasattr(hook, "__name__"):
        return str(hook.__name__)
    func = getattr(hook, "func", None)
    if func is not None and hasattr(func, "__name__"):
        return str(func.__name__)
    return type(hook).__name__


def check_result_storage(value: Any, *, owner: str = "") -> Any:
    """None, a folder path, a URL string, or a ResultStorage-like object (has read_bytes)."""
    import os

    if value is None or isinstance(value, (str, os.PathLike)) or hasattr(value, "read_bytes"):
        return value
    raise OptionTypeError(
        f"Option 'result_storage'{_where(owner)} must be a folder path, an fsspec URL such as "
        f"'memory://results' or 's3://bucket/prefix', or a ResultStorage; got {value!r}.",
        option="result_storage",
        value=value,
    )


def check_result_serializer(value: Any, *, owner: str = "") -> Any:
    """None, "pickle", "json", or a Serializer-like object (has dumps and loads)."""
    if value is None or (hasattr(value, "dumps") and hasattr(value, "loads")):
        return value
    if isinstance(value, str) and value.lower() in ("pickle", "json"):
        return value
    raise OptionError(
        f"Option 'result_serializer'{_where(owner)} must be 'pickle' (any Python object) or "
        f"'json' (plain data), or a Serializer; got {value!r}.",
        option="result_serializer",
        value=value,
    )
