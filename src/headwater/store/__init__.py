"""Durable run history: the `RunStore` seam and the store chosen by settings.

    from headwater.store import open_store
    store = open_store()        # HEADWATER_DATABASE_URL, or HEADWATER_HOME/headwater.db
    for run in store.read_flow_runs():
        print(run.name, run.state_name)

Importing this package loads no database library; `open_store()` does, for SQL stores.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from headwater.store.base import (
        AssetLineageView,
        AssetMaterializationView,
        AssetView,
        Batch,
        DependencyView,
        EventView,
        FlowRunFilter,
        FlowRunView,
        LogView,
        PruneResult,
        RunStore,
        StateView,
        TaskRunView,
    )
    from headwater.store.memory import MemoryStore
    from headwater.store.sql import SqlRunStore

# Names are loaded on first use: a writer loads the few store modules it writes with, not
# every class of the store (see `events/_writer_process.py`).
_LAZY = {
    "AssetLineageView": "base", "AssetMaterializationView": "base", "AssetView": "base",
    "Batch": "base", "DependencyView": "base", "EventView": "base", "FlowRunFilter": "base",
    "FlowRunView": "base", "LogView": "base", "PruneResult": "base", "RunStore": "base",
    "StateView": "base", "TaskRunView": "base", "MemoryStore": "memory",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'headwater.store' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"headwater.store.{module}"), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value

__all__ = [
    "AssetLineageView",
    "AssetMaterializationView",
    "AssetView",
    "Batch",
    "DependencyView",
    "EventView",
    "FlowRunFilter",
    "FlowRunView",
    "LogView",
    "MemoryStore",
    "PruneResult",
    "RunStore",
    "StateView",
    "TaskRunView",
    "open_store",
    "sql_store",
    "using_store",
]


def sql_store(url: str | None = None) -> SqlRunStore:
    """The SQL store at `url`, or the one settings name (`HEADWATER_DATABASE_URL`, default
    `sqlite:///HEADWATER_HOME/headwater.db`). Nothing is opened until the first call."""
    from headwater import settings
    from headwater.store.urls import store_for_url

    url = url or settings.database_url()
    kind = settings.store_kind()
    if kind in ("postgres", "postgresql") and not url.startswith("postgres"):
        from headwater._redact import redact_url
        from headwater.errors import SettingError

        raise SettingError(
            f"HEADWATER_STORE={kind!r} needs a PostgreSQL URL, but HEADWATER_DATABASE_URL is "
            f"{redact_url(url)!r}. Set HEADWATER_DATABASE_URL=postgresql+psycopg://user@host:5432/db."
        )
    return store_for_url(url)


def open_store(url: str | None = None) -> RunStore:
    """The run store settings ask for: a `MemoryStore` with `HEADWATER_STORE=memory` (and no
    `url`), otherwise `sql_store(url)`."""
    from headwater import settings

    if url is None and settings.store_kind() == "memory":
        from headwater.store.memory import MemoryStore

        return MemoryStore()
    return sql_store(url)


@contextmanager
def using_store(url: str | None = None) -> Iterator[RunStore]:
    """`open_store(url)` for the length of a block; its connections are closed after it."""
    store = open_store(url)
    try:
        yield store
    finally:
        store.close()
