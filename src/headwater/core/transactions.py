"""Transactions: group task runs so their side effects commit, or roll back, together.

    with transaction():
        write_rows()      # a task with @write_rows.on_rollback(delete_rows)
        publish()         # if this raises, delete_rows runs, then the error propagates

A transaction is a context manager. When its block ends normally it commits: first its
children (nested transactions, and the task runs that completed inside it), then its
`on_commit` hooks; when the block raises, it rolls back: its `on_rollback` hooks in reverse
order, then its children, and the exception propagates. A nested transaction stays open until
its parent decides. `commit_mode` says when a transaction commits: `LAZY` (default) with its
parent, or at the end of the block if it has none; `EAGER` at the end of its block; `OFF` never
(a top-level one rolls back). Hooks take the transaction: `hook(txn)`.

A task with `on_commit`/`on_rollback` hooks stages its result in a transaction of its own once
it completes: inside `with transaction():` that one commits or rolls back with the block;
outside, it commits at once, so `on_commit` hooks run right after the task.
"""

from __future__ import annotations

import contextvars
import copy
import enum
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

_log = logging.getLogger("headwater.transactions")
_NOT_SET: Any = object()


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


_current: contextvars.ContextVar[Transaction | None] = contextvars.ContextVar(
    "headwater_transaction", default=None
)


def get_transaction() -> Transaction | None:
    """The innermost open transaction, or None."""
    return _current.get()


class Transaction:
    """A unit of work whose hooks and children commit or roll back together.

    Args:
        key: a name for it (shown in logs).
        commit_mode: when it commits (see the module docs); None inherits the parent's, LAZY
            at the top.
        isolation_level: kept for Prefect code; None inherits the parent's, READ_COMMITTED at
            the top. headwater runs hooks in this process, so both levels behave alike.
        store, overwrite, write_on_commit, logger: accepted for Prefect code.
    """

    def __init__(
        self, key: str | None = None, store: Any = None,
        commit_mode: CommitMode | None = None, isolation_level: IsolationLevel | None = None,
        overwrite: bool = False, write_on_commit: bool = True, logger: Any = None,
    ) -> None:
        self.key = key
        self.store = store
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

    # -- entering and leaving --------------------------------------------------------------------
    def __enter__(self) -> Transaction:
        if self._token is not None:
            raise RuntimeError(f"Transaction {self.key!r} is already open; use a new one.")
        self._parent = parent = get_transaction()
        if self.commit_mode is None:
            self.commit_mode = parent.commit_mode if parent else CommitMode.LAZY
        if self.isolation_level is None:
            self.isolation_level = (parent.isolation_level if parent
                                    else IsolationLevel.READ_COMMITTED)
        self.state = TransactionState.ACTIVE
        self._token = _current.set(self)
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        assert self._token is not None
        _current.reset(self._token)
        self._token = None
        if exc_type is not None:
            self.rollback()
            return
        if self.commit_mode is CommitMode.EAGER:
            self.commit()
        elif self._parent is not None:
            self._parent.add_child(self)  # decided with the parent
        elif self.commit_mode is CommitMode.OFF:
            self.rollback()
        else:
            self.commit()

    # -- deciding --------------------------------------------------------------------------------
    def commit(self) -> bool:
        """Commit children, then run `on_commit` hooks. A hook that raises is logged and the
        transaction rolls back instead; returns whether it committed."""
        if self.state in (TransactionState.COMMITTED, TransactionState.ROLLED_BACK):
            return False
        try:
            for child in self.children:
                child.commit()
            for hook in self.on_commit_hooks:
                hook(self)
        except Exception:
            self.logger.exception("A commit hook of transaction %r raised; rolling back.",
                                  self.key)
            self.rollback()
            return False
        self.state = TransactionState.COMMITTED
        return True

    def rollback(self) -> bool:
        """Run `on_rollback` hooks in reverse order, then roll back children; returns whether
        it rolled back (a committed transaction cannot)."""
        if self.state in (TransactionState.COMMITTED, TransactionState.ROLLED_BACK):
            return False
        try:
            for hook in reversed(self.on_rollback_hooks):
                hook(self)
        except Exception:
            self.logger.exception("A rollback hook of transaction %r raised.", self.key)
            return False
        finally:
            self.state = TransactionState.ROLLED_BACK
        for child in reversed(self.children):
            child.rollback()
        return True

    def stage(self, value: Any, on_rollback_hooks: list[Any] | None = None,
              on_commit_hooks: list[Any] | None = None) -> None:
        """Record the value this transaction commits, and hooks to run then."""
        self._staged_value = value
        self.on_rollback_hooks.extend(on_rollback_hooks or [])
        self.on_commit_hooks.extend(on_commit_hooks or [])
        self.state = TransactionState.STAGED

    def read(self) -> Any:
        """The staged value."""
        return self._staged_value

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


@contextmanager
def transaction(key: str | None = None, store: Any = None,
                commit_mode: CommitMode | None = None,
                isolation_level: IsolationLevel | None = None, overwrite: bool = False,
                write_on_commit: bool = True, logger: Any = None) -> Iterator[Transaction]:
    """Open a transaction for the block (see the module docs)."""
    with Transaction(key, store, commit_mode, isolation_level, overwrite, write_on_commit,
                     logger) as txn:
        yield txn


@asynccontextmanager
async def atransaction(key: str | None = None, store: Any = None,
                       commit_mode: CommitMode | None = None,
                       isolation_level: IsolationLevel | None = None, overwrite: bool = False,
                       write_on_commit: bool = True,
                       logger: Any = None) -> AsyncIterator[Transaction]:
    """`transaction` for `async with`."""
    with Transaction(key, store, commit_mode, isolation_level, overwrite, write_on_commit,
                     logger) as txn:
        yield txn


def stage_task_result(task: Any, result: Any) -> Transaction:
    """Stage a completed task run's result with its `on_commit`/`on_rollback` hooks: with the
    open transaction's decision inside one, committed at once outside (or when EAGER)."""
    with Transaction(key=getattr(task, "name", None)) as txn:
        txn.stage(result, on_rollback_hooks=list(task.on_rollback_hooks),
                  on_commit_hooks=list(task.on_commit_hooks))
    return txn
