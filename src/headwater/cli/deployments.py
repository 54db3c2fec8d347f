"""`headwater deployments ...`: list, inspect, pause, resume, delete and run deployments."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import click

from headwater.cli import render

# A serve process says it is alive every few seconds (ServeOptions.heartbeat_seconds).
SERVED_RECENTLY = 60.0


@click.group()
def deployments() -> None:
    """List, inspect, pause, resume, delete and run deployments (flows served on schedules).

    A deployment exists once `flow.serve(...)`, `serve(...)` or `headwater serve` registered it;
    its runs happen while a serve process serves it. NAME is FLOW/DEPLOYMENT (as `ls` shows),
    the deployment's id, or its bare name when no other deployment has it.
    """


def _summary_json(summary: Any) -> dict[str, Any]:
    view = summary.deployment
    return {
        **asdict(view), "id": str(view.id), "full_name": view.full_name,
        "schedule": summary.schedule,
        "next_runs": [{**asdict(r), "flow_run_id": str(r.flow_run_id),
                       "deployment_id": str(r.deployment_id)} for r in summary.next_runs],
        "recent_runs": [{"id": str(r.id), "name": r.name, "state": r.state_name,
                         "start_time": r.start_time} for r in summary.recent_runs],
    }


@deployments.command("ls")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def ls(as_json: bool) -> None:
    """List deployments: schedule, paused or not, next run, and the last serve process seen."""
    from rich import box
    from rich.table import Table

    from headwater.deployments.api import list_deployments

    found = list_deployments()
    if as_json:
        render.print_json([_summary_json(s) for s in found])
        return
    if not found:
        render.console().print("No deployments yet. Serve a flow: `my_flow.serve(name=...)` or "
                               "`headwater serve file.py:flow --cron '0 * * * *'`.")
        return
    table = Table(title="Deployments", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("Name", "Schedule", "Status", "Next run", "Last served"):
        table.add_column(column, overflow="fold")
    for summary in found:
        view = summary.deployment
        upcoming = summary.next_runs[0].scheduled_time if summary.next_runs else None
        table.add_row(view.full_name, summary.schedule, "paused" if view.paused else "active",
                      render.when(upcoming, short=True), render.when(view.last_served,
                                                                       short=True))
    render.console().print(table)


@deployments.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def inspect(name: str, as_json: bool) -> None:
    """Show one deployment: entrypoint, schedules, parameters, next and recent runs."""
    from rich import box
    from rich.table import Table

    from headwater.deployments.api import read_deployment

    summary = read_deployment(name)
    if as_json:
        render.print_json(_summary_json(summary))
        return
    view = summary.deployment
    out = render.console()
    out.print(f"[bold]Deployment {view.full_name}[/bold]  {view.id}")
    out.print(f"Status: {'paused' if view.paused else 'active'}   Schedule: {summary.schedule}")
    out.print(f"Entrypoint: {view.entrypoint}")
    out.print(f"Parameters: {view.parameters}   Tags: {list(view.tags)}")
    if view.resume_crashed:
        out.print(f"Crashed runs: resumed from where they stopped, at most "
                  f"{view.resume_crashed} time{'s' if view.resume_crashed > 1 else ''}")
    if view.description:
        out.print(f"Description: {view.description}")
    out.print(f"Last served: {render.when(view.last_served)} by {view.served_by or '-'}")
    upcoming = Table(title="Next runs", title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("Flow run", "Name", "Scheduled for"):
        upcoming.add_column(column)
    for run in summary.next_runs:
        upcoming.add_row(str(run.flow_run_id)[:18], run.name, render.when(run.scheduled_time))
    out.print(upcoming)
    out.print(render.runs_table(summary.recent_runs, title="Recent runs"))


@deployments.command()
@click.argument("name")
def pause(name: str) -> None:
    """Pause a deployment's schedules: no more scheduled runs (runs asked for still run)."""
    from headwater.deployments.api import pause_deployment

    view = pause_deployment(name)
    click.echo(f"Paused deployment {view.full_name!r}: its waiting scheduled runs were deleted. "
               f"Resume it with: headwater deployments resume {view.full_name!r}")


@deployments.command()
@click.argument("name")
def resume(name: str) -> None:
    """Resume a paused deployment: scheduled runs start again from now (no catch-up)."""
    from headwater.deployments.api import resume_deployment

    view = resume_deployment(name)
    click.echo(f"Resumed deployment {view.full_name!r}.")


@deployments.command()
@click.argument("name")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def delete(name: str, yes: bool) -> None:
    """Delete a deployment. The history of its runs stays; serve processes stop serving it."""
    from headwater.deployments.api import delete_deployment, read_deployment

    view = read_deployment(name).deployment
    if not yes:
        click.confirm(f"Delete deployment {view.full_name!r}?", abort=True)
    delete_deployment(view.id)
    click.echo(f"Deleted deployment {view.full_name!r}.")


@deployments.command()
@click.argument("name")
@click.option("--param", "-p", "params", multiple=True, metavar="KEY=VALUE",
              help="A parameter over the deployment's own; repeat for more. VALUE is parsed as "
                   "JSON where it parses, else taken as text.")
@click.option("--watch", is_flag=True, help="Wait until the run ends and say how it ended.")
@click.option("--timeout", default=None, type=click.FloatRange(min=0),
              help="With --watch: longest to wait, in seconds (default: until it ends).")
@click.option("--json", "as_json", is_flag=True, help="Print the run as JSON.")
def run(name: str, params: tuple[str, ...], watch: bool, timeout: float | None,
        as_json: bool) -> None:
    """Run a deployment now: a serve process serving it picks the run up.

    Exits with status 1 if --watch saw the run end other than Completed.
    """
    import sys
    import time

    from headwater.cli.logic import parse_params
    from headwater.deployments.api import read_deployment, run_deployment
    from headwater.store.history import run_summary

    view = read_deployment(name).deployment
    if view.last_served is None or time.time() - view.last_served > SERVED_RECENTLY:
        seen = "has never been served" if view.last_served is None else (
            f"was last served at {render.when(view.last_served)}")
        click.echo(f"Note: {view.full_name!r} {seen}; the run waits until a serve process "
                   f"serves it (e.g. headwater serve {view.entrypoint}).", err=True)
    flow_run = run_deployment(view.id, parse_params(params), timeout=timeout if watch else 0)
    if as_json:
        render.print_json(run_summary(flow_run))
    elif watch:
        click.echo(f"Flow run {flow_run.name!r} ({flow_run.id}) is {flow_run.state_name}.")
    else:
        click.echo(f"Created flow run {flow_run.name!r} ({flow_run.id}), state "
                   f"{flow_run.state_name}; a serve process serving it picks it up. Follow it "
                   f"with: headwater runs logs {str(flow_run.id)[:18]} --follow")
    if watch and flow_run.state_type != "COMPLETED":
        sys.exit(1)
