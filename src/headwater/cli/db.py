"""`headwater db ...`: migrate, empty and prune the run store."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from headwater.cli import render

if TYPE_CHECKING:
    from headwater.store import PruneResult, RunStore


@click.group()
def db() -> None:
    """Manage the run store (HEADWATER_DATABASE_URL, default HEADWATER_HOME/headwater.db)."""


@db.command()
def upgrade() -> None:
    """Create the run store's tables, or migrate them to this version of headwater.

    This also happens automatically the first time a run is recorded.
    """
    from headwater.store import sql_store

    store = sql_store()
    try:
        store.upgrade()
        revision = store.schema_revision()
    finally:
        store.close()
    render.console().print(f"Run store at {store.display_url} is at schema version {revision}.")


@db.command()
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def reset(yes: bool) -> None:
    """Delete every recorded run, state, log and event (the tables stay)."""
    from headwater.store import sql_store

    store = sql_store()
    if not yes:
        click.confirm(f"Delete all run history in {store.display_url}?", abort=True)
    try:
        store.reset()
    finally:
        store.close()
    render.console().print(f"Deleted all run history in {store.display_url}.")


@db.command()
@click.option("--older-than", required=True, metavar="DURATION",
              help="Delete finished runs created longer ago than this: 30d, 12h, 90m, 45s, 2w.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--dry-run", is_flag=True,
              help="Only show what would be deleted (counts and the first runs); delete nothing.")
def prune(older_than: str, yes: bool, dry_run: bool) -> None:
    """Delete finished flow runs created more than DURATION ago, with their task runs,
    states, logs, dependencies and events.

    Only runs in a final state (Completed, Failed, Cancelled, Crashed) go; a run still running
    or waiting, its subflows and its parents stay. Task runs whose flow run is already gone go
    too. Deletes in short transactions, so flows running meanwhile keep recording.
    """
    import time

    from headwater.store import using_store
    from headwater.store.history import prune_older_than

    now = time.time()
    with using_store() as store:
        plan = prune_older_than(store, older_than, now=now, dry_run=True)
        if dry_run or not (plan.flow_runs or plan.task_runs or plan.orphan_task_runs):
            _print_plan(store, plan, older_than, dry_run)
            return
        if not yes:
            click.confirm(f"Delete {_what(plan)} (finished, created more than {older_than} ago) "
                          f"from {store.display_url}?", abort=True)
        result = prune_older_than(store, older_than, now=now)
    kept = (f" Kept {result.kept_flow_runs} older finished flow run(s) that belong to a run "
            f"still running." if result.kept_flow_runs else "")
    render.console().print(f"Deleted {_what(result)}.{kept}")


def _what(result: PruneResult) -> str:
    orphans = (f" and {result.orphan_task_runs} task run(s) whose flow run was already gone"
               if result.orphan_task_runs else "")
    rows = (f" (and {result.orphan_rows} log, event or asset row(s) of runs already gone)"
            if result.orphan_rows else "")
    return f"{result.flow_runs} flow run(s) with {result.task_runs} task run(s){orphans}{rows}"


def _print_plan(store: RunStore, plan: PruneResult, older_than: str, dry_run: bool) -> None:
    from headwater.store import FlowRunFilter

    out = render.console()
    if not (plan.flow_runs or plan.task_runs or plan.orphan_task_runs):
        out.print(f"Nothing to delete: no finished flow run was created more than {older_than} "
                  f"ago in {store.display_url}.")
        return
    out.print(f"Would delete {_what(plan)}, finished and created more than {older_than} ago "
              f"(dry run: nothing was deleted).", soft_wrap=True)
    shown = store.read_flow_runs(FlowRunFilter(ids=tuple(str(i) for i in plan.flow_run_ids[:10]),
                                               limit=10))
    for run in shown:
        out.print(f"  {str(run.id)[:8]}  {run.flow_name}/{run.name}  {run.state_name}  "
                  f"created {render.when(run.created)}", highlight=False, soft_wrap=True)
    if plan.flow_runs > len(shown):
        out.print(f"  ... and {plan.flow_runs - len(shown)} more.")
    if plan.kept_flow_runs:
        out.print(f"Kept: {plan.kept_flow_runs} older finished flow run(s) that belong to a run "
                  f"still running.")
    if dry_run:
        out.print(f"Run `headwater db prune --older-than {older_than}` to delete them.")
