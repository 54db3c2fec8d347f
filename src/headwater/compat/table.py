"""The one table from Prefect names to headwater objects.

Each Prefect module maps names to `"module:attribute"` targets (or `"module"` for a whole
submodule). Names Prefect has and headwater does not are listed in `UNSUPPORTED` with the
closest thing headwater offers, so the error can say what to use instead.
"""

from __future__ import annotations

from headwater import __version__ as _headwater_version

# `prefect.__version__` under the shim: the Prefect release the shim is measured against
# (tests/differential records Prefect 3.9.1), with headwater's own version as the local label.
# Version checks in Prefect code (`Version(prefect.__version__) >= Version("3.1")`, or
# `prefect.__version__.startswith("3.")`) then see the Prefect API the shim serves, so code
# gated on a feature that exists takes the path that works; `.local` tells headwater apart.
PREFECT_VERSION = f"3.9.1+headwater.{_headwater_version}"

_ERRORS = {
    name: f"headwater.errors:{name}"
    for name in (
        "MissingContextError", "ParameterTypeError", "ParameterBindError",
        "ReservedArgumentError", "UpstreamTaskError", "FailedRun", "CrashedRun",
        "CancelledRun", "UnfinishedRun", "PausedRun", "MissingResult", "InvalidNameError",
        "MappingLengthMismatch", "MappingMissingIterable", "SerializationError",
        "TaskRunTimeoutError", "FlowRunTimeoutError", "ConfigurationError",
    )
}

_STATES = {
    name: f"headwater.core.states:{name}"
    for name in (
        "State", "StateType", "StateDetails", "Scheduled", "AwaitingRetry", "Late", "Pending",
        "NotReady", "Running", "Retrying", "Completed", "Cached", "Failed", "TimedOut",
        "Crashed", "Cancelling", "Cancelled", "Paused", "Suspended", "get_state_exception",
    )
}

NAMES: dict[str, dict[str, str]] = {
    "prefect": {
        "flow": "headwater.core.flows:flow",
        "Flow": "headwater.core.flows:Flow",
        "task": "headwater.core.tasks:task",
        "Task": "headwater.core.tasks:Task",
        "unmapped": "headwater.core.annotations:unmapped",
        "allow_failure": "headwater.core.annotations:allow_failure",
        "tags": "headwater.core.context:tags",
        "get_run_logger": "headwater.engine.logs:get_run_logger",
        "State": "headwater.core.states:State",
        "runtime": "headwater.runtime",
        "serve": "headwater.deployments.serving:serve",
        "Transaction": "headwater.core.transactions:Transaction",
    },
    "prefect.settings": {"*": "headwater.compat.settings"},
    "prefect.testing": {},
    "prefect.testing.utilities": {
        "prefect_test_harness": "headwater.compat.extras:prefect_test_harness",
    },
    "prefect.logging.loggers": {
        "get_run_logger": "headwater.engine.logs:get_run_logger",
        "get_logger": "headwater.compat.extras:get_logger",
        "disable_run_logger": "headwater.compat.extras:disable_run_logger",
    },
    "prefect.transactions": {
        **{name: f"headwater.core.transactions:{name}"
           for name in ("CommitMode", "IsolationLevel", "Transaction", "TransactionState",
                        "atransaction", "get_transaction", "transaction")},
        "BaseTransaction": "headwater.core.transactions:Transaction",
    },
    "prefect.deployments": {
        "serve": "headwater.deployments.serving:serve",
        "run_deployment": "headwater.deployments.api:run_deployment",
        "RunnerDeployment": "headwater.deployments.deployment:Deployment",
    },
    "prefect.schedules": {
        name: f"headwater.deployments.schedules:{name}"
        for name in ("Cron", "Interval", "RRule", "Schedule")
    },
    "prefect.flows": {"flow": "headwater.core.flows:flow", "Flow": "headwater.core.flows:Flow"},
    "prefect.tasks": {
        "task": "headwater.core.tasks:task",
        "Task": "headwater.core.tasks:Task",
        "exponential_backoff": "headwater.core.retries:exponential_backoff",
        "task_input_hash": "headwater.tasks:task_input_hash",
    },
    "prefect.cache_policies": {
        name: f"headwater.core.cache_policies:{name}"
        for name in (
            "DEFAULT", "FLOW_PARAMETERS", "INPUTS", "NONE", "NO_CACHE", "RUN_ID",
            "TASK_SOURCE", "CacheKeyFnPolicy", "CachePolicy", "CompoundCachePolicy",
            "FlowParameters", "Inputs", "RunId", "TaskSource", "_None",
        )
    },
    "prefect.assets.core": {
        name: f"headwater.core.assets:{name}" for name in ("Asset", "AssetProperties")
    },
    "prefect.assets.materialize": {
        "materialize": "headwater.core.assets:materialize",
        "MaterializingTask": "headwater.core.assets:MaterializingTask",
    },
    "prefect.assets": {
        name: f"headwater.core.assets:{name}"
        for name in ("Asset", "AssetProperties", "materialize", "add_asset_metadata")
    },
    "prefect.locking": {},
    "prefect.locking.memory": {"MemoryLockManager": "headwater.results.locks:MemoryLockManager"},
    "prefect.locking.filesystem": {
        "FileSystemLockManager": "headwater.results.locks:FileSystemLockManager",
    },
    "prefect.serializers": {
        "PickleSerializer": "headwater.results.serializers:PickleSerializer",
        "JSONSerializer": "headwater.results.serializers:JSONSerializer",
        "Serializer": "headwater.results.serializers:Serializer",
    },
    "prefect.futures": {
        "wait": "headwater.core.futures:wait",
        "as_completed": "headwater.core.futures:as_completed",
        **{name: f"headwater.compat.futures:{name}" for name in (
            "PrefectFuture", "PrefectTaskRunFuture", "PrefectWrappedFuture",
            "PrefectConcurrentFuture", "resolve_futures_to_states", "resolve_futures_to_results",
        )},
        "PrefectFutureList": "headwater.core.futures:TaskRunFutureList",
        "DoneAndNotDoneFutures": "headwater.core.futures:DoneAndNotDoneFutures",
    },
    "prefect.states": {
        **_STATES,
        **{name: f"headwater.core.states:{name}" for name in (
            "is_state_iterable", "exception_to_failed_state", "exception_to_crashed_state",
            "return_value_to_state",
        )},
        "raise_state_exception": "headwater.compat.extras:raise_state_exception",
        "StateGroup": "headwater.compat.extras:StateGroup",
    },
    "prefect.client": {},
    "prefect.client.schemas": {},
    "prefect.client.schemas.objects": {
        "State": "headwater.core.states:State",
        "StateType": "headwater.core.states:StateType",
        "StateDetails": "headwater.core.states:StateDetails",
        "FlowRun": "headwater.core.runs:FlowRun",
        "TaskRun": "headwater.core.runs:TaskRun",
    },
    "prefect.runtime": {
        "flow_run": "headwater.runtime.flow_run",
        "task_run": "headwater.runtime.task_run",
        "deployment": "headwater.compat.runtime_deployment",
    },
    "prefect.runtime.flow_run": {"*": "headwater.runtime.flow_run"},
    "prefect.runtime.deployment": {"*": "headwater.compat.runtime_deployment"},
    "prefect.runtime.task_run": {"*": "headwater.runtime.task_run"},
    "prefect.context": {
        "get_run_context": "headwater.core.context:get_run_context",
        "tags": "headwater.core.context:tags",
        "FlowRunContext": "headwater.core.context:FlowRunContext",
        "TaskRunContext": "headwater.core.context:TaskRunContext",
        "EngineContext": "headwater.core.context:FlowRunContext",
    },
    "prefect.logging": {
        "get_run_logger": "headwater.engine.logs:get_run_logger",
        "get_logger": "headwater.compat.extras:get_logger",
        "disable_run_logger": "headwater.compat.extras:disable_run_logger",
    },
    "prefect.exceptions": {
        "PrefectException": "headwater.errors:HeadwaterError", **_ERRORS,
        **{name: f"headwater.compat.extras:{name}" for name in (
            "ObjectNotFound", "ObjectAlreadyExists", "ScriptError",
            "SignatureMismatchError", "PrefectSignal", "TerminationSignal", "Abort", "Pause",
        )},
    },
    "prefect.utilities": {},
    "prefect.utilities.annotations": {
        "quote": "headwater.core.annotations:quote",
        "unmapped": "headwater.core.annotations:unmapped",
        "allow_failure": "headwater.core.annotations:allow_failure",
        "opaque": "headwater.core.annotations:opaque",
        "freeze": "headwater.core.annotations:freeze",
        "Quote": "headwater.core.annotations:Quote",
        "NotSet": "headwater.core.options:NotSet",
        "BaseAnnotation": "headwater.core.annotations:BaseAnnotation",
    },
    "prefect.utilities.collections": {"quote": "headwater.core.annotations:quote"},
    "prefect.task_runners": {
        "TaskRunner": "headwater.runners.base:TaskRunner",
        "ThreadPoolTaskRunner": "headwater.runners.thread:ThreadPoolTaskRunner",
        "ConcurrentTaskRunner": "headwater.runners.thread:ThreadPoolTaskRunner",
        "ProcessPoolTaskRunner": "headwater.runners.process:ProcessPoolTaskRunner",
    },
    "prefect_dask": {"DaskTaskRunner": "headwater.runners.dask:DaskTaskRunner"},
    "prefect_dask.task_runners": {"DaskTaskRunner": "headwater.runners.dask:DaskTaskRunner"},
    "prefect_ray": {"RayTaskRunner": "headwater.runners.ray:RayTaskRunner"},
    "prefect_ray.task_runners": {"RayTaskRunner": "headwater.runners.ray:RayTaskRunner"},
}

# Prefect features headwater does not have, with what to use instead. They import without
# error and raise UnsupportedPrefectFeature on use (compat/_stubs.py): a module listed in
# STAND_IN_MODULES, and every submodule of it, offers a stand-in for any name; a name listed
# in STAND_IN_NAMES is one stand-in.
_NO_SERVER = ("read run history with `headwater runs ls` or headwater's HTTP API (no Prefect "
              "API server is needed)")
_SERVE = ("serve the flow with flow.serve(...) or `headwater serve file.py:flow` on the "
          "machines that should run it (there are no work pools)")
_SPLIT = "split the flow in two and run the second part later"

STAND_IN_MODULES: dict[str, str] = {
    "prefect.blocks": "read credentials and configuration from environment variables or "
    "your secret manager",
    "prefect.filesystems": "give result_storage a folder path or an fsspec URL",
    "prefect.variables": "read settings from environment variables",
    "prefect.artifacts": "log a summary with get_run_logger().info(...)",
    "prefect.events": "subclass headwater.events.EventSink to receive every run record",
    "prefect.automations": "react to run records with a headwater.events.EventSink",
    "prefect.concurrency": "ThreadPoolTaskRunner(max_workers=N) bounds concurrency",
    "prefect.client.orchestration": _NO_SERVER,
    "prefect.client.cloud": _NO_SERVER,
    "prefect.client.schemas.filters": _NO_SERVER,
    "prefect.client.schemas.actions": _NO_SERVER,
    "prefect.client.schemas.responses": _NO_SERVER,
    "prefect.client.schemas.sorting": _NO_SERVER,
    "prefect.workers": _SERVE,
    "prefect.infrastructure": _SERVE,
    "prefect.docker": _SERVE,
    "prefect.runner": _SERVE,
    "prefect.deployments.runner": _SERVE,
    "prefect.deployments.base": _SERVE,
    "prefect.deployments.steps": _SERVE,
    "prefect.task_worker": "call tasks inside a flow, or serve a flow that calls them",
    "prefect.input": _SPLIT,
    "prefect.flow_runs": _SPLIT,
    "prefect.flow_engine": "call the flow: my_flow(...) (return_state=True for its State)",
    "prefect.task_engine": "call the task: my_task(...) (return_state=True for its State)",
    "prefect.engine": "call the flow: my_flow(...)",
    "prefect.bundles": _SERVE,
    "prefect.plugins": "headwater has no plugin system; configure with HEADWATER_* variables",
    "prefect.telemetry": "headwater sends no telemetry",
    "prefect._internal": "use Prefect's public API; its private modules are not served",
    "prefect_dask.utils": "DaskTaskRunner(...).client inside the flow run",
    "prefect_ray.context": "RayTaskRunner(remote_options={...}) sets Ray options (num_cpus, "
    "num_gpus, resources, ...) for every task run of the flow",
}

STAND_IN_NAMES: dict[str, str] = {
    "prefect.deploy": _SERVE,
    "prefect.aserve": "serve(...) in a process of its own",
    "prefect.get_client": _NO_SERVER,
    "prefect.client.get_client": _NO_SERVER,
    "prefect.pause_flow_run": _SPLIT,
    "prefect.resume_flow_run": _SPLIT,
    "prefect.suspend_flow_run": _SPLIT,
    "prefect.apause_flow_run": _SPLIT,
    "prefect.aresume_flow_run": _SPLIT,
    "prefect.asuspend_flow_run": _SPLIT,
    "prefect.futures.PrefectDistributedFuture": "submit the task in a flow: its future is a "
    "PrefectConcurrentFuture (headwater has no background task workers)",
    "prefect.futures.PrefectFlowRunFuture": "call the flow, or run a deployment with "
    "run_deployment(...)",
    "prefect.task_runners.PrefectTaskRunner": "ThreadPoolTaskRunner, or DaskTaskRunner to "
    "spread work over machines",
    "prefect_dask.get_dask_client": "DaskTaskRunner(...).client inside the flow run",
    "prefect_dask.get_async_dask_client": "DaskTaskRunner(...).client inside the flow run",
}


def stand_in_advice(fullname: str) -> str | None:
    """What to use instead, if `fullname` is a stand-in module or lies under one."""
    parts = fullname.split(".")
    for end in range(len(parts), 0, -1):
        advice = STAND_IN_MODULES.get(".".join(parts[:end]))
        if advice is not None:
            return advice
    return None
