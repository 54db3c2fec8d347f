"""The process a serve loop starts for one run, and the serve loop's handle on it.

The serve loop writes the run's facts as JSON to the child's stdin (the store's URL goes in the
environment, never on the command line: `ps` shows command lines). The child imports the flow,
opens its store writer, waits for the run's scheduled time, and runs the flow under the claimed
flow run's id (`engine.flow_run.adopting_flow_run`): the run that `headwater runs ls` showed
Scheduled and Pending is the one that runs.

    python -m headwater.deployments.child   < {"flow_run_id": ..., "entrypoint": ..., ...}

Each child is the leader of a process group of its own (a new session): Ctrl-C in the serve
process's terminal does not reach it, and killing it kills whatever it started.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

if TYPE_CHECKING:
    from headwater.store.deployments import DeploymentRunView, DeploymentView

GROUP_DRAIN_SECONDS = 5.0  # after a child exits, how long its leftovers may take to finish
START_MARGIN = 0.05  # a child this close to its start time counts as started


@dataclass
class Child:
    """A run's process, as the serve loop sees it.

    Attributes:
        run: the claimed run.
        process: the child process.
        start_at: when (wall clock) the child starts the flow.
        cancel_seen: when (monotonic) the loop first saw a cancel request for the run.
        outcome: set when the loop killed the child: (final state name, message).
    """

    run: DeploymentRunView
    process: subprocess.Popen[bytes]
    start_at: float
    cancel_seen: float | None = None
    outcome: tuple[str, str | None] | None = None
    exited_at: float | None = None

    def waiting_to_start(self) -> bool:
        """Whether the child is still before the run's time (no user code has run)."""
        return self.process.poll() is None and time.time() < self.start_at - START_MARGIN

    def kill(self, state: str, message: str | None) -> None:
        """Kill the child and what it started; its run is to end in `state`."""
        if self.outcome is None:
            self.outcome = (state, message)
        _kill_group(self.process)

    def done(self) -> bool:
        """Whether the child has exited and its process group is gone (or given up on)."""
        if self.process.poll() is None:
            return False
        if self.exited_at is None:
            self.exited_at = time.monotonic()
        if _group_alive(self.process.pid) and time.monotonic() - self.exited_at < \
                GROUP_DRAIN_SECONDS:
            return False  # e.g. its store writer process, still committing its last records
        _kill_group(self.process)
        return True


def start_child(
    run: DeploymentRunView, deployment: DeploymentView, *, store_url: str, start_at: float,
    extra_env: dict[str, str] | None = None,
) -> Child:
    """Start the process for one claimed run."""
    env = dict(os.environ)
    env.pop("HEADWATER_STORE", None)  # the run records where the serve loop claimed it
    env["HEADWATER_DATABASE_URL"] = store_url
    # One process per run: its records are written by a thread of its own, so killing it
    # leaves no writer behind that could commit after the serve loop ended the run.
    env.setdefault("HEADWATER_STORE_WRITER", "thread")
    env.update(extra_env or {})
    spec = {
        "flow_run_id": str(run.flow_run_id), "name": run.name,
        "entrypoint": deployment.entrypoint, "parameters": run.parameters,
        "start_at": start_at, "prefect_shim": _prefect_shim_installed(),
        "resume": run.resumes > 0,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "headwater.deployments.child"], stdin=subprocess.PIPE,
        cwd=deployment.working_dir or None, env=env, start_new_session=os.name == "posix",
    )
    assert process.stdin is not None
    try:
        process.stdin.write(json.dumps(spec).encode())
        process.stdin.close()
    except OSError:  # it died at once; the loop finds it exited and ends the run Crashed
        pass
    return Child(run, process, start_at)


def _prefect_shim_installed() -> bool:
    """Whether this process serves `import prefect` with headwater (`python -m headwater.compat
    script.py`): its runs' processes must too, to import the same file."""
    finder = sys.modules.get("headwater.compat._finder")
    return finder is not None and any(
        isinstance(f, finder.PrefectShimFinder) for f in sys.meta_path)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        if os.name == "posix":
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
    except (ProcessLookupError, PermissionError, OSError):
        pass
    if process.poll() is None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)


def _group_alive(pgid: int) -> bool:
    if os.name != "posix":
        return False
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError, OSError):
        return False
    return True


# -- the child's side ---------------------------------------------------------------------------
def main() -> int:
    """Run one deployment run; its facts come as JSON on stdin."""
    spec: dict[str, Any] = json.loads(sys.stdin.read())
    run_id = UUID(spec["flow_run_id"])
    import headwater.deployments as deployments

    deployments.mark_served_run()  # a top-level `my_flow.serve(...)` in the file returns
    if spec.get("prefect_shim"):
        from headwater.compat import install

        install()
    from headwater.deployments.entrypoints import load_flow

    try:
        flow = load_flow(spec["entrypoint"])
    except BaseException as exc:
        return _fail(run_id, f"Could not load the flow {spec['entrypoint']!r}: "
                             f"{type(exc).__name__}: {exc}")
    from headwater.engine.flow_run import adopting_flow_run
    from headwater.engine.runtime import process_runtime

    process_runtime().sink  # noqa: B018 (opens the store writer now, before the run's time)
    delay = float(spec["start_at"]) - time.time()
    if delay > 0:
        time.sleep(delay)
    resume = None
    if _settings_persist_served_runs():
        os.environ.setdefault("HEADWATER_RESULTS_PERSIST_BY_DEFAULT", "true")
    from headwater.store import using_store

    if spec.get("resume"):  # a crashed run, made due again: it goes on where it stopped
        from headwater.resuming import load_plan

        with using_store() as store:
            resume = load_plan(run_id, store)[1]
    with adopting_flow_run(run_id, spec["name"], resume):
        try:
            state = flow(**spec["parameters"], return_state=True)
        except Exception as exc:  # the arguments did not fit: no run was started
            return _fail(run_id, f"The deployment's parameters do not fit flow {flow.name!r}: "
                                 f"{type(exc).__name__}: {exc}")
        if hasattr(state, "__await__"):  # an async flow
            import asyncio

            state = asyncio.run(state)
    return 0


def _settings_persist_served_runs() -> bool:
    from headwater import settings

    return settings.get_bool("HEADWATER_SERVE_PERSIST_RESULTS", True)


def _fail(run_id: UUID, message: str) -> int:
    """End the run Failed from here: nothing ran, so the engine recorded nothing."""
    from headwater.store import using_store

    print(message, file=sys.stderr)
    with using_store() as store:
        store.end_flow_run(run_id, state_type="FAILED", state_name="Failed", message=message,
                           now=time.time())
    return 1


if __name__ == "__main__":
    sys.exit(main())
