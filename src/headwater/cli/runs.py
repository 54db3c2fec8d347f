"""`headwater runs ...`: list flow runs, inspect one, read its logs, cancel or resume one."""

from __future__ import annotations

import sys

import click

from headwater.cli import render

# What --state takes: a state type, or the name of a state (Retrying, Cached, ...).
STATES = ("scheduled", "pending", "running", "paused", "cancelling", "completed", "failed",
          "cancelled", "crashed", "retrying", "cached", "awaitingretry", "late", "timedout")


@click.group()
def runs() -> None:
    """List, inspect, read the logs of and cancel recorded flow runs."""


@runs.command("ls")
@click.option("--flow", "flow_name", help="Only runs of this flow (its name).")
@click.option("--state", type=click.Choice(STATES, case_sensitive=False),
              help="Only runs in this state.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1),
              help="Show at most this many runs, newest first.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def ls(flow_name: str | None, state: str | None, limit: int, as_json: bool) -> None:
    """List flow runs, newest first, subflows under their parent. Runs whose process died
    are marked Crashed first. With --flow or --state, every matching run is a row."""
    from headwater.store import using_store
    from headwater.store.history import list_runs, subflows_of

    filtered = flow_name is not None or state is not None
    with using_store() as store:
        runs = list_runs(store, flow=flow_name, state=state, limit=limit,
                         roots_only=not filtered)
        children = {} if filtered or as_json else subflows_of(store, runs)
    render.print_runs(runs, as_json, filtered=filtered, subflows=children)


@runs.command()
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def inspect(run_id: str, as_json: bool) -> None:
    """Show one flow run: parameters, state history, task runs with durations, subflows.

    RUN_ID is the run's id, or a unique prefix of it (see `headwater runs ls`).
    """
    from headwater.store import using_store
    from headwater.store.history import inspect_run

    with using_store() as store:
        details = inspect_run(store, run_id)
    render.print_details(details, as_json)


@runs.command()
@click.argument("run_id")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines until the run ends.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def logs(run_id: str, follow: bool, as_json: bool) -> None:
    """Print the log lines of a flow run and its task runs.

    RUN_ID is the run's id, or a unique prefix of it.
    """
    from headwater.store import using_store
    from headwater.store.history import run_logs

    with using_store() as store:
        names: dict[object, str] = {}
        for line in run_logs(store, run_id, follow=follow):
            if line.task_run_id is not None and line.task_run_id not in names:
                names.update((t.id, t.name) for t in store.read_task_runs_by_id(
                    [line.task_run_id]))
            name = names.get(line.task_run_id) if line.task_run_id else None
            render.print_log(line, as_json, name)


@runs.command()
@click.argument("run_id")
@click.option("--wait/--no-wait", default=True, show_default=True,
              help="Wait until the run has ended, and say how it ended.")
@click.option("--timeout", default=30.0, show_default=True, type=click.FloatRange(min=0),
              help="Longest to wait, in seconds.")
def cancel(run_id: str, wait: bool, timeout: float) -> None:
    """Ask a running flow run to stop, from any process that shares its run store.

    Task runs that have not started end Cancelled; a task run already running finishes its
    current call (a timeout still stops it); the flow run ends Cancelled, after its
    on_cancellation hooks. RUN_ID is the run's id, or a unique prefix of it.
    """
    import time

    from headwater.cancellation import cancel_flow_run, wait_until_final
    from headwater.store import using_store

    with using_store() as store:
        view = cancel_flow_run(run_id, store=store, requested_by="cli")
        assert view is not None
        click.echo(f"Asked flow run {view.name!r} ({view.id}) to stop; it was "
                   f"{view.state_name or 'starting'}.")
        if not wait:
            return
        started = time.monotonic()
        final = wait_until_final(view.id, timeout=timeout, store=store)
    took = time.monotonic() - started
    if final.state_name == "Cancelled":
        click.echo(f"Flow run {final.name!r} is Cancelled ({took:.2f} s after the request).")
    elif final.state_type in ("COMPLETED", "FAILED", "CRASHED"):
        click.echo(f"Flow run {final.name!r} ended {final.state_name} before it could stop.")
    else:
        raise click.ClickException(
            f"Flow run {final.name!r} is still {final.state_name} after {timeout:g} s. Its "
            "process may be inside a task call that cannot be interrupted (it stops after it), "
            "or gone: a run whose process died is marked Crashed once it has been silent for "
            "HEADWATER_CRASH_AFTER_SECONDS. Check with `headwater runs inspect "
            f"{str(final.id)[:8]}`."
        )


@runs.command()
@click.argument("run_id")
@click.option("--param", "-p", "params", multiple=True, metavar="KEY=VALUE",
              help="Use this value instead of the recorded one; repeat for more.")
@click.option("--entrypoint", "target", metavar="FILE.py:FLOW",
              help="Where the flow's code is, if not where the run recorded it.")
def resume(run_id: str, params: tuple[str, ...], target: str | None) -> None:
    """Run a Failed, Crashed or Cancelled flow run again from where it stopped.

    The flow runs with its recorded parameters as a new attempt of the same flow run. Task
    calls that completed before, and whose results were persisted, return those results
    without running; everything else runs. RUN_ID is the run's id, or a unique prefix of it.
    Exits with status 0 when the run completes, 1 otherwise.
    """
    import inspect as inspection
    import time

    from headwater.cli.logic import load_flow, parse_params
    from headwater.resuming import resume_flow_run
    from headwater.store import using_store

    values = parse_params(params)
    with using_store() as store:
        view = store.read_flow_run(run_id)
        target = target or view.entrypoint
        if target is None:
            raise click.ClickException(
                f"Flow run {view.id} ({view.name!r}) did not record where its flow's code is "
                "(it was defined inside a function, or not in a .py file). Say where: "
                f"`headwater runs resume {str(view.id)[:8]} --entrypoint FILE.py:FLOW`."
            )
        flow = load_flow(target)
        started = time.time()
        state = resume_flow_run(flow, view.id, parameters=values, return_state=True,
                                store=store)
        if inspection.iscoroutine(state):  # an async flow
            import asyncio

            state = asyncio.run(state)
        after = store.read_flow_run(view.id)
        tasks = store.read_task_runs(view.id)
    this = [t for t in tasks if t.created >= started]  # this attempt's task runs
    resumed = sum(1 for t in this if (t.state_message or "").startswith("Resumed from"))
    ran = sum(1 for t in this if t.run_count)
    took = ("1 task run took its earlier result" if resumed == 1
            else f"{resumed} task runs took their earlier results")
    render.console().print(
        f"Flow run {view.id} (attempt {after.run_count}) finished in state {state.name}: "
        f"{took}, {ran} ran. "
        f"See it with: headwater runs inspect {str(view.id)[:8]}"
    )
    if not state.is_completed():
        sys.exit(1)
