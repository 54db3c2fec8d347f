"""`Task` and the `@task` decorator."""

from __future__ import annotations

import datetime as dt
import hashlib
import inspect
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar, overload

from typing_extensions import ParamSpec

from headwater.core import options as opt
from headwater.core._decorated import Decorated
from headwater.core.options import NotSet

P = ParamSpec("P")
R = TypeVar("R")


class Task(Decorated, Generic[P, R]):
    """A function whose calls become task runs: named, tagged, retried, timed and recorded.

    Build one with `@task`. Calling it runs the function in the caller's thread as a task run
    and returns its value; inside a flow the run belongs to that flow run.
    """

    _kind = "task"
    _hook_kinds = ("completion", "failure", "running")

    def __init__(
        self,
        fn: Callable[P, R],
        name: str | None = None,
        description: str | None = None,
        tags: Iterable[str] | None = None,
        version: str | None = None,
        cache_policy: Any = NotSet,
        cache_key_fn: Callable[..., str | None] | None = None,
        cache_expiration: dt.timedelta | None = None,
        task_run_name: str | Callable[..., str] | None = None,
        retries: int | None = None,
        retry_delay_seconds: float | list[float] | Callable[[int], list[float]] | None = None,
        retry_jitter_factor: float | None = None,
        persist_result: bool | None = None,
        result_storage: Any = None,
        result_serializer: Any = None,
        result_storage_key: str | None = None,
        cache_result_in_memory: bool = True,
        timeout_seconds: float | None = None,
        log_prints: bool | None = None,
        refresh_cache: bool | None = None,
        on_completion: Iterable[Callable[..., Any]] | None = None,
        on_failure: Iterable[Callable[..., Any]] | None = None,
        on_running: Iterable[Callable[..., Any]] | None = None,
        retry_condition_fn: Callable[..., Any] | None = None,
        viz_return_value: Any = None,
        asset_deps: Iterable[Any] | None = None,
    ) -> None:
        given = {k: v for k, v in locals().items() if k not in ("self", "fn", "__class__")}
        self._given = {k: v for k, v in given.items() if v is not None and v is not NotSet}
        self._wrap(fn)
        default_name = getattr(self.fn, "__name__", None) or type(self.fn).__name__
        self.name = opt.check_name(name if name is not None else default_name, kind="task")
        owner = f"task {self.name!r}"
        self.description = opt.check_optional_str("description", description, owner=owner)
        if self.description is None:
            self.description = inspect.getdoc(self.fn)
        self.version = opt.check_optional_str("version", version, owner=owner)
        self.tags: set[str] = set(opt.check_tags(tags, owner=owner))
        self.task_run_name = opt.check_run_name("task_run_name", task_run_name, owner=owner)
        if retries is None:
            from headwater import settings

            retries = settings.task_default_retries()
        self.retries = opt.check_retries(retries, owner=owner)
        self.retry_delay_seconds = opt.check_task_retry_delay(
            0 if retry_delay_seconds is None else retry_delay_seconds, self.retries, owner=owner
        )
        self.retry_jitter_factor = opt.check_jitter(retry_jitter_factor, owner=owner)
        self.retry_condition_fn = opt.check_callable(
            "retry_condition_fn", retry_condition_fn, owner=owner
        )
        self.timeout_seconds = opt.check_timeout(timeout_seconds, owner=owner)
        self.log_prints = opt.check_optional_bool("log_prints", log_prints, owner=owner)
        self.cache_key_fn = opt.check_callable("cache_key_fn", cache_key_fn, owner=owner)
        self.cache_expiration = opt.check_expiration(cache_expiration, owner=owner)
        self.cache_policy = cache_policy
        self.refresh_cache = opt.check_optional_bool("refresh_cache", refresh_cache, owner=owner)
        self.persist_result = opt.check_optional_bool("persist_result", persist_result, owner=owner)
        self.result_storage = result_storage
        self.result_serializer = result_serializer
        self.result_storage_key = opt.check_optional_str(
            "result_storage_key", result_storage_key, owner=owner
        )
        self.cache_result_in_memory = bool(cache_result_in_memory)
        self.on_completion_hooks = opt.check_hooks("on_completion", on_completion, owner=owner)
        self.on_failure_hooks = opt.check_hooks("on_failure", on_failure, owner=owner)
        self.on_running_hooks = opt.check_hooks("on_running", on_running, owner=owner)
        self.viz_return_value = viz_return_value
        self.asset_deps = list(asset_deps) if asset_deps is not None else []
        self.task_key = _task_key(self.fn)

    # -- hook registration (`@my_task.on_failure`) ----------------------------------------------------
    def on_completion(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        return self._register_hook("completion", fn)

    def on_failure(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        return self._register_hook("failure", fn)

    def on_running(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        return self._register_hook("running", fn)

    # -- calling ------------------------------------------------------------------------------------
    def __call__(self, *args: Any, return_state: bool = False, wait_for: Any = None,
                 **kwargs: Any) -> Any:
        """Run the task now, in this thread, and return its result.

        Args:
            return_state: return the final `State` instead of the result; never raises.
            wait_for: runs (futures) to wait for before starting, without passing their data.
        """
        from headwater.core import task_engine
        from headwater.core.engine import run_coro_sync

        parameters = self._bind(args, kwargs)
        if self.isasync:
            coro = task_engine.run_task_async(self, parameters, wait_for, return_state)
            return coro if self._returns_coroutine() else run_coro_sync(coro)
        return task_engine.run_task_sync(self, parameters, wait_for, return_state)


def _task_key(fn: Callable[..., Any]) -> str:
    code = getattr(fn, "__code__", None)
    qualname = getattr(fn, "__qualname__", type(fn).__name__)
    material = code.co_code + qualname.encode() if code is not None else qualname.encode()
    return f"{qualname.split('.')[-1]}-{hashlib.md5(material).hexdigest()[:8]}"


@overload
def task(__fn: Callable[P, R]) -> Task[P, R]: ...


@overload
def task(
    __fn: None = None, **options: Any
) -> Callable[[Callable[P, R]], Task[P, R]]: ...


def task(__fn: Any = None, **options: Any) -> Any:
    """Turn a function into a `Task`.

    Works bare (`@task`) or with options (`@task(retries=2, tags=["io"])`); every keyword of
    `Task` is accepted and checked now, at decoration time.

    Example:
        >>> @task(retries=2, retry_delay_seconds=[1, 5])
        ... def fetch(url: str) -> bytes:
        ...     ...
    """
    if __fn is not None:
        return Task(__fn, **options)
    _check_option_names(options)

    def decorate(fn: Callable[P, R]) -> Task[P, R]:
        return Task(fn, **options)

    return decorate


def _check_option_names(options: dict[str, Any]) -> None:
    valid = Task._option_names()
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise opt.OptionError(
            f"@task got unknown option(s) {unknown}. Valid options: {', '.join(valid)}.",
            option=unknown[0],
            value=options[unknown[0]],
        )
