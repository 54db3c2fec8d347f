"""`Deployment`: a flow with a name, schedules and default parameters, that serve processes run.

    nightly = etl.to_deployment("nightly", cron="0 3 * * *", parameters={"full": True})
    serve(nightly, hourly)                        # blocks: runs them on schedule and on demand

`to_deployment` checks everything at once (schedules, parameter names, JSON-ability), so a
typo fails when the script starts, not at the first tick. Prefect options that need its server
(work pools, triggers, job variables) are refused with what to use instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID

from headwater.deployments.schedules import Schedule, construct_schedules
from headwater.errors import DeploymentError

if TYPE_CHECKING:
    from headwater.core.flows import Flow
    from headwater.store.base import RunStore
    from headwater.store.deployments import DeploymentSpec

# Prefect options that need a Prefect server or worker, and what to do instead.
_SERVER_ONLY = {
    "triggers": "start runs from your own code with headwater.deployments.run_deployment()",
    "work_pool_name": "serve the flow with flow.serve() or `headwater serve` on the machine "
                      "that should run it",
    "work_queue_name": "serve the flow with flow.serve() or `headwater serve`",
    "job_variables": "set environment variables for the serve process",
    "_sla": "watch run durations with `headwater runs ls`",
    "version_type": "pass version='...'",
}


@dataclass
class Deployment:
    """A flow that serve processes run on its schedules and on demand (Prefect's
    `RunnerDeployment`). Make one with `flow.to_deployment(name, ...)`.

    Attributes:
        name: the deployment's name; it is known as `flow_name/name`.
        flow_name: the flow's name.
        entrypoint: where the flow is: `/path/file.py:function` or `module:function`.
        working_dir: the folder its runs start in.
        schedules: when it runs (empty: only on demand).
        parameters: default parameters of its runs.
        tags, description, version: shown with it; tags go on its runs.
        paused: True to register it paused, False to resume it, None to keep what is stored.
        concurrency_limit: at most this many of its runs at once, across serve processes.
        resume_crashed: when one of its runs crashes (its process killed, its machine lost),
            a serve process resumes it, up to this many times per run (0: never).
        enforce_parameter_schema: check run parameters against the flow's signature.
    """

    name: str
    flow_name: str
    entrypoint: str
    working_dir: str | None = None
    schedules: list[Schedule] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    description: str | None = None
    version: str | None = None
    paused: bool | None = None
    concurrency_limit: int | None = None
    resume_crashed: int = 0
    enforce_parameter_schema: bool = True
    flow: Any = field(default=None, repr=False, compare=False)

    @property
    def full_name(self) -> str:
        return f"{self.flow_name}/{self.name}"

    def spec(self, new_id: str) -> DeploymentSpec:
        """What the store keeps (`new_id` is used if the deployment is new)."""
        from headwater.store.deployments import DeploymentSpec

        return DeploymentSpec(
            id=new_id, name=self.name, flow_name=self.flow_name, entrypoint=self.entrypoint,
            working_dir=self.working_dir, schedules=tuple(s.to_json() for s in self.schedules),
            parameters=self.parameters, tags=tuple(self.tags), description=self.description,
            version=self.version, paused=self.paused, concurrency_limit=self.concurrency_limit,
            resume_crashed=self.resume_crashed,
        )

    def apply(self, store: RunStore | None = None) -> UUID:
        """Register (or update) the deployment in the run store; returns its id.

        Runs only happen while a serve process serves it (`serve(...)`, `headwater serve`).
        """
        from headwater.deployments.api import register

        return register(self, store=store).id


def to_deployment(
    flow: Flow[..., Any], name: str, *, interval: Any = None, cron: Any = None,
    rrule: Any = None, paused: bool | None = None, schedule: Schedule | None = None,
    schedules: Any = None, concurrency_limit: Any = None,
    parameters: dict[str, Any] | None = None, description: str | None = None,
    tags: Any = None, version: str | None = None, enforce_parameter_schema: bool = True,
    entrypoint_type: Any = None, resume_crashed: int = 0, **server_only: Any,
) -> Deployment:
    """`flow.to_deployment(...)`: a `Deployment` of `flow`, every option checked now.

    Raises:
        DeploymentError: an option headwater cannot use (the message says what to do).
        ScheduleError: a schedule is not valid.
        InvalidNameError: the name holds a character that is not allowed.
    """
    from headwater.core import options as opt
    from headwater.deployments.entrypoints import entrypoint_of

    for option, value in server_only.items():
        if option not in _SERVER_ONLY:
            raise TypeError(f"to_deployment() got an unexpected keyword argument {option!r}")
        if value is not None:
            raise DeploymentError(
                f"{option}={value!r} needs a Prefect server; headwater serves flows without "
                f"one. Instead: {_SERVER_ONLY[option]}.",
                option=option, value=value,
            )
    if name is None or not isinstance(name, str) or not name.strip():
        raise DeploymentError(
            f"A deployment needs a name, got {name!r}. E.g. flow.to_deployment('nightly', "
            f"cron='0 3 * * *').",
            option="name", value=name,
        )
    if name.endswith(".py"):  # Prefect takes `__file__`-style names as the file's stem
        from pathlib import Path

        name = Path(name).stem
    opt.check_name(name, kind="deployment")
    built = construct_schedules(interval=interval, cron=cron, rrule=rrule, schedule=schedule,
                                schedules=schedules)
    values = _check_parameters(flow, parameters, enforce_parameter_schema)
    module_path = str(getattr(entrypoint_type, "value", entrypoint_type)) == "module_path"
    entrypoint, working_dir = entrypoint_of(flow, module_path=module_path)
    return Deployment(
        name=name, flow_name=flow.name, entrypoint=entrypoint, working_dir=working_dir,
        schedules=built, parameters=values, tags=_check_tags(tags),
        description=description if description is not None else flow.description,
        version=version if version is not None else flow.version,
        paused=_check_optional_bool("paused", paused),
        concurrency_limit=check_limit("concurrency_limit", concurrency_limit),
        resume_crashed=_check_resumes(resume_crashed),
        enforce_parameter_schema=bool(enforce_parameter_schema), flow=flow,
    )


def _check_resumes(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise DeploymentError(
            f"resume_crashed must be a whole number of times >= 0, got {value!r}. E.g. "
            f"resume_crashed=2 resumes a crashed run at most twice.",
            option="resume_crashed", value=value,
        )
    return value


def _check_parameters(flow: Any, parameters: Any, enforce: bool) -> dict[str, Any]:
    if parameters is None:
        return {}
    if not isinstance(parameters, dict):
        raise DeploymentError(
            f"parameters must be a dict of parameter names to values, got {parameters!r}.",
            option="parameters", value=parameters,
        )
    import inspect

    signature = inspect.signature(flow.fn)
    takes_any = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
    unknown = [k for k in parameters if k not in signature.parameters]
    if enforce and unknown and not takes_any:
        names = ", ".join(signature.parameters) or "(none)"
        raise DeploymentError(
            f"Flow {flow.name!r} has no parameter {unknown[0]!r}. Its parameters: {names}.",
            option="parameters", value=parameters,
        )
    try:  # runs get their parameters from the store, as JSON
        return dict(json.loads(json.dumps(parameters)))
    except (TypeError, ValueError) as exc:
        raise DeploymentError(
            f"Deployment parameters must be JSON values (numbers, strings, lists, dicts...): "
            f"{exc}. Pass e.g. a date as an ISO string; the flow's type hints convert it back.",
            option="parameters", value=parameters,
        ) from exc


def _check_tags(tags: Any) -> list[str]:
    if tags is None:
        return []
    if isinstance(tags, str) or not all(isinstance(t, str) for t in tags):
        raise DeploymentError(
            f"tags must be a list of strings, got {tags!r}. E.g. tags=['nightly'].",
            option="tags", value=tags,
        )
    return list(tags)


def _check_optional_bool(option: str, value: Any) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise DeploymentError(f"{option} must be True, False or None, got {value!r}.",
                              option=option, value=value)
    return value


def check_limit(option: str, value: Any) -> int | None:
    """None, or a whole number of runs >= 1 (`limit`, `concurrency_limit`)."""
    value = getattr(value, "limit", value)  # Prefect's ConcurrencyLimitConfig(limit=...)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise DeploymentError(
            f"{option} must be a whole number of runs >= 1 (or None for no limit), got "
            f"{value!r}.",
            option=option, value=value,
        )
    return value
