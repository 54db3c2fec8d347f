"""`Flow` and the `@flow` decorator."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cached_property
from typing import Any, Generic, ParamSpec, TypeVar, overload

from headwater.core import options as opt
from headwater.core import seam
from headwater.core._decorated import _UNBOUND, Decorated, _md5_hex
from headwater.errors import UnsupportedPrefectFeature

P = ParamSpec("P")
R = TypeVar("R")


class Flow(Decorated, Generic[P, R]):
    """A function whose calls become flow runs, with their own task runs and subflows.

    Build one with `@flow`. Calling it validates the parameters, records a flow run, runs the
    body in the calling thread and returns what the function returns (or raises what it raised).
    """

    _kind = "flow"
    _hook_kinds = ("completion", "failure", "cancellation", "crashed", "running")

    def __init__(
        self,
        fn: Callable[P, R],
        name: str | None = None,
        version: str | None = None,
        flow_run_name: str | Callable[..., str] | None = None,
        retries: int | None = None,
        retry_delay_seconds: float | None = None,
        task_runner: Any = None,
        description: str | None = None,
        timeout_seconds: float | None = None,
        validate_parameters: bool = True,
        persist_result: bool | None = None,
        result_storage: Any = None,
        result_serializer: Any = None,
        cache_result_in_memory: bool = True,
        log_prints: bool | None = None,
        on_completion: Iterable[Callable[..., Any]] | None = None,
        on_failure: Iterable[Callable[..., Any]] | None = None,
        on_cancellation: Iterable[Callable[..., Any]] | None = None,
        on_crashed: Iterable[Callable[..., Any]] | None = None,
        on_running: Iterable[Callable[..., Any]] | None = None,
    ) -> None:
        given = {k: v for k, v in locals().items() if k not in ("self", "fn", "__class__")}
        self._given = {k: v for k, v in given.items() if v is not None}
        self._wrap(fn)
        if name is None:
            raw = getattr(self.fn, "__name__", None) or type(self.fn).__name__
            name = "unknown-lambda" if raw == "<lambda>" else raw.replace("_", "-")
        self.name = opt.check_name(name, kind="flow")
        owner = f"flow {self.name!r}"
        self._version = opt.check_optional_str("version", version, owner=owner)
        self.flow_run_name = opt.check_run_name("flow_run_name", flow_run_name, owner=owner)
        if retries is None:
            from headwater import settings

            retries = settings.flow_default_retries()
        self.retries = opt.check_retries(retries, owner=owner)
        self.retry_delay_seconds = opt.check_flow_retry_delay(
            0 if retry_delay_seconds is None else retry_delay_seconds, owner=owner
        )
        self._task_runner = _check_task_runner(task_runner, owner)
        self.description = opt.check_optional_str("description", description, owner=owner)
        if self.description is None:
            import inspect  # loaded by `_wrap` (above): a look-up

            self.description = inspect.getdoc(self.fn)
        self.timeout_seconds = opt.check_timeout(timeout_seconds, owner=owner)
        checked = opt.check_optional_bool("validate_parameters", validate_parameters, owner=owner)
        self.should_validate_parameters = True if checked is None else checked
        self.persist_result = opt.check_optional_bool("persist_result", persist_result, owner=owner)
        self.result_storage = opt.check_result_storage(result_storage, owner=owner)
        self.result_serializer = opt.check_result_serializer(result_serializer, owner=owner)
        if self.persist_result is None and (result_storage or result_serializer):
            self.persist_result = True
        self.cache_result_in_memory = bool(cache_result_in_memory)
        self.log_prints = opt.check_optional_bool("log_prints", log_prints, owner=owner)
        self.on_completion_hooks = opt.check_hooks("on_completion", on_completion, owner=owner)
        self.on_failure_hooks = opt.check_hooks("on_failure", on_failure, owner=owner)
        self.on_cancellation_hooks = opt.check_hooks(
            "on_cancellation", on_cancellation, owner=owner
        )
        self.on_crashed_hooks = opt.check_hooks("on_crashed", on_crashed, owner=owner)
        self.on_running_hooks = opt.check_hooks("on_running", on_running, owner=owner)
        from headwater.core.parameters import ParameterValidator  # loaded by `_wrap`

        self.validator = ParameterValidator(self.fn, self._signature)

    @cached_property
    def version(self) -> str | None:
        """The given version, else an md5 of the flow's source file (None if it has none)."""
        if self._version is not None:
            return self._version
        import inspect

        try:
            path = inspect.getsourcefile(self.fn)
            if path is None:
                return None
            with open(path, "rb") as source:
                return _md5_hex(source.read())
        except (OSError, TypeError):
            return None

    @property
    def task_runner(self) -> Any:
        """The flow's task runner: the one given, else a `ThreadPoolTaskRunner` (as in Prefect).

        Each flow run starts a copy of it, so one flow object can run many times at once.
        """
        if self._task_runner is None:
            from headwater.runners.thread import ThreadPoolTaskRunner

            self._task_runner = ThreadPoolTaskRunner()
        return self._task_runner

    @cached_property
    def parameters(self) -> Any:
        """The JSON schema of the flow's parameters (`.properties`, `.required`,
        `.model_dump()`), as Prefect's `Flow.parameters` gives it. Built with pydantic on
        first use."""
        from headwater.core.parameter_schema import parameter_schema

        return parameter_schema(self.fn)

    @property
    def validate_parameters(self) -> bool:
        return self.should_validate_parameters

    # -- hook registration (`@my_flow.on_failure`) -----------------------------------------------
    def on_completion(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        return self._register_hook("completion", fn)

    def on_failure(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        return self._register_hook("failure", fn)

    def on_cancellation(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        return self._register_hook("cancellation", fn)

    def on_crashed(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        return self._register_hook("crashed", fn)

    def on_running(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        return self._register_hook("running", fn)

    # -- calling ---------------------------------------------------------------------------------
    def __call__(self, /, *args: Any, return_state: bool = False, wait_for: Any = None,
                 **kwargs: Any) -> Any:
        """Run the flow and return its result.

        Args:
            return_state: return the final `State` instead of the result; never raises for a
                failed run.
            wait_for: futures to wait for before starting (for subflows).

        Raises:
            ParameterBindError: the arguments do not fit the function's signature.
            ParameterTypeError: a parameter failed validation against its type hint.
            Exception: whatever the flow function raised, with its original type.
        """
        signature = self._signature
        if (not kwargs and signature.simple and len(args) == len(signature.names)
                and self._bound is _UNBOUND):  # the common call, bound here: two frames less
            parameters = dict(zip(signature.names, args))  # noqa: B905 (lengths are equal)
        else:
            parameters = self._bind(args, kwargs)
        return seam.current.call_flow(self, parameters, wait_for, return_state)

    # -- deployments (headwater.deployments, reached through the seam) ---------------------------
    def to_deployment(
        self, name: str, interval: Any = None, cron: Any = None, rrule: Any = None,
        paused: bool | None = None, schedule: Any = None, schedules: Any = None,
        concurrency_limit: Any = None, parameters: dict[str, Any] | None = None,
        triggers: Any = None, description: str | None = None, tags: Any = None,
        version: str | None = None, version_type: Any = None,
        enforce_parameter_schema: bool = True, work_pool_name: str | None = None,
        work_queue_name: str | None = None, job_variables: Any = None,
        entrypoint_type: Any = None, _sla: Any = None, resume_crashed: int = 0,
    ) -> Any:
        """A `Deployment` of this flow, to pass to `serve(...)`; every option is checked now.

        Args:
            name: the deployment's name (it is known as `flow-name/name`).
            interval, cron, rrule: a schedule (or a list of them): seconds or a timedelta, a
                cron string, an RFC 5545 rule. Or `schedule=`/`schedules=` with `Cron(...)`,
                `Interval(...)`, `RRule(...)` for time zones and anchors. None: on demand only.
            paused: register it paused (True), resume it (False), keep as stored (None).
            concurrency_limit: at most this many of its runs at once, across serve processes.
            parameters: default parameters of its runs (JSON values).
            description, tags, version: shown with it; tags go on its runs.
            enforce_parameter_schema: reject parameters the flow does not take.
            entrypoint_type: name the flow by file (default) or by module ("module_path").
            resume_crashed: resume a run that crashed (process killed, machine lost) up to
                this many times, from where it stopped (headwater's; see `flow.resume`).
            triggers, version_type, work_pool_name, work_queue_name, job_variables, _sla:
                need a Prefect server; refused with what to use instead.

        Raises:
            ScheduleError: a schedule is not valid (the message quotes it).
            DeploymentError: another option is not valid.
        """
        options = {k: v for k, v in locals().items() if k not in ("self", "name")}
        return seam.deployer().to_deployment(self, name, options)

    def serve(
        self, name: str | None = None, interval: Any = None, cron: Any = None,
        rrule: Any = None, paused: bool | None = None, schedule: Any = None,
        schedules: Any = None, global_limit: Any = None, triggers: Any = None,
        parameters: dict[str, Any] | None = None, description: str | None = None,
        tags: Any = None, version: str | None = None, enforce_parameter_schema: bool = True,
        pause_on_shutdown: bool = True, print_starting_message: bool = True,
        limit: int | None = None, webserver: bool = False, entrypoint_type: Any = None,
        resume_crashed: int = 0,
    ) -> None:
        """Serve this flow: run it on its schedule and on demand until SIGINT/SIGTERM.

        Registers the deployment `flow-name/name` in the run store and runs a serve loop
        (see `headwater.deployments`); any number of processes may serve it at once, and each
        tick runs exactly once. Options as `to_deployment`, plus `limit` (most runs at once in
        this process). `headwater deployments run flow-name/name` runs it now.

        Example:
            >>> @flow
            ... def report() -> None: ...
            >>> report.serve(name="every-morning", cron="0 7 * * *")  # doctest: +SKIP
        """
        options = {k: v for k, v in locals().items() if k not in ("self", "name")}
        seam.deployer().serve(self, name, options)

    def deploy(self, *args: Any, **kwargs: Any) -> Any:
        """Prefect's way to send a flow to a work pool; headwater has none. Raises
        `UnsupportedPrefectFeature` naming what to use instead."""
        raise UnsupportedPrefectFeature(
            f"{self.name}.deploy(...) hands the flow to a Prefect work pool; headwater has no "
            f"work pools. Instead: {self.fn.__name__}.serve(name=...) in a process on the "
            "machine that should run it, or `headwater serve file.py:flow`."
        )

    @staticmethod
    def from_source(*args: Any, **kwargs: Any) -> Any:
        """Prefect loads a flow from remote storage here; headwater raises
        `UnsupportedPrefectFeature` naming what to use instead."""
        raise UnsupportedPrefectFeature(
            "flow.from_source(...) loads a flow from remote storage, which headwater does not "
            "do. Instead: check the code out on the machine and import the flow, or run "
            "`headwater serve file.py:flow` there."
        )

    def resume(self, run_id: Any, *, return_state: bool = False, **parameters: Any) -> Any:
        """Run this flow again as a new attempt of its Failed, Crashed or Cancelled flow run
        `run_id` (an id or a unique prefix): calls that completed before, with persisted
        results, return them without running; the rest run (see `headwater.resuming`).
        Parameters given here replace the recorded ones.

        Example:
            >>> etl.resume("0193f2a4")  # doctest: +SKIP
        """
        return seam.resumer().resume(self, run_id, parameters, return_state)


def _check_task_runner(value: Any, owner: str) -> Any:
    if value is None:
        return None
    if isinstance(value, type):
        value = value()
    for method in ("submit", "__enter__", "__exit__"):
        if not hasattr(value, method):
            raise opt.OptionError(
                f"Option 'task_runner' on {owner} must be a task runner such as "
                f"ThreadPoolTaskRunner(), got {value!r} (it has no {method!r}).",
                option="task_runner",
                value=value,
            )
    return value


@overload
def flow(__fn: Callable[P, R]) -> Flow[P, R]: ...


@overload
def flow(__fn: None = None, **options: Any) -> Callable[[Callable[P, R]], Flow[P, R]]: ...


def flow(__fn: Any = None, **options: Any) -> Any:
    """Turn a function into a `Flow`.

    Works bare (`@flow`) or with options (`@flow(name="etl", retries=1)`); every keyword of
    `Flow` is accepted and checked now, at decoration time.

    Example:
        >>> @flow(log_prints=True)
        ... def hello(name: str = "world") -> None:
        ...     print(f"Hello {name}!")
    """
    if __fn is not None:
        return Flow(__fn, **options)
    valid = Flow._option_names()
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise opt.OptionError(
            f"@flow got unknown option(s) {unknown}. Valid options: {', '.join(valid)}.",
            option=unknown[0],
            value=options[unknown[0]],
        )

    def decorate(fn: Callable[P, R]) -> Flow[P, R]:
        return Flow(fn, **options)

    return decorate


flow.from_source = Flow.from_source  # type: ignore[attr-defined]  # Prefect's `flow.from_source`
