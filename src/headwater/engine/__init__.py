"""The engine: runs flows and tasks, records what happens, and hands task runs to runners.

Public, for runners and tools:

- `TaskRunRequest`, `TaskRunOutcome`, `FlowRunFacts`, `AttemptSettings`, `execute`,
  `execute_async`, `execute_bytes`: the execution seam (`headwater.engine.execution`).
- `Runtime`, `current_runtime`, `use_runtime`, `RunControl`: the sink, clock and run control
  that runs use (`headwater.engine.runtime`, `headwater.engine.control`).

Importing this package registers the engine with `headwater.core.seam`, which is how calling a
`Flow` or a `Task` reaches it; `import headwater` does that. Registering loads nothing else: the
engine's modules are imported on the first call, so `from headwater import flow, task` stays
cheap.
"""

from __future__ import annotations

import contextlib
import importlib
from typing import TYPE_CHECKING, Any

from headwater.core.seam import register_engine

if TYPE_CHECKING:
    from collections.abc import Sequence

    from headwater.core.flows import Flow
    from headwater.core.futures import TaskRunFuture, TaskRunFutureList
    from headwater.core.seam import Engine
    from headwater.core.tasks import Task
    from headwater.engine.control import RunControl as RunControl
    from headwater.engine.execution import AttemptSettings as AttemptSettings
    from headwater.engine.execution import FlowRunFacts as FlowRunFacts
    from headwater.engine.execution import TaskRunOutcome as TaskRunOutcome
    from headwater.engine.execution import TaskRunRequest as TaskRunRequest
    from headwater.engine.execution import execute as execute
    from headwater.engine.execution import execute_async as execute_async
    from headwater.engine.execution import execute_bytes as execute_bytes
    from headwater.engine.runtime import Runtime as Runtime
    from headwater.engine.runtime import current_runtime as current_runtime
    from headwater.engine.runtime import use_runtime as use_runtime

_PUBLIC_API = {
    "AttemptSettings": "headwater.engine.execution",
    "FlowRunFacts": "headwater.engine.execution",
    "TaskRunOutcome": "headwater.engine.execution",
    "TaskRunRequest": "headwater.engine.execution",
    "execute": "headwater.engine.execution",
    "execute_async": "headwater.engine.execution",
    "execute_bytes": "headwater.engine.execution",
    "RunControl": "headwater.engine.control",
    "Runtime": "headwater.engine.runtime",
    "current_runtime": "headwater.engine.runtime",
    "use_runtime": "headwater.engine.runtime",
}
__all__ = sorted(_PUBLIC_API)


def __getattr__(name: str) -> Any:
    module = _PUBLIC_API.get(name)
    if module is None:
        raise AttributeError(f"module 'headwater.engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def _open_sink_first() -> None:
    """Open the sink the first run will record to, before the engine's modules load.

    With the default store, opening it starts the writer process, whose interpreter and
    imports then run on another CPU while this process imports the engine (about as many
    instructions again), instead of after it: a short script's run waits that much less for
    its records to be stored. A sink that cannot be opened is left for the run to open, which
    reports why as it always did.
    """
    from headwater.engine.runtime import current_runtime

    with contextlib.suppress(Exception):
        current_runtime().sink  # noqa: B018  (opens it)


class _LoadedOnFirstCall:
    """Stands in for the engine until the first flow or task call imports it; importing
    `headwater.engine.calls` registers the real one, so later calls go straight there."""

    def _loaded(self) -> Engine:
        from headwater.engine.calls import ENGINE

        register_engine(ENGINE)
        return ENGINE

    def call_flow(
        self, flow: Flow[..., Any], parameters: dict[str, Any], wait_for: Any,
        return_state: bool,
    ) -> Any:
        _open_sink_first()
        return self._loaded().call_flow(flow, parameters, wait_for, return_state)

    def call_task(
        self, task: Task[..., Any], parameters: dict[str, Any], wait_for: Any,
        return_state: bool,
    ) -> Any:
        _open_sink_first()
        return self._loaded().call_task(task, parameters, wait_for, return_state)

    def submit_task(
        self, task: Task[..., Any], parameters: dict[str, Any], wait_for: Any
    ) -> TaskRunFuture[Any]:
        return self._loaded().submit_task(task, parameters, wait_for)

    def map_task(
        self, task: Task[..., Any], calls: Sequence[dict[str, Any]], wait_for: Any
    ) -> TaskRunFutureList:
        return self._loaded().map_task(task, calls, wait_for)


register_engine(_LoadedOnFirstCall())
