"""Resuming a failed, crashed or cancelled flow run from where it stopped.

    from headwater import resume_flow_run
    resume_flow_run(etl, "0193f2a4")     # or etl.resume("0193f2a4"), or `headwater runs resume`

The flow runs again with its recorded parameters, as a new attempt of the same flow run: same
id, run count + 1, its state history goes on. Each task call is matched to the same call of
the earlier attempts by its identity (`headwater.engine.resume`); a call that completed then
takes its persisted result without running (`Completed`, "Resumed from task run ..."), every
other call runs. Subflows resume the same way. Results are found where the task's cache policy
put them, so they must have been persisted: `@flow(persist_result=True)`, or
`HEADWATER_RESULTS_PERSIST_BY_DEFAULT=true`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from headwater.core import seam

if TYPE_CHECKING:
    from uuid import UUID

    from headwater.core.flows import Flow
    from headwater.engine.resume import ResumePlan
    from headwater.store.base import FlowRunView, RunStore

RESUMABLE = ("FAILED", "CRASHED", "CANCELLED")


def resume_flow_run(
    flow: Flow[..., Any], run_id: UUID | str, *, parameters: dict[str, Any] | None = None,
    return_state: bool = False, store: RunStore | None = None,
) -> Any:
    """Run `flow` again as a new attempt of its flow run `run_id`; returns what calling the
    flow returns (a coroutine for an async flow).

    Args:
        flow: the flow the run belongs to (its name must match the run's flow).
        run_id: the flow run's id, or a unique prefix of it.
        parameters: parameters to use instead of the recorded ones (by name); the others keep
            their recorded values.
        return_state: return the final state, as `flow(..., return_state=True)` does.
        store: the run store to read the earlier attempts from; default the settings' one.

    Raises:
        RunNotFoundError: no flow run has that id.
        ResumeError: the run cannot be resumed (still running, completed, another flow's).
    """
    from headwater.engine.flow_run import adopting_flow_run

    view, plan = load_plan(run_id, store)
    check_resumable(view, flow.name)
    arguments = {**view.parameters, **(parameters or {})}
    if flow.isasync:
        async def resumed() -> Any:
            with adopting_flow_run(view.id, view.name, plan):
                return await flow(**arguments, return_state=return_state)

        return resumed()
    with adopting_flow_run(view.id, view.name, plan):
        return flow(**arguments, return_state=return_state)


def load_plan(run_id: UUID | str, store: RunStore | None = None) -> tuple[FlowRunView, ResumePlan]:
    """The flow run and what its earlier attempts (and its subflows') did, from the store."""
    from headwater import settings

    if store is None:
        if settings.store_kind() == "memory":
            from headwater.errors import ResumeError

            raise ResumeError(
                "Resuming reads the earlier attempt's history from the run store, and "
                "HEADWATER_STORE=memory keeps none between processes. Use a SQLite or "
                "PostgreSQL store (unset HEADWATER_STORE) for runs you may want to resume.",
                run_id=str(run_id),
            )
        from headwater.store import using_store

        with using_store() as opened:
            return _read(opened, run_id)
    return _read(store, run_id)


def _read(store: RunStore, run_id: UUID | str) -> tuple[FlowRunView, ResumePlan]:
    import time

    from headwater import settings

    view = store.read_flow_run(run_id)
    if view.state_type in ("RUNNING", "PENDING", "CANCELLING"):
        # Its process may have died since: marked Crashed the way every writer does on
        # opening, so a run whose machine was lost can be resumed as soon as it counts as dead.
        now = time.time()
        if view.id in store.mark_crashed(
                heartbeat_before=now - settings.crash_after_seconds(), now=now):
            view = store.read_flow_run(view.id)
    return view, _plan(store, view)


def _plan(store: RunStore, view: FlowRunView) -> ResumePlan:
    from headwater.engine.resume import plan_from_views
    from headwater.events._json import encode_json
    from headwater.store.base import FlowRunFilter

    children = store.read_flow_runs(FlowRunFilter(parent_flow_run_id=view.id, limit=None))
    children.reverse()  # oldest first
    return plan_from_views(
        view, store.read_task_runs(view.id),
        [(child, _plan(store, child)) for child in children], encode_json,
    )


def check_resumable(view: FlowRunView, flow_name: str | None = None) -> None:
    """Raise `ResumeError`, saying why and what to do, unless the run can be resumed (by a
    run of the flow `flow_name`, when given)."""
    from headwater.errors import ResumeError

    if view.parent_flow_run_id is not None:
        raise ResumeError(
            f"Flow run {view.id} ({view.name!r}) is a subflow run of {view.parent_flow_run_id}. "
            f"Resume that flow run: its subflows resume with it.", run_id=str(view.id),
        )
    if flow_name is not None and view.flow_name != flow_name:
        raise ResumeError(
            f"Flow run {view.id} ({view.name!r}) is a run of flow {view.flow_name!r}, not of "
            f"{flow_name!r}. Resume it with the flow it belongs to.", run_id=str(view.id),
        )
    if view.state_type == "COMPLETED":
        raise ResumeError(
            f"Flow run {view.id} ({view.name!r}) is {view.state_name}: there is nothing left "
            f"to run. Only Failed, Crashed or Cancelled flow runs can be resumed; to run the "
            f"flow again from the start, call it.", run_id=str(view.id),
        )
    if view.state_type not in RESUMABLE:
        raise ResumeError(
            f"Flow run {view.id} ({view.name!r}) is {view.state_name or 'not started'}: it has "
            f"not finished. If its process is gone, it is marked Crashed once it has been "
            f"silent for HEADWATER_CRASH_AFTER_SECONDS; resume it then, or cancel it first "
            f"(`headwater runs cancel {str(view.id)[:8]}`).", run_id=str(view.id),
        )


def resume_in_background(store: RunStore, run_id: UUID | str) -> tuple[FlowRunView, int]:
    """Start `headwater runs resume` for the run in a process of its own (what the server does:
    user code never runs in the server). Returns the run and the process id.

    Raises:
        RunNotFoundError: no flow run has that id.
        ResumeError: it cannot be resumed, or did not record where its flow's code is.
    """
    import os
    import subprocess
    import sys
    import threading

    from headwater.errors import ResumeError

    view = store.read_flow_run(run_id)
    check_resumable(view)
    if view.entrypoint is None:
        raise ResumeError(
            f"Flow run {view.id} ({view.name!r}) did not record where its flow's code is. "
            f"Resume it from a terminal: `headwater runs resume {str(view.id)[:8]} "
            f"--entrypoint FILE.py:FLOW`.", run_id=str(view.id),
        )
    env = dict(os.environ)
    url = getattr(store, "url", None)
    if url:  # in the environment, never on the command line (`ps` shows that)
        env["HEADWATER_DATABASE_URL"] = str(url)
    process = subprocess.Popen(
        [sys.executable, "-m", "headwater.cli.main", "runs", "resume", str(view.id)],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True,
    )
    # Reaped when it ends (no zombie is left behind by a long-lived server).
    threading.Thread(target=process.wait, name=f"resume-{view.id}", daemon=True).start()
    return view, process.pid


class _Resumer:
    """What `Flow.resume` reaches through `headwater.core.seam`."""

    def resume(self, flow: Flow[..., Any], run_id: UUID | str, parameters: dict[str, Any],
               return_state: bool) -> Any:
        return resume_flow_run(flow, run_id, parameters=parameters, return_state=return_state)


seam.register_resumer(_Resumer())
