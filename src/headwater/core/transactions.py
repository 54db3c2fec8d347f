"""Transactions: group task runs so their side effects commit, or roll back, together.

    with transaction():
        write_rows()      # a task with @write_rows.on_rollback(delete_rows)
        publish()         # if this raises, delete_rows runs, then the error propagates

A transaction is a context manager. When its block ends normally it commits: first its
children (nested transactions, and the task runs that completed inside it), then its
`on_commit` hooks, then, if it has a `key` and a result store, it writes its staged value
there. When the block raises, it rolls back: its `on_rollback` hooks in reverse order, then its
children, and the exception propagates; a nested transaction that rolls back rolls its parent
back too. A nested transaction stays open until its parent decides. `commit_mode` says when a
transaction commits: `LAZY` (default) with its parent, or at the end of the block if it has
none; `EAGER` at the end of its block; `OFF` never (a top-level one rolls back). Hooks take the
transaction: `hook(txn)`.

A `key` makes a transaction idempotent: if the store already holds a record under it (and
`overwrite` is False), the transaction starts out COMMITTED and `txn.read().result` is the value
committed before, so the block can skip work done by an earlier run.

Every task run opens a transaction of its own around its function (`get_transaction()` inside
the task is that one; its key is the task's cache key). It stages the task's result with the
task's `on_commit`/`on_rollback` hooks: inside `with transaction():` it commits or rolls back
with the block, outside it commits as soon as the task completes. A task that raises rolls its
own transaction back, and with it the enclosing one.
"""

from __future__ import annotations

import contextvars
import copy
import enum
import inspect
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from headwater.core.context import flow_run_var, task_run_var
from headwater.core.options import hook_name
from headwater.errors import ConfigurationError

_log = logging.getLogger("headwater.transactions")
_NOT_SET: Any = object()


class _NoTask:
    result_storage = result_serializer = None


_NO_TASK = _NoTask()


class CommitMode(enum.Enum):
    EAGER = "EAGER"
    LAZY = "LAZY"
    OFF = "OFF"


class IsolationLevel(enum.Enum):
    READ_COMMITTED = "READ_COMMITTED"
    SERIALIZABLE = "SERIALIZABLE"


class TransactionState(enum.Enum):
    PENDING = "PENDING"
    ACTIVE = "ACTIVE"
    STAGED = "STAGED"
    COMMITTED = "COMMITTED"
    ROLLED_BACK = "ROLLED_BACK"


_FINAL = (TransactionState.COMMITTED, TransactionState.ROLLED_BACK)

_current: contextvars.ContextVar[Transaction | None] = contextvars.ContextVar(
    "headwater_transaction", default=None
)


def transaction_open() -> bool:
    """Whether a `with transaction():` block (or a task run's transaction) is open here."""
    return _current.get() is not None


def get_transaction() -> Transaction | None:
    """The innermost open transaction, or None.

    Inside a task run that is the run's own transaction, made on first use for runs that did
    not need one until then.
    """
    txn = _current.get()
    if txn is not None:
        return txn
    ctx = task_run_var.get()
    if ctx is None:
        return None
    txn = ctx.transaction
    if txn is None:  # a plain run: its transaction is made when first asked for
        txn = ctx.transaction = task_transaction(ctx)
        txn.state = TransactionState.ACTIVE
        txn.commit_mode, txn.isolation_level = CommitMode.LAZY, IsolationLevel.READ_COMMITTED
        txn._open = True
    return txn if txn._open else None


def settle_plain(txn: Transaction, raised: bool) -> None:
    """Decide the transaction a plain task run made on first use, once its function is done:
    it has no parent, no hooks and writes nothing, so only transactions nested in it care."""
    txn._open = False
    txn.write_on_commit = False
    txn.settle(raised)


class CommittedRecord:
    """What `txn.read()` returns: the value committed under the transaction's key.

    Attributes:
        key: the transaction's key.
        result: the value.
    """

    __slots__ = ("key", "result")

    def __init__(self, key: str, result: Any) -> None:
        self.key = key
        self.result = result

    def __repr__(self) -> str:
        return f"CommittedRecord(key={self.key!r}, result={self.result!r})"


class Transaction:
    """A unit of work whose hooks and children commit or roll back together.

    Args:
        key: identifies the work; with a store, a record under it means "already done".
        store: the result store to keep the committed value in; `transaction()` gives the
            current run's result store when a key is given without one.
        commit_mode: when it commits (see the module docs); None inherits the parent's, LAZY
            at the top.
        isolation_level: None inherits the parent's, READ_COMMITTED at the top. SERIALIZABLE
            needs a store with a lock manager.
        overwrite: write the key even if a record is already there.
        write_on_commit: write the staged value to the store when committing.
        logger: where hook runs and failures are logged.
    """

    def __init__(
        self, key: str | None = None, store: Any = None,
        commit_mode: CommitMode | None = None, isolation_level: IsolationLevel | None = None,
        overwrite: bool = False, write_on_commit: bool = True, logger: Any = None,
    ) -> None:
        self._key = key
        self._store = store
        # Task runs compute their key and store only if someone reads them (see task runs).
        self._key_fn: Callable[[], str | None] | None = None
        self._store_fn: Callable[[], Any] | None = None
        self._write: Callable[[Any], None] | None = None  # a task run's own result writer
        self.commit_mode = commit_mode
        self.isolation_level = isolation_level
        self.overwrite = overwrite
        self.write_on_commit = write_on_commit
        self.logger = logger or _log
        self.state = TransactionState.PENDING
        self.children: list[Transaction] = []
        self.on_commit_hooks: list[Callable[[Transaction], Any]] = []
        self.on_rollback_hooks: list[Callable[[Transaction], Any]] = []
        self._staged_value: Any = None
        self._values: dict[str, Any] = {}
        self._parent: Transaction | None = None
        self._token: contextvars.Token[Transaction | None] | None = None
        self._open = False
        self._looked_up = False  # True when the caller already knows the key has no record

    # -- key and store, computed on first read for task runs ---------------------------------
    @property
    def key(self) -> str | None:
        if self._key_fn is not None:
            self._key, self._key_fn = self._key_fn(), None
        return self._key

    @key.setter
    def key(self, value: str | None) -> None:
        self._key, self._key_fn = value, None

    @property
    def store(self) -> Any:
        if self._store_fn is not None:
            self._store, self._store_fn = self._store_fn(), None
        return self._store

    @store.setter
    def store(self, value: Any) -> None:
        self._store, self._store_fn = value, None

    # -- entering and leaving --------------------------------------------------------------------
    def __enter__(self) -> Transaction:
        self.begin()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.close()
        self.settle(raised=exc_type is not None)

    def begin(self) -> None:
        """Make this the innermost open transaction; it starts COMMITTED if its key already
        has a record (and `overwrite` is False).

        Raises:
            RuntimeError: it is already open.
            ConfigurationError: SERIALIZABLE, with a key, and a store that cannot lock.
        """
        if self._open:
            raise RuntimeError(f"Transaction {self.key!r} is already open; use a new one.")
        self._parent = parent = get_transaction()
        if self.commit_mode is None:
            self.commit_mode = parent.commit_mode if parent else CommitMode.LAZY
        if self.isolation_level is None:
            self.isolation_level = (parent.isolation_level if parent
                                    else IsolationLevel.READ_COMMITTED)
        if (self.isolation_level is IsolationLevel.SERIALIZABLE and self.key and self.store
                and getattr(self.store, "lock_manager", None) is None):
            raise ConfigurationError(
                f"Transaction {self.key!r} asks for SERIALIZABLE isolation, but its store has "
                "no lock manager. Drop isolation_level, or give tasks "
                "cache_policy.configure(isolation_level='SERIALIZABLE', lock_manager=...)."
            )
        self.state = TransactionState.ACTIVE
        if (not self.overwrite and not self._looked_up and self.key
                and self.store is not None and self.store.read(self.key) is not None):
            self.state = TransactionState.COMMITTED
        self._token = _current.set(self)
        self._open = True

    def close(self) -> None:
        """Stop being the innermost open transaction (the block ended); `settle` decides."""
        self._open = False
        if self._token is not None:
            _current.reset(self._token)
            self._token = None

    def settle(self, raised: bool) -> None:
        """Decide at the end of the block: roll back if it raised; else commit now (EAGER),
        leave it to the parent, or, at the top, commit (LAZY) or roll back (OFF)."""
        parent = self._parent
        if raised:
            self.rollback()
        else:
            if self.commit_mode is CommitMode.EAGER:
                self.commit()
            if parent is None:
                if self.commit_mode is CommitMode.OFF:
                    self.rollback()
                elif self.commit_mode is CommitMode.LAZY:
                    self.commit()
        if parent is not None:
            parent.add_child(self)
            if self.state is TransactionState.ROLLED_BACK:
                parent.rollback()

    # -- deciding --------------------------------------------------------------------------------
    def commit(self) -> bool:
        """Commit children, run `on_commit` hooks, write the staged value (with a key, a store
        and `write_on_commit`). If anything raises, it is logged and the transaction rolls back
        instead. Returns whether it committed."""
        if self.state in _FINAL:
            return False
        try:
            for child in self.children:
                child.commit()
            for hook in self.on_commit_hooks:
                self._run_hook(hook, "commit")
            if self.write_on_commit:
                if self._write is not None:
                    self._write(self._staged_value)
                elif self.key and self.store is not None:
                    self.store.write(self.key, self._staged_value, None)
        except Exception:
            self.logger.exception("An error was encountered while committing transaction %r",
                                  self.key)
            self.rollback()
            return False
        self.state = TransactionState.COMMITTED
        return True

    def rollback(self) -> bool:
        """Run `on_rollback` hooks in reverse order, then roll back children. Returns whether it
        rolled back: a committed transaction cannot, and a hook that raises stops it (logged)."""
        if self.state in _FINAL:
            return False
        try:
            for hook in reversed(self.on_rollback_hooks):
                self._run_hook(hook, "rollback")
            self.state = TransactionState.ROLLED_BACK
            for child in reversed(self.children):
                child.rollback()
        except Exception:
            self.logger.exception("An error was encountered while rolling back transaction %r",
                                  self.key)
            return False
        return True

    def _run_hook(self, hook: Callable[[Transaction], Any], kind: str) -> None:
        name = hook_name(hook)
        quiet = getattr(hook, "log_on_run", True) is False  # the engine's own hooks
        if not quiet:
            self.logger.info("Running %s hook %r", kind, name)
        try:
            result = hook(self)
            if inspect.iscoroutine(result):
                import asyncio

                asyncio.run(result)
        except Exception:
            if not quiet:
                self.logger.error("An error was encountered while running %s hook %r", kind,
                                  name)
            raise
        if not quiet:
            self.logger.info("%s hook %r finished running successfully", kind.capitalize(),
                             name)

    def stage(self, value: Any, on_rollback_hooks: list[Any] | None = None,
              on_commit_hooks: list[Any] | None = None) -> None:
        """Record the value to commit, and hooks to run then (nothing, once committed)."""
        if self.state is TransactionState.COMMITTED:
            return
        self._staged_value = value
        self.on_rollback_hooks.extend(on_rollback_hooks or [])
        self.on_commit_hooks.extend(on_commit_hooks or [])
        self.state = TransactionState.STAGED

    def read(self) -> CommittedRecord | None:
        """The record committed under this transaction's key; None without a key or store.

        Raises:
            ValueError: nothing is committed under the key (yet), as in Prefect. Check
                `txn.is_committed()` first.
        """
        key, store = self.key, self.store
        if not key or store is None:
            return None
        record = store.read(key)
        if record is None:
            raise ValueError(
                f"Nothing is committed under transaction key {key!r} yet (at "
                f"{store.storage.location(key)}). Check txn.is_committed() before txn.read()."
            )
        return CommittedRecord(key, record.value())

    def add_child(self, transaction: Transaction) -> None:
        self.children.append(transaction)

    def get_parent(self) -> Transaction | None:
        return self._parent

    # -- values shared along the chain -----------------------------------------------------------
    def set(self, name: str, value: Any) -> None:
        """Keep `value` under `name`, visible to this transaction and the ones nested in it."""
        self._values[name] = value

    def get(self, name: str, default: Any = _NOT_SET) -> Any:
        """A copy of the value set under `name` here or in a parent.

        Raises:
            ValueError: no such value and no default given.
        """
        transaction: Transaction | None = self
        while transaction is not None:
            if name in transaction._values:
                return copy.deepcopy(transaction._values[name])
            transaction = transaction._parent
        if default is _NOT_SET:
            raise ValueError(
                f"No value {name!r} in transaction {self.key!r} or its parents. Set it with "
                f"txn.set({name!r}, value), or pass a default: txn.get({name!r}, None)."
            )
        return default

    # -- state predicates ------------------------------------------------------------------------
    def is_pending(self) -> bool:
        return self.state is TransactionState.PENDING

    def is_active(self) -> bool:
        return self.state is TransactionState.ACTIVE

    def is_staged(self) -> bool:
        return self.state is TransactionState.STAGED

    def is_committed(self) -> bool:
        return self.state is TransactionState.COMMITTED

    def is_rolled_back(self) -> bool:
        return self.state is TransactionState.ROLLED_BACK

    def __repr__(self) -> str:
        return f"Transaction(key={self.key!r}, state={self.state.value})"


def task_transaction(ctx: Any, plan: Any = None) -> Transaction:
    """A task run's own transaction (not yet begun), from its context and cache plan.

    Its key is the run's cache key and its store the task's result store, as in Prefect;
    without a plan (results not persisted) both are computed only if someone reads them, and
    it writes nothing.
    """
    txn = Transaction(overwrite=bool(ctx.task.refresh_cache), logger=ctx.logger,
                      write_on_commit=plan is not None)
    if plan is not None:
        txn._key, txn._store = plan.key, plan.store
    else:
        txn._key_fn = lambda: _task_key(ctx)
        txn._store_fn = lambda: _task_store(ctx.task)
    txn._looked_up = True  # the engine looks the key up itself (a hit is a Cached run)
    return txn


def _task_key(ctx: Any) -> str | None:
    from headwater.core.cache_policies import DEFAULT, CacheKeyFnPolicy

    task = ctx.task
    if task.result_storage_key is not None:
        return str(task.result_storage_key.format(parameters=ctx.parameters, **ctx.parameters))
    policy = task.cache_policy
    if task.cache_key_fn is not None:
        policy = CacheKeyFnPolicy(cache_key_fn=task.cache_key_fn)
    elif policy is None or not hasattr(policy, "compute_key"):
        policy = DEFAULT
    flow_ctx = flow_run_var.get()
    try:
        key = policy.compute_key(ctx, ctx.parameters,
                                 flow_ctx.parameters if flow_ctx is not None else {})
    except Exception:
        return None
    return key if key is None else str(key)


def _task_store(task: Any) -> Any:
    from headwater.results.serializers import get_serializer
    from headwater.results.storage import get_storage
    from headwater.results.store import ResultStore

    ctx = flow_run_var.get()
    flow = ctx.flow if ctx is not None else None
    return ResultStore(
        get_storage(task.result_storage or getattr(flow, "result_storage", None)),
        get_serializer(task.result_serializer or getattr(flow, "result_serializer", None)),
    )


def _run_logger() -> Any:
    task_ctx = task_run_var.get()
    if task_ctx is not None:
        return task_ctx.logger
    flow_ctx = flow_run_var.get()
    return flow_ctx.logger if flow_ctx is not None else _log


def _new(key: str | None, store: Any, commit_mode: CommitMode | None,
         isolation_level: IsolationLevel | None, overwrite: bool, write_on_commit: bool,
         logger: Any) -> Transaction:
    if key and store is None:  # the current run's result store
        task_ctx = task_run_var.get()
        store = _task_store(task_ctx.task if task_ctx is not None else _NO_TASK)
    return Transaction(key, store, commit_mode, isolation_level, overwrite, write_on_commit,
                       logger or _run_logger())


@contextmanager
def transaction(key: str | None = None, store: Any = None,
                commit_mode: CommitMode | None = None,
                isolation_level: IsolationLevel | None = None, overwrite: bool = False,
                write_on_commit: bool = True, logger: Any = None) -> Iterator[Transaction]:
    """Open a transaction for the block (see the module docs).

    Example:
        with transaction(key=f"load-{day}") as txn:
            if not txn.is_committed():   # not done by an earlier run
                txn.stage(load(day))
    """
    with _new(key, store, commit_mode, isolation_level, overwrite, write_on_commit,
              logger) as txn:
        yield txn


@asynccontextmanager
async def atransaction(key: str | None = None, store: Any = None,
                       commit_mode: CommitMode | None = None,
                       isolation_level: IsolationLevel | None = None, overwrite: bool = False,
                       write_on_commit: bool = True,
                       logger: Any = None) -> AsyncIterator[Transaction]:
    """`transaction` for `async with`."""
    with _new(key, store, commit_mode, isolation_level, overwrite, write_on_commit,
              logger) as txn:
        yield txn
