"""The writer's SQLite store: stdlib `sqlite3`, set up as the SQL store sets up its engines.

The same file rules as `sqlite.py` (which takes its helpers from here): WAL with a busy
timeout, `synchronous = NORMAL`, write transactions that take the lock up front (`BEGIN
IMMEDIATE`), a file created 0600 in a folder created 0700, and a quick check of a file up to
`QUICK_CHECK_MAX_BYTES` before the first batch, so nothing is written into a damaged file.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from typing import Any

from headwater._private import make_private_dir, make_private_file, tighten
from headwater.errors import StoreCorruptError, StoreUnavailableError
from headwater.store.batch import Batch
from headwater.store.diagnosis import corrupt_error
from headwater.store.lean import LeanStore
from headwater.store.sql_batch import SqlDialect

# A writer checks a file this big or smaller before writing to it (about 0.1 s, measured at
# 0.26 s for 160 MB with a warm cache): bigger files are checked by `headwater db check`.
QUICK_CHECK_MAX_BYTES = 64 * 1024 * 1024


def lean_sqlite_store(url: str, *, busy_timeout: float = 60.0) -> LeanSqliteStore | None:
    """A `LeanSqliteStore` for a plain `sqlite:///path` URL of a file this process may write;
    None for the rest (an in-memory database, URL options, a read-only file), which the SQL
    store handles."""
    rest = url[len("sqlite:///"):] if url.startswith("sqlite:///") else ""
    if not rest or rest == ":memory:" or any(sign in rest for sign in "?%#"):
        return None
    # Plain `os.path`: the writer process opens its store without loading `pathlib`.
    path = rest
    if os.path.exists(path) and not (os.access(path, os.W_OK)
                                     and os.access(_parent(path), os.W_OK)):
        return None  # read-only here: the SQL store opens it read-only, and says why
    return LeanSqliteStore(url, path, busy_timeout=busy_timeout)


def _parent(path: str) -> str:
    """The folder of the file `path` (as `Path.parent`: `.` for a bare file name)."""
    return os.path.dirname(path.rstrip(os.sep)) or os.curdir


class LeanSqliteStore(LeanStore):
    """Writes batches to a SQLite run store with `sqlite3` (see `lean.py`).

    Args:
        url: `sqlite:///path/to/file.db`.
        path: the file.
        busy_timeout: seconds a writer waits for another process's write lock.
    """

    dialect = SqlDialect()

    def __init__(self, url: str, path: str | os.PathLike[str], *,
                 busy_timeout: float = 60.0) -> None:
        super().__init__(url)
        self.path: str = os.fspath(path)
        self.folder = _parent(self.path)
        self.busy_timeout = busy_timeout
        self._checked = False
        self._corrupt: StoreCorruptError | None = None

    def _driver_errors(self) -> tuple[type[BaseException], ...]:
        return (sqlite3.Error,)

    def _connect(self) -> Any:
        try:
            make_private_dir(self.folder)
        except OSError as exc:
            raise StoreUnavailableError(
                f"Could not create the folder {self.folder!r} for the run store: "
                f"{exc}. Point HEADWATER_HOME at a writable folder.",
                url=self.display_url,
            ) from exc
        make_private(self.path)
        bind_none_directly()
        # We issue BEGIN ourselves; sqlite3's implicit transactions would defer the lock.
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None,
                               check_same_thread=False)
        try:
            cursor = conn.cursor()
            cursor.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            switch_to_wal(cursor, self.busy_timeout)
            # NORMAL in WAL mode: a committed batch survives the process being killed; only a
            # power cut can lose the last commits.
            cursor.execute("PRAGMA synchronous = NORMAL")
            # A multi-row INSERT keeps a statement journal (the pages it changes, to undo it
            # alone); kept in memory, not in a temporary file: 1.9 -> 0.8 page writes per
            # task run, 5-13% less of the writer's time. Statements here are small batches.
            cursor.execute("PRAGMA temp_store = MEMORY")
            cursor.close()
        except BaseException:
            conn.close()
            raise
        return conn

    def _begin(self, conn: Any) -> None:
        conn.execute("BEGIN IMMEDIATE")

    def write_batch(self, batch: Batch) -> None:
        """Before its first batch, a writer makes sure the file is not damaged (`PRAGMA
        quick_check`): SQLite would otherwise write into a malformed file for as long as no
        statement touches a damaged page."""
        if not self._checked:
            self._check_before_writing()
        super().write_batch(batch)

    def _check_before_writing(self) -> None:
        if self._corrupt is not None:
            raise self._corrupt
        with contextlib.suppress(OSError):
            if os.stat(self.path).st_size > QUICK_CHECK_MAX_BYTES:
                self._checked = True  # too big to check on every start: errors still tell
                return

        def check(cursor: Any) -> list[str]:
            cursor.execute("PRAGMA quick_check(5)")
            return [str(row[0]) for row in cursor.fetchall()]

        found = self._run(check, "check", write=False)
        if found != ["ok"]:
            self._corrupt = corrupt_error(self.display_url, self.path, "; ".join(found))
            raise self._corrupt
        self._checked = True


# The adapter for None: `{}.get(None)` is None, found without a Python frame (a C method): it
# runs for every None bound, several per task run.
_NOTHING: dict[None, None] = {}
_null = _NOTHING.get


def bind_none_directly() -> None:
    """Register an adapter for None, unless one is registered already.

    `sqlite3` binds int, float, str and bytes as they are, but sends every other value, None
    included, through its adapter protocol first: a look-up that fails with an exception it
    then clears. Rows carry several None values each (a state's message and data, most of the
    time), and that look-up was a tenth of the writer's work per task run. With an adapter
    for None found at once, None still binds as NULL, as it always did; the adapter changes
    nothing for any other code in this process (None means NULL to `sqlite3` either way).
    """
    key = (type(None), sqlite3.PrepareProtocol)
    if key not in sqlite3.adapters:
        sqlite3.register_adapter(type(None), _null)


def make_private(path: str | os.PathLike[str]) -> None:
    """The database file is created 0600 before SQLite opens it (SQLite gives its -wal and
    -shm files the database file's mode); one left 0644 by an older version is tightened."""
    with contextlib.suppress(OSError):  # a read-only folder: reading still works
        make_private_file(path)
    for suffix in ("-wal", "-shm", "-journal"):
        tighten(os.fspath(path) + suffix)


def switch_to_wal(cursor: Any, timeout: float) -> None:
    """`PRAGMA journal_mode = WAL`, retried: SQLite does not call the busy handler for it, so
    processes that open a new file at the same moment would see "database is locked"."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)
