"""`headwater runs ...`: list flow runs, inspect one, read its logs."""

from __future__ import annotations

import click

from headwater.cli import render


@click.group()
def runs() -> None:
    """List, inspect and read the logs of recorded flow runs."""


@runs.command("ls")
@click.option("--flow", "flow_name", help="Only runs of this flow (its name).")
@click.option("--state", help="Only runs in this state, e.g. failed, completed, Crashed.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1),
              help="Show at most this many runs, newest first.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def ls(flow_name: str | None, state: str | None, limit: int, as_json: bool) -> None:
    """List flow runs, newest first. Runs whose process died are marked Crashed first."""
    from headwater.store import using_store
    from headwater.store.history import list_runs

    with using_store() as store:
        runs = list_runs(store, flow=flow_name, state=state, limit=limit)
    render.print_runs(runs, as_json)


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
        for line in run_logs(store, run_id, follow=follow):
            render.print_log(line, as_json)
