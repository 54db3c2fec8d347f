"""Checking a run store, and getting out of a damaged one: what `headwater db check`, `db reset`
and `db upgrade` do.

A SQLite file is checked with SQLite's own `PRAGMA integrity_check` (or `quick_check`) on a
read-only connection, so checking never changes the file, also on a read-only disk. A damaged
file is never repaired in place: `reset_store` moves it aside, with its -wal and -shm files, to
`<name>.corrupt-<UTC time>` (kept for recovery tools such as `sqlite3 .recover`) and starts an
empty store. On PostgreSQL the server keeps its own pages consistent; the check is that it can
be reached and that its tables are those of this version.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from headwater._private import is_shared
from headwater.store import schema
from headwater.store.diagnosis import corrupt_error
from headwater.store.sql import SqlRunStore
from headwater.store.sqlite import SqliteRunStore

_SIDE_FILES = ("-wal", "-shm", "-journal")


@dataclass
class CheckReport:
    """What `check_store` found.

    Attributes:
        url: the store's URL, without its password.
        facts: (what, value) lines: the file, its size, the schema version...
        problems: what is wrong; a store with problems should not be written to.
        warnings: what deserves attention but does not stop anything.
    """

    url: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_store(store: SqlRunStore, *, quick: bool = False) -> CheckReport:
    """Check a run store without changing it.

    Args:
        store: the store to check (it is not opened the usual way: nothing is migrated).
        quick: SQLite's `quick_check` (seconds per GB) instead of `integrity_check` (which also
            checks that indexes match their tables, several times slower).
    """
    report = CheckReport(url=store.display_url)
    if isinstance(store, SqliteRunStore) and store.path is not None:
        _check_sqlite(store.path, quick, report)
    else:
        _check_server(store, report)
    return report


def _check_sqlite(path: Path, quick: bool, report: CheckReport) -> None:
    report.facts.append(("file", str(path)))
    if not path.exists():
        report.facts.append(("state", "no database yet: the first recorded run creates it"))
        return
    report.facts.append(("size", f"{path.stat().st_size / 1e6:.1f} MB"))
    pragma = "quick_check" if quick else "integrity_check"
    try:
        conn = open_read_only(path)
        try:
            found = [row[0] for row in conn.execute(f"PRAGMA {pragma}(20)")]
            if found == ["ok"]:
                report.facts.append((pragma, "ok"))
                _check_revision(_sqlite_revision(conn), report)
            else:
                report.problems += [f"{pragma}: {line}" for line in found]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        report.problems.append(f"SQLite cannot read the file: {exc}")
    if report.problems:
        report.problems.append(
            f"Run `headwater db reset` to move the file aside (to {path}.corrupt-<time>, kept "
            f"for recovery, e.g. with `sqlite3 {path.name} .recover`) and start an empty store.")
    if not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
        report.warnings.append("The file or its folder is read-only here: runs can be read, "
                               "not recorded.")
    for item, fix in ((path, f"chmod 600 {str(path)!r}"), (path.parent,
                                                         f"chmod 700 {str(path.parent)!r}")):
        if is_shared(item):
            report.warnings.append(
                f"{str(item)!r} can be read by other users "
                f"(mode {item.stat().st_mode & 0o777:o}); run history holds parameters and "
                f"results. Make it private with: {fix}")


def open_read_only(path: Path) -> sqlite3.Connection:
    """A connection that cannot change the file (nor create a -shm on a read-only disk)."""
    from urllib.parse import quote

    frozen = not os.access(path.parent, os.W_OK) and not Path(f"{path}-wal").exists()
    uri = f"file:{quote(str(path.resolve()))}?mode=ro" + ("&immutable=1" if frozen else "")
    return sqlite3.connect(uri, uri=True, timeout=30)


def _sqlite_revision(conn: sqlite3.Connection) -> str | None:
    if not conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
    ).fetchone():
        return None
    row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return str(row[0]) if row else None


def _check_revision(revision: str | None, report: CheckReport) -> None:
    report.facts.append(("schema version", f"{revision or 'none'} (this headwater: "
                                           f"{schema.HEAD_REVISION})"))
    if revision is None:
        report.warnings.append("No tables yet: `headwater db upgrade` (or the first run) "
                               "creates them.")
    elif revision < schema.HEAD_REVISION:
        report.warnings.append(f"Schema version {revision} is older than this headwater's "
                               f"{schema.HEAD_REVISION}: the next run (or `headwater db "
                               f"upgrade`) migrates it.")
    elif revision > schema.HEAD_REVISION:
        report.problems.append(f"Schema version {revision} was written by a newer headwater "
                               f"than this one ({schema.HEAD_REVISION}): upgrade headwater.")


def _check_server(store: SqlRunStore, report: CheckReport) -> None:
    from sqlalchemy import create_engine, inspect
    from sqlalchemy.exc import SQLAlchemyError

    from headwater.store.sql import _revision

    engine = create_engine(store.url, connect_args={"connect_timeout": 10})
    try:
        with engine.connect() as conn:
            report.facts.append(("server", conn.exec_driver_sql("SELECT version()").scalar()
                                 or "?"))
            revision = _revision(conn)
            _check_revision(revision, report)
            if revision is not None:
                present = set(inspect(conn).get_table_names())
                missing = sorted(set(schema.metadata.tables) - present)
                if missing:
                    report.problems.append(
                        f"Tables missing: {', '.join(missing)}. Run `headwater db upgrade`; if "
                        f"they stay missing, restore the database from a backup.")
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        report.problems.append(f"Cannot reach the database: {reason}. Check that it is up and "
                               f"that HEADWATER_DATABASE_URL is right.")
    finally:
        engine.dispose()


def is_corrupt(store: SqlRunStore) -> str | None:
    """What is wrong with a SQLite store's file (quick check), or None when it is sound."""
    if not (isinstance(store, SqliteRunStore) and store.path is not None
            and store.path.exists()):
        return None
    report = CheckReport(url=store.display_url)
    _check_sqlite(store.path, True, report)
    return report.problems[0] if report.problems else None


def move_aside(path: Path, now: float | None = None) -> Path:
    """Rename a damaged database (and its -wal, -shm) to `<name>.corrupt-<UTC time>`.

    Returns:
        Where the database file went.
    """
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    for suffix in ("", *_SIDE_FILES):
        source = Path(f"{path}{suffix}")
        if source.exists():
            os.replace(source, Path(f"{target}{suffix}"))
    return target


def upgrade_store(store: SqlRunStore) -> str | None:
    """Create or migrate the store's tables; returns the schema version.

    Raises:
        StoreCorruptError: the file is damaged (say so, with what to run, not a SQL error).
        StoreUnavailableError: the database cannot be reached or written.
    """
    damage = is_corrupt(store)
    if damage is not None:
        raise corrupt_error(store.display_url, str(getattr(store, "path", "")), damage)
    store.upgrade()
    return store.schema_revision()
