"""How the model reaches the engine: a registration seam, filled when `headwater` is imported.

`core/` is the model (flows, tasks, states, futures, contexts) and never imports `engine/`.
Calling a `Flow` or a `Task` still has to run something: `headwater/__init__.py` imports
`headwater.engine`, which registers an `Engine` here. Tests and tools can register another one.
`flow.serve(...)` and `flow.to_deployment(...)` reach `headwater.deployments` the same way,
through a `Deployer` it registers when `headwater` is imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Sequence

    from headwater.core.flows import Flow
    from headwater.core.futures import TaskRunFuture, TaskRunFutureList
    from headwater.core.tasks import Task


class Engine(Protocol):
    """What calling a flow or a task needs from the engine."""

    def call_flow(
        self, flow: Flow[..., Any], parameters: dict[str, Any], wait_for: Any,
        return_state: bool,
    ) -> Any:
        """Run a flow (a coroutine for async flows) and return what its caller gets."""
        ...

    def call_task(
        self, task: Task[..., Any], parameters: dict[str, Any], wait_for: Any,
        return_state: bool,
    ) -> Any:
        """Run a task now, in this thread (a coroutine for async tasks)."""
        ...

    def submit_task(
        self, task: Task[..., Any], parameters: dict[str, Any], wait_for: Any
    ) -> TaskRunFuture[Any]:
        """Hand one run to the current flow run's task runner; return its future."""
        ...

    def map_task(
        self, task: Task[..., Any], calls: Sequence[dict[str, Any]], wait_for: Any
    ) -> TaskRunFutureList:
        """Hand one run per parameter dict to the current flow run's task runner."""
        ...


class _NotLoaded:
    """What `current` is until `headwater/__init__.py` registers the engine."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(
            "headwater's engine is not loaded. Import headwater (e.g. `from headwater import "
            "flow, task`) rather than a submodule of headwater.core on its own."
        )


# The registered engine. Read as `seam.current.call_task(...)`: one attribute lookup on the hot
# path of every task call, no function call in between.
current: Engine = _NotLoaded()


def register_engine(engine: Engine) -> Engine:
    """Make `engine` the one that flow and task calls go to; returns the previous one."""
    global current
    previous, current = current, engine
    return previous


def engine() -> Engine:
    """The registered engine."""
    return current


class Deployer(Protocol):
    """What `Flow.to_deployment` and `Flow.serve` need from `headwater.deployments`."""

    def to_deployment(self, flow: Flow[..., Any], name: str, options: dict[str, Any]) -> Any:
        """A deployment of `flow` (options as `Flow.to_deployment` takes them)."""
        ...

    def serve(self, flow: Flow[..., Any], name: str | None, options: dict[str, Any]) -> None:
        """Serve one deployment of `flow` until the process is stopped."""
        ...


_deployer: Deployer | None = None


def register_deployer(deployer: Deployer) -> Deployer | None:
    """Make `deployer` the one `Flow.serve` and `Flow.to_deployment` use; returns the previous."""
    global _deployer
    previous, _deployer = _deployer, deployer
    return previous


def deployer() -> Deployer:
    """The registered deployer.

    Raises:
        RuntimeError: none is registered (only possible if `headwater/__init__.py` was skipped).
    """
    found = _deployer
    if found is None:
        raise RuntimeError(
            "headwater's deployments are not loaded. Import headwater (e.g. `from headwater "
            "import flow`) rather than a submodule of headwater.core on its own."
        )
    return found


class Resumer(Protocol):
    """What `Flow.resume` needs from `headwater.resuming`."""

    def resume(self, flow: Flow[..., Any], run_id: Any, parameters: dict[str, Any],
               return_state: bool) -> Any:
        """Run `flow` again as a new attempt of its failed, crashed or cancelled run."""
        ...


_resumer: Resumer | None = None


def register_resumer(resumer: Resumer) -> Resumer | None:
    """Make `resumer` the one `Flow.resume` uses; returns the previous one."""
    global _resumer
    previous, _resumer = _resumer, resumer
    return previous


def resumer() -> Resumer:
    """The registered resumer.

    Raises:
        RuntimeError: none is registered (only possible if `headwater/__init__.py` was skipped).
    """
    found = _resumer
    if found is None:
        raise RuntimeError(
            "headwater's resuming is not loaded. Import headwater (e.g. `from headwater "
            "import flow`) rather than a submodule of headwater.core on its own."
        )
    return found
