"""`headwater db ...`: migrate, check, empty and prune the run store; recover spilled records."""

from __future__ import annotations

from pathlib import Path
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

    This also happens automatically the first time a run is recorded. A damaged SQLite file is
    not touched: the error says to run `headwater db check`, then `headwater db reset`.
    """
    from headwater.store import sql_store
    from headwater.store.maintenance import upgrade_store

    store = sql_store()
    try:
        revision = upgrade_store(store)
    finally:
        store.close()
    render.console().print(f"Run store at {store.display_url} is at schema version {revision}.")


@db.command()
@click.option("--quick", is_flag=True,
              help="SQLite: a quick check (pages and records) instead of the full integrity "
                   "check (which also compares every index with its table; slower).")
def check(quick: bool) -> None:
    """Check the run store without changing it; exit with status 1 if it has problems.

    SQLite: SQLite's integrity check of the file, the schema version, whether the file is
    read-only here or readable by other users. PostgreSQL: that the database can be reached,
    the schema version and the tables.
    """
    from headwater.store import sql_store
    from headwater.store.maintenance import check_store

    store = sql_store()
    try:
        report = check_store(store, quick=quick)
    finally:
        store.close()
    out = render.console()
    out.print(f"Run store: {report.url}", highlight=False, soft_wrap=True)
    for what, value in report.facts:
        out.print(f"  {what}: {value}", highlight=False, soft_wrap=True)
    for warning in report.warnings:
        out.print(f"Warning: {warning}", highlight=False, soft_wrap=True)
    for problem in report.problems:
        out.print(f"Problem: {problem}", highlight=False, soft_wrap=True)
    if not report.ok:
        raise SystemExit(1)
    out.print("No problems found.")


@db.command()
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def reset(yes: bool) -> None:
    """Delete every recorded run, state, log and event (the tables stay).

    A damaged SQLite file is moved aside instead, to headwater.db.corrupt-<time> beside it
    (with its -wal and -shm files, kept for recovery), and an empty run store takes its place.
    """
    from headwater.store import sql_store
    from headwater.store.maintenance import is_corrupt, move_aside

    store = sql_store()
    out = render.console()
    try:
        damage = is_corrupt(store)
        path = getattr(store, "path", None)
        if damage is not None and path is not None:
            if not yes:
                click.confirm(f"The run store {str(path)!r} is damaged ({damage}). Move it "
                              f"aside and start an empty one?", abort=True)
            store.close()
            moved = move_aside(path)
            out.print(f"Moved the damaged run store to {str(moved)!r} (kept for recovery).",
                      highlight=False, soft_wrap=True)
            store.upgrade()
            out.print(f"Started an empty run store at {str(path)!r}.", highlight=False,
                      soft_wrap=True)
            return
        if not yes:
            click.confirm(f"Delete all run history in {store.display_url}?", abort=True)
        store.reset()
    finally:
        store.close()
    out.print(f"Deleted all run history in {store.display_url}.")


@db.command()
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def recover(files: tuple[Path, ...]) -> None:
    """Write the records saved in spill FILES into the run store, then delete the files.

    When the run store could not be written (a misspelt HEADWATER_DATABASE_URL, say), the
    records of the runs are saved at exit in spill files in HEADWATER_HOME/spill, and the
    warning names the file. Fix the URL, then run this to write them into the store it names.
    Records the store holds already are left out, so recovering a file twice does no harm.
    Without FILES, lists the spill files waiting.
    """
    from headwater.events.recover import NotASpillFile, recover, spill_files
    from headwater.store import FlowRunFilter, sql_store

    out = render.console()
    if not files:
        waiting = spill_files()
        if not waiting:
            out.print("No spill files are waiting.")
            return
        out.print("Spill files waiting (pass one to write its records into the run store):")
        for path in waiting:
            out.print(f"  {str(path)!r}  {path.stat().st_size:,} bytes", highlight=False,
                      soft_wrap=True)
        return
    store = sql_store()
    try:
        for path in files:
            try:
                done = recover(path, store)
            except NotASpillFile as exc:
                raise click.ClickException(str(exc)) from None
            ids = tuple(map(str, done.flow_runs))
            states = {run.id: run.state_name for run in store.read_flow_runs(
                FlowRunFilter(ids=ids, limit=None))} if ids else {}
            out.print(f"Wrote {done.records:,} records of {len(done.flow_runs)} flow run(s) from "
                      f"{str(path)!r} into {store.display_url}:", highlight=False,
                      soft_wrap=True)
            for run_id, name in done.flow_runs.items():
                out.print(f"  {run_id}  {name or '(created elsewhere)'}  "
                          f"{states.get(run_id, 'not in the store')}", highlight=False,
                          soft_wrap=True)
            path.unlink()
            out.print(f"Deleted {str(path)!r}.", highlight=False, soft_wrap=True)
    finally:
        store.close()


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
