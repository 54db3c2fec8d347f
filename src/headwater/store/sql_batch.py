"""Writing a batch with the database driver alone (stdlib `sqlite3`, or `psycopg`): no SQLAlchemy.

What a writer does per transaction: insert new runs (a run already there is newer, and kept),
apply run updates (the first Running state's start time wins), insert the appended rows
(states, logs, dependencies, events, asset rows), heartbeat running flow runs. A replayed
batch leaves out what the store already holds (`replay.py`): rows that name themselves (runs,
states) with ON CONFLICT DO NOTHING, an update whose state is stored already by a guard, the
other rows by a look at what is stored. The statements are made from the table descriptions of
`tables.py` and the keys of the rows `store/` builds, table by table as the batch names them.

Also here, for the same reason (the writer needs them on every start): marking Crashed the
runs of dead processes, and reading the cancel requests of the runs being recorded.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from itertools import chain
from operator import itemgetter
from typing import Any

from headwater.store.batch import APPEND_TABLES, FINAL_STATE_TYPES, NEW_RUN_TABLES, Batch, Row
from headwater.store.replay import left_out
from headwater.store.tables import FLOW_RUNS, RUN_TABLES, STATES, TABLES, TableDescription

CHUNK = 500  # ids per IN (...) list: well under SQLite's and PostgreSQL's parameter limits
MAX_VALUES = 999  # values bound by one INSERT: SQLite's smallest limit (older versions)


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def quote(name: str) -> str:
    """An identifier, quoted the standard way (SQLite and PostgreSQL alike)."""
    return f'"{name}"'


class SqlDialect:
    """What differs between databases when a batch is written through their driver.

    Attributes:
        mark: the driver's placeholder. numbered: whether it also takes "?NNN". lock_rows:
        what makes a SELECT lock the rows it reads, skipping those another transaction holds
        ("" where writers are serialized anyway).
        find: the SQL function giving the position of a text in another (0 if absent).
    """

    mark = "?"
    lock_rows = ""
    find = "instr"
    numbered = True  # "?NNN" placeholders: a value bound once may stand in many places

    def __init__(self) -> None:
        self._sql: dict[Any, str] = {}

    def insert_rows(self, cursor: Any, table: TableDescription, rows: list[Row], *,
                    ignore_existing: bool = False, replay: bool = False) -> None:
        """INSERT rows given as dicts; every row of one list has the same keys, in order (the
        batch builder makes them that way). See `insert_values` for the arguments."""
        keys = tuple(rows[0])
        getter = itemgetter(*keys)
        values = (list(map(getter, rows)) if len(keys) == 1
                  else list(chain.from_iterable(map(getter, rows))))
        self.insert_values(cursor, table, keys, values, ignore_existing=ignore_existing,
                           replay=replay)

    def insert_values(self, cursor: Any, table: TableDescription, keys: tuple[str, ...],
                      values: list[Any], *, ignore_existing: bool = False,
                      replay: bool = False) -> None:
        """INSERT rows given as one flat sequence of values: the values of `keys`, in that
        order, of one row after another; with the driver's executemany.

        Args:
            ignore_existing: rows whose primary key is taken are left out (ON CONFLICT DO
                NOTHING); a dialect may skip the clause unless `replay` is set.
            replay: the rows may have been inserted already (see `store/replay.py`).
        """
        # Many rows per statement: each execution then opens the table and its indexes once
        # for them all (a third less of the database's work per row than one row at a time,
        # measured with sqlite3), within the 999 values every SQLite accepts. Each
        # statement's values are one slice of the flat values.
        width = len(keys)
        rows = len(values) // width
        per = max(1, MAX_VALUES // width) if width > 1 else 1
        whole = rows - rows % per if rows >= per and per > 1 else 0
        step = per * width
        numbered = self.numbered
        for start in range(0, whole * width, step):
            chunk = values[start:start + step]
            each: tuple[str, ...] = keys  # the columns bound row by row
            shared: tuple[str, ...] = ()  # the columns bound once for every row
            once: list[Any] = []
            # Binding is the dearest part of an insert for sqlite3 (a text is copied, a None
            # goes through its adapter look-up), and many columns hold one value in every
            # row of a statement (a task run's flow, task and final state; a state's kind):
            # a text column that does is bound once, by number, and a column None throughout
            # is left out (NULL all the same: no column has a default). Right to left, so each
            # deletion leaves the columns still to look at in place.
            for column in range(width - 1, -1, -1):
                first = chunk[column]
                if first is None or (numbered and first.__class__ is str):
                    now = len(each)
                    # The second and last rows first: most columns differ there already.
                    if (chunk[column + now] == first and chunk[column - now] == first
                            and chunk[column::now].count(first) == per):
                        del chunk[column::now]
                        each = each[:column] + each[column + 1:]
                        if first is not None:
                            shared = (keys[column], *shared)
                            once.insert(0, first)
            if once:
                chunk += once
                sql = self.cached(("shared", table.name, each, shared, ignore_existing, per),
                                  self._shared_sql, table, each, shared, ignore_existing, per)
            else:
                sql = self._insert_sql(table, each, ignore_existing, per)
            cursor.execute(sql, chunk)
        if whole < rows:
            sql = self._insert_sql(table, keys, ignore_existing, 1)
            cursor.executemany(sql, (values[start:start + width]
                                     for start in range(whole * width, len(values), width)))

    def _insert_sql(self, table: TableDescription, keys: tuple[str, ...],
                    ignore_existing: bool, rows: int) -> str:
        cache_key = ("insert", table.name, keys, ignore_existing, rows)
        sql = self._sql.get(cache_key)
        if sql is None:
            sql = self._sql[cache_key] = table.insert_sql(
                keys, mark=self.mark, quote=quote, ignore_existing=ignore_existing, rows=rows)
        return sql

    def _shared_sql(self, table: TableDescription, each: tuple[str, ...],
                    shared: tuple[str, ...], ignore_existing: bool, rows: int) -> str:
        """An INSERT of `rows` rows with numbered parameters: the values of `each` row by row,
        then those of `shared`, bound once, in every row."""
        table.insert_sql((*each, *shared), mark=self.mark)  # its check of the columns
        width = len(each)
        tail = [f"?{rows * width + 1 + i}" for i in range(len(shared))]
        groups = ", ".join(
            f"({', '.join([*(f'?{row * width + 1 + i}' for i in range(width)), *tail])})"
            for row in range(rows))
        return (
            f"INSERT INTO {quote(table.name)} ({', '.join(map(quote, (*each, *shared)))}) "
            f"VALUES {groups}" + (" ON CONFLICT DO NOTHING" if ignore_existing else ""))

    def after_write(self, cursor: Any, batch: Batch) -> None:
        """Called inside the batch's transaction, after its rows are written."""

    def cached(self, key: Any, make: Callable[..., str], *args: Any) -> str:
        """The statement `make(*args)` made once for `key`, then kept."""
        sql = self._sql.get(key)
        if sql is None:
            sql = self._sql[key] = make(*args)
        return sql


def write_batch(cursor: Any, dialect: SqlDialect, batch: Batch) -> None:
    """Write `batch` with `cursor`, inside the caller's transaction."""
    replay = batch.replay
    for name in NEW_RUN_TABLES:
        # A run already there (a replay) is newer than this row: kept as it is.
        _insert(cursor, dialect, batch, name, ignore_existing=True)
    if batch.run_updates:
        apply_updates(cursor, dialect, batch.run_updates, replay=replay)
    # After the updates: a replayed update is told by its stored state.
    for name in APPEND_TABLES:
        table = TABLES[name]
        named = table.replay_key is None  # rows with a key of their own (states)
        if replay and not named:
            rows = getattr(batch, name)
            if rows:
                rows = unseen_rows(cursor, dialect, table, rows)
            if rows:
                dialect.insert_rows(cursor, table, rows, ignore_existing=False, replay=True)
        else:
            _insert(cursor, dialect, batch, name, ignore_existing=named)
    for ids in chunks(batch.heartbeats):
        marks = ", ".join(dialect.mark for _ in ids)
        cursor.execute(f"UPDATE {quote(FLOW_RUNS.name)} SET heartbeat = {dialect.mark} "
                       f"WHERE id IN ({marks})", (batch.now, *ids))
    dialect.after_write(cursor, batch)


def _insert(cursor: Any, dialect: SqlDialect, batch: Batch, name: str, *,
            ignore_existing: bool) -> None:
    """Insert the rows of table `name`, in the form the batch holds them."""
    columns, rows = batch.table(name)
    if not rows:
        return
    if columns is None:
        dialect.insert_rows(cursor, TABLES[name], rows, ignore_existing=ignore_existing,
                            replay=batch.replay)
    else:
        dialect.insert_values(cursor, TABLES[name], columns, rows,
                              ignore_existing=ignore_existing, replay=batch.replay)


def apply_updates(cursor: Any, dialect: SqlDialect, updates: list[Row], *,
                  replay: bool = False) -> None:
    """Apply run updates (`Batch.run_updates`), one executemany per shape of update; in a
    replay, an update that applies a state already stored is skipped."""
    groups: dict[tuple[str, tuple[str, ...]], list[Row]] = {}
    for row in updates:
        keys = tuple(sorted(k for k in row if k not in ("id", "kind")))
        groups.setdefault((row["kind"], keys), []).append(row)
    for (kind, keys), rows in groups.items():
        guarded = replay and "state_type" in keys
        table = RUN_TABLES[kind]
        sql = dialect.cached(("update", kind, keys, guarded), _update_sql, dialect, table, keys,
                             guarded)
        names = (*keys, "id", *_GUARD) if guarded else (*keys, "id")
        getter = itemgetter(*names)
        cursor.executemany(sql, [getter(row) for row in rows])


# The run update's values a replay guard compares with the states stored (`states.latest_key`).
_GUARD = ("id", "state_timestamp", "state_type", "run_count")


def _update_sql(dialect: SqlDialect, table: TableDescription, keys: tuple[str, ...],
                guarded: bool) -> str:
    mark = dialect.mark
    values = []
    for key in keys:
        if key not in table.columns or key == "id":
            raise ValueError(f"A run update sets {key!r}, which is not a column of "
                             f"{table.name!r} that an update may set.")
        column = quote(key)
        if key == "start_time":  # the first Running state wins
            values.append(f"{column} = coalesce({column}, {mark})")
        else:
            values.append(f"{column} = {mark}")
    sql = f"UPDATE {quote(table.name)} SET {', '.join(values)} WHERE id = {mark}"
    if guarded:  # a replay: only runs whose new state is not stored yet
        same = " AND ".join(f"{quote(c)} = {mark}" for c in ("run_id", "timestamp", "type",
                                                             "run_count"))
        sql += f" AND NOT EXISTS (SELECT 1 FROM {quote(STATES.name)} WHERE {same})"
    return sql


def append_states(cursor: Any, dialect: SqlDialect, rows: list[Row]) -> None:
    """Insert state rows of transitions the store makes itself (Crashed), each with the next
    free `seq` of its key: new even if an earlier state agrees on everything else."""
    if not rows:
        return
    columns = [c for c in STATES.columns if c != "seq"]
    same = [c for c in STATES.key if c != "seq"]
    sql = dialect.cached(("append", "states"), lambda: (
        f"INSERT INTO {quote(STATES.name)} ({', '.join(map(quote, [*columns, 'seq']))}) "
        f"SELECT {', '.join(STATES.cast(c, dialect.mark) for c in columns)}, "
        f"coalesce(max(seq) + 1, 0) FROM {quote(STATES.name)} WHERE "
        + " AND ".join(f"{quote(c)} = {STATES.cast(c, dialect.mark)}" for c in same)))
    getter = itemgetter(*columns, *same)
    cursor.executemany(sql, [getter(row) for row in rows])


def unseen_rows(cursor: Any, dialect: SqlDialect, table: TableDescription,
                rows: list[Row]) -> list[Row]:
    """The rows of a replayed batch that `table` does not hold yet, in their order."""
    columns = [key for key in rows[0] if key != "id"]
    selected = ", ".join(quote(column) for column in columns)
    counts: Counter[Any] = Counter()
    mark = dialect.mark
    if table.replay_key == "timestamp":
        stamps = [row["timestamp"] for row in rows]
        cursor.execute(f"SELECT {selected} FROM {quote(table.name)} "
                       f"WHERE timestamp BETWEEN {mark} AND {mark}", (min(stamps), max(stamps)))
        counts.update(tuple(found) for found in cursor.fetchall())
    else:  # by the values of the key (dependencies: the task runs they belong to)
        key = table.replay_key or "id"
        for ids in chunks(sorted({row[key] for row in rows})):
            cursor.execute(f"SELECT {selected} FROM {quote(table.name)} WHERE {quote(key)} "
                           f"IN ({', '.join(mark for _ in ids)})", tuple(ids))
            counts.update(tuple(found) for found in cursor.fetchall())
    return left_out(rows, columns, counts)


def crashed_runs(cursor: Any, dialect: SqlDialect, heartbeat_before: float, *,
                 lock: bool = True) -> list[tuple[Row, str]]:
    """The unfinished runs of flow runs silent since before `heartbeat_before`, flow runs first
    (locked, where the database can and `lock` asks, so two processes never mark the same
    run); without `lock`, only whether there is one: the first such flow run, if any."""
    mark = dialect.mark
    final = ", ".join(f"'{kind}'" for kind in FINAL_STATE_TYPES)
    # A deployment run still waiting for its time has no process to heartbeat it.
    cursor.execute(
        f"SELECT id, run_count FROM flow_runs "
        f"WHERE (state_type IS NULL OR state_type NOT IN ({final})) "
        f"AND NOT (coalesce(state_type, '') = 'SCHEDULED' AND start_time IS NULL) "
        f"AND coalesce(heartbeat, created) < {mark}"
        + (dialect.lock_rows if lock else " LIMIT 1"), (heartbeat_before,))
    flows = [{"id": run_id, "run_count": count} for run_id, count in cursor.fetchall()]
    runs: list[tuple[Row, str]] = [(row, "flow") for row in flows]
    if not lock:
        return runs
    for ids in chunks([row["id"] for row in flows]):
        cursor.execute(
            f"SELECT id, run_count FROM task_runs "
            f"WHERE flow_run_id IN ({', '.join(mark for _ in ids)}) "
            f"AND (state_type IS NULL OR state_type NOT IN ({final}))", tuple(ids))
        runs.extend(({"id": run_id, "run_count": count}, "task")
                    for run_id, count in cursor.fetchall())
    return runs


def cancel_requests(cursor: Any, dialect: SqlDialect, flow_run_ids: Sequence[str]) -> list[str]:
    """Which of these flow runs were asked to stop (`run_control`)."""
    found: list[str] = []
    for ids in chunks(list(flow_run_ids)):
        cursor.execute(
            f"SELECT flow_run_id FROM run_control WHERE action = 'cancel' "
            f"AND flow_run_id IN ({', '.join(dialect.mark for _ in ids)})", tuple(ids))
        found.extend(row[0] for row in cursor.fetchall())
    return found
