"""`headwater db ...`: migrate, empty and prune the run store."""

from __future__ import annotations

import click

from headwater.cli import render


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
              help="Delete runs created longer ago than this: 30d, 12h, 90m, 45s or 2w.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--dry-run", is_flag=True, help="Only say how many flow runs would be deleted.")
def prune(older_than: str, yes: bool, dry_run: bool) -> None:
    """Delete old flow runs with their task runs, states, logs, dependencies and events."""
    import time

    from headwater.store import FlowRunFilter, using_store
    from headwater.store.history import parse_duration, prune_older_than

    before = time.time() - parse_duration(older_than)
    with using_store() as store:
        doomed = sum(store.count_flow_runs(FlowRunFilter(created_before=before)).values())
        if dry_run or not doomed:
            render.console().print(
                f"{doomed} flow run(s) were created more than {older_than} ago"
                + (" and would be deleted (dry run: nothing was deleted)." if doomed else "."))
            return
        if not yes:
            click.confirm(f"Delete {doomed} flow run(s) created more than {older_than} ago, "
                          f"with their task runs, logs and events?", abort=True)
        result = prune_older_than(store, older_than, now=before + parse_duration(older_than))
    render.console().print(
        f"Deleted {result.flow_runs} flow run(s) and {result.task_runs} task run(s) "
        f"created more than {older_than} ago."
    )
