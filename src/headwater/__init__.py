"""headwater: Prefect 3's API, run in-process, every run recorded.

    from headwater import flow, task

Names are imported on first use (a lazy table, as in Prefect's own `__init__`), so
`import headwater` stays cheap: no pydantic, no SQLAlchemy, no Dask until a feature needs them.
The one thing importing it does is register the engine (and `flow.serve`'s deployments) with the
model (`headwater.core.seam`): that is how calling a `Flow` or a `Task` reaches it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

import headwater.deployments as _deployments  # noqa: F401  (registers flow.serve; cheap)
import headwater.engine as _engine  # noqa: F401  (registers the engine; see the docstring)
import headwater.resuming as _resuming  # noqa: F401  (registers flow.resume; cheap)

__version__ = "0.1.0"

# public name -> module that defines it
_PUBLIC_API: dict[str, str] = {
    "flow": "headwater.core.flows",
    "Flow": "headwater.core.flows",
    "task": "headwater.core.tasks",
    "Task": "headwater.core.tasks",
    "State": "headwater.core.states",
    "StateType": "headwater.core.states",
    "tags": "headwater.core.context",
    "unmapped": "headwater.core.annotations",
    "allow_failure": "headwater.core.annotations",
    "get_run_context": "headwater.core.context",
    "get_run_logger": "headwater.engine.logs",
    "HeadwaterError": "headwater.errors",
    "cancel_flow_run": "headwater.cancellation",
    "resume_flow_run": "headwater.resuming",
}

__all__ = sorted([*_PUBLIC_API, "__version__"])

if TYPE_CHECKING:
    from headwater.cancellation import cancel_flow_run as cancel_flow_run
    from headwater.core.annotations import allow_failure as allow_failure
    from headwater.core.annotations import unmapped as unmapped
    from headwater.core.context import get_run_context as get_run_context
    from headwater.core.context import tags as tags
    from headwater.core.flows import Flow as Flow
    from headwater.core.flows import flow as flow
    from headwater.core.states import State as State
    from headwater.core.states import StateType as StateType
    from headwater.core.tasks import Task as Task
    from headwater.core.tasks import task as task
    from headwater.engine.logs import get_run_logger as get_run_logger
    from headwater.errors import HeadwaterError as HeadwaterError
    from headwater.resuming import resume_flow_run as resume_flow_run


def __getattr__(name: str) -> Any:
    module = _PUBLIC_API.get(name)
    if module is None:
        try:  # submodules such as headwater.runtime
            return importlib.import_module(f"headwater.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"headwater.{name}":
                raise
        raise AttributeError(f"module 'headwater' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return __all__
