"""`Task` and the `@task` decorator."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar, overload

from headwater.core import options as opt
from headwater.core import seam
from headwater.core._decorated import _UNBOUND, Decorated, _md5_hex
from headwater.core.context import flow_run_var
from headwater.core.options import NotSet
from headwater.errors import SubmissionError, UnsupportedPrefectFeature

if TYPE_CHECKING:
    import datetime as dt

    from headwater.core._asset import Asset

P = ParamSpec("P")
R = TypeVar("R")


class Task(Decorated, Generic[P, R]):
    """A function whose calls become task runs: named, tagged, retried, timed and recorded.

    Build one with `@task`. Calling it runs the function in the caller's thread as a task run
    and returns its value; inside a flow the run belongs to that flow run.
    """

    _kind = "task"
    _hook_kinds = ("completion", "failure", "running", "commit", "rollback")

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
        on_commit: Iterable[Callable[..., Any]] | None = None,
        on_rollback: Iterable[Callable[..., Any]] | None = None,
        retry_condition_fn: Callable[..., Any] | None = None,
        viz_return_value: Any = None,
        asset_deps: Iterable[Any] | None = None,
    ) -> None:
        given = {k: v for k, v in locals().items() if k not in ("self", "fn", "__class__")}
        self._given = {k: v for k, v in given.items() if v is not None and v is not NotSet}
        self._wrap(fn)
        default_name = getattr(self.fn, "__name__", None) or type(self.fn).__name__
        # Only names the user chose are checked for forbidden characters: a lambda's default
        # name is '<lambda>', and that must keep working (as in Prefect).
        self.name = opt.check_name(
            name if name is not None else default_name, kind="task",
            check_characters=name is not None,
        )
        owner = f"task {self.name!r}"
        self.description = opt.check_optional_str("description", description, owner=owner)
        if self.description is None:
            import inspect  # loaded by `_wrap` (above): a look-up

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
        self.cache_policy = _check_cache_policy(cache_policy, owner)
        if cache_key_fn is not None and cache_policy not in (NotSet, None):
            import logging

            logging.getLogger("headwater.tasks").warning(
                "Both `cache_policy` and `cache_key_fn` are set on task %r. `cache_key_fn` "
                "will be used.", self.name,
            )
        self.refresh_cache = opt.check_optional_bool("refresh_cache", refresh_cache, owner=owner)
        self.persist_result = opt.check_optional_bool("persist_result", persist_result, owner=owner)
        if self.persist_result is None and (
            cache_key_fn is not None
            or result_storage is not None
            or result_serializer is not None
            or result_storage_key is not None
            or (cache_policy is not NotSet and cache_policy is not None
                and getattr(cache_policy, "is_no_cache", False) is False)
        ):
            # Asking for caching or for a place to keep results turns persistence on.
            self.persist_result = True
        if self.persist_result is False and cache_policy not in (NotSet, None) and not getattr(
            cache_policy, "is_no_cache", False
        ):
            import logging

            logging.getLogger("headwater.tasks").warning(
                "Ignoring `cache_policy` on task %r because persist_result is False.", self.name
            )
        self.cache_policy = _shown_cache_policy(self.cache_policy, self.cache_key_fn,
                                                self.persist_result, result_storage_key)
        self.result_storage = opt.check_result_storage(result_storage, owner=owner)
        self.result_serializer = opt.check_result_serializer(result_serializer, owner=owner)
        self.result_storage_key = opt.check_optional_str(
            "result_storage_key", result_storage_key, owner=owner
        )
        self.cache_result_in_memory = bool(cache_result_in_memory)
        self.on_completion_hooks = opt.check_hooks("on_completion", on_completion, owner=owner)
        self.on_failure_hooks = opt.check_hooks("on_failure", on_failure, owner=owner)
        self.on_running_hooks = opt.check_hooks("on_running", on_running, owner=owner)
        # Transaction hooks, `hook(txn)`: see headwater.core.transactions.
        self.on_commit_hooks = opt.check_hooks("on_commit", on_commit, owner=owner)
        self.on_rollback_hooks = opt.check_hooks("on_rollback", on_rollback, owner=owner)
        self.viz_return_value = viz_return_value
        # Strings become Asset objects now, so a bad key fails at decoration, as in Prefect.
        if asset_deps is None:
            self.asset_deps: list[Asset] = []
        else:  # the asset model (and its dataclasses) only for a task that names assets
            from headwater.core._asset import to_asset

            self.asset_deps = [to_asset(a) for a in asset_deps]
        self.task_key = _task_key(self.fn)

    @property
    def cache_policy(self) -> Any:
        """The cache policy, as Prefect shows it: `DEFAULT` when none was given (see
        `_shown_cache_policy`)."""
        policy = self.__dict__["_cache_policy"]
        if policy is _DEFAULT_POLICY:
            from headwater.core.cache_policies import DEFAULT

            policy = self.__dict__["_cache_policy"] = DEFAULT
        return policy

    @cache_policy.setter
    def cache_policy(self, value: Any) -> None:
        self.__dict__["_cache_policy"] = value

    # -- hook registration (`@my_task.on_failure`) -----------------------------------------------
    def on_completion(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        return self._register_hook("completion", fn)

    def on_failure(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        return self._register_hook("failure", fn)

    def on_running(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        return self._register_hook("running", fn)

    def on_commit(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Register `fn(txn)` to run when the transaction holding this task's result commits."""
        return self._register_hook("commit", fn)

    def on_rollback(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Register `fn(txn)` to run when the transaction holding this task's result rolls
        back (the `with transaction():` block around it raised)."""
        return self._register_hook("rollback", fn)

    # -- calling ---------------------------------------------------------------------------------
    def __call__(self, /, *args: Any, return_state: bool = False, wait_for: Any = None,
                 **kwargs: Any) -> Any:
        """Run the task now, in this thread, and return its result.

        Args:
            return_state: return the final `State` instead of the result; never raises.
            wait_for: runs (futures) to wait for before starting, without passing their data.
        """
        signature = self._signature
        if (not kwargs and signature.simple and len(args) == len(signature.names)
                and self._bound is _UNBOUND):  # the common call, bound here: two frames less
            parameters = dict(zip(signature.names, args))  # noqa: B905 (lengths are equal)
        else:
            parameters = self._bind(args, kwargs)
        return seam.current.call_task(self, parameters, wait_for, return_state)


    def submit(self, /, *args: Any, return_state: bool = False, wait_for: Any = None,
               **kwargs: Any) -> Any:
        """Hand the task to the flow's task runner and return a future at once.

        Futures among the arguments (also inside lists, tuples, dicts and sets) are resolved to
        their results before the task runs, and recorded as its upstream dependencies.

        Args:
            return_state: wait, and return the final `State` instead of the future.
            wait_for: futures to wait for first, without passing their data.

        Raises:
            SubmissionError: called outside a flow run (there is no task runner to send it to).
        """
        if flow_run_var.get() is None:
            raise SubmissionError(
                f"Task {self.name!r} was submitted outside a flow run, so there is no task "
                f"runner to send it to. Call {self.name}(...) to run it now, or call "
                f"{self.name}.submit(...) inside a function decorated with @flow."
            )
        signature = self._signature
        if (not kwargs and signature.simple and len(args) == len(signature.names)
                and self._bound is _UNBOUND):  # as in __call__
            parameters = dict(zip(signature.names, args))  # noqa: B905 (lengths are equal)
        else:
            parameters = self._bind(args, kwargs)
        future = seam.current.submit_task(self, parameters, wait_for)
        if return_state:
            future.wait()
            return future.state
        return future

    def delay(self, *args: Any, **kwargs: Any) -> Any:
        """Prefect sends the call to background task workers; headwater has none. Raises
        `UnsupportedPrefectFeature` naming what to use instead."""
        raise UnsupportedPrefectFeature(
            f"{self.name}.delay(...) sends the call to Prefect's background task workers, "
            f"which headwater does not have. Instead: call {self.name}.submit(...) inside a "
            f"flow, or serve a flow that calls {self.name}(...) and start its runs with "
            "`headwater deployments run`."
        )

    def apply_async(self, *args: Any, **kwargs: Any) -> Any:
        """As `delay`: raises `UnsupportedPrefectFeature`."""
        return self.delay(*args, **kwargs)

    def map(self, /, *args: Any, return_state: bool = False, wait_for: Any = None,
            **kwargs: Any) -> Any:
        """Submit one run per element of the iterable arguments; return a list of futures.

        Iterables must have equal lengths; `unmapped(x)` sends `x` to every run; `quote(x)`
        passes `x` without looking inside. Mapping over an empty list gives `[]`.

        Raises:
            SubmissionError: called outside a flow run.
            MappingLengthMismatch: iterables of different lengths.
            MappingMissingIterable: no iterable argument.
        """
        from headwater.core.mapping import MappedCalls

        if flow_run_var.get() is None:
            raise SubmissionError(
                f"Task {self.name!r} was mapped outside a flow run, so there is no task runner "
                f"to send the runs to. Call {self.name}.map(...) inside a function decorated "
                f"with @flow, or loop over the inputs and call {self.name}(...) directly."
            )
        parameters = self._bind(args, kwargs, apply_defaults=False)
        upstream = _resolve_top_level(parameters)
        if upstream:
            wait_for = [*(_as_list(wait_for)), *upstream]
        calls = MappedCalls(parameters, self._signature.var_keyword, self._signature.complete)
        futures = seam.current.map_task(self, calls, wait_for)
        if return_state:
            futures.wait()
            return [future.state for future in futures]
        return futures


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple, set)) else [value]


def _resolve_top_level(parameters: dict[str, Any]) -> list[Any]:
    """Replace top-level futures and States by their results (so a future of a list can be
    mapped over); return the futures, which every mapped run will wait for."""
    from headwater.core.futures import TaskRunFuture
    from headwater.core.states import State

    upstream = []
    for name, value in parameters.items():
        if isinstance(value, TaskRunFuture):
            upstream.append(value)
            value.wait()
            parameters[name] = value.result()
        elif isinstance(value, State):
            parameters[name] = value._result()
    return upstream


# Stands for `cache_policies.DEFAULT` until `task.cache_policy` is first read: decorating a task
# then does not import the cache policies (with hashing, json and decimal), which a short
# script's first flow call would otherwise wait for before its run store's writer can start.
class _DefaultPolicy:
    def __reduce__(self) -> str:  # pickled and copied as this module's one instance
        return "_DEFAULT_POLICY"

    def __repr__(self) -> str:
        return "DEFAULT (not loaded yet)"


_DEFAULT_POLICY = _DefaultPolicy()


def _shown_cache_policy(policy: Any, cache_key_fn: Any, persist_result: bool | None,
                        result_storage_key: str | None) -> Any:
    """The policy a task shows as `task.cache_policy`, as Prefect's: DEFAULT when none was
    given, NO_CACHE when results are not persisted, None with a `result_storage_key`, a
    `CacheKeyFnPolicy` for a `cache_key_fn`. (The engine decides from the same options.)"""
    if (policy is NotSet and cache_key_fn is None and persist_result is not False
            and result_storage_key is None):
        return _DEFAULT_POLICY  # DEFAULT, once read
    from headwater.core.cache_policies import DEFAULT, NO_CACHE, CacheKeyFnPolicy

    if cache_key_fn is not None:
        policy = CacheKeyFnPolicy(cache_key_fn=cache_key_fn)
    if persist_result is False:
        return None if policy is None else NO_CACHE
    if policy is NotSet and result_storage_key is None:
        return DEFAULT
    if result_storage_key and not getattr(policy, "is_no_cache", False):
        return None
    return policy


def _check_cache_policy(value: Any, owner: str) -> Any:
    if value is NotSet or value is None:
        return value
    from headwater.core.cache_policies import CachePolicy

    if isinstance(value, CachePolicy) and value.isolation == "SERIALIZABLE" and (
        value.lock_manager is None
    ):
        raise opt.OptionError(
            f"Option 'cache_policy' on {owner} asks for SERIALIZABLE isolation but has no lock "
            "manager. Use policy.configure(isolation_level='SERIALIZABLE', "
            "lock_manager=FileSystemLockManager(lock_files_directory=...)) (from "
            "headwater.results), or MemoryLockManager() within one process.",
            option="cache_policy",
            value=value,
        )
    if not isinstance(value, CachePolicy):
        raise opt.OptionTypeError(
            f"Option 'cache_policy' on {owner} must be a cache policy such as INPUTS or "
            f"INPUTS + TASK_SOURCE (from headwater.cache_policies), got {value!r}.",
            option="cache_policy",
            value=value,
        )
    return value


def _task_key(fn: Callable[..., Any]) -> str:
    code = getattr(fn, "__code__", None)
    qualname = getattr(fn, "__qualname__", type(fn).__name__)
    material = code.co_code + qualname.encode() if code is not None else qualname.encode()
    return f"{qualname.split('.')[-1]}-{_md5_hex(material)[:8]}"


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
