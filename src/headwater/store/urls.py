"""From a database URL to the store for it: the SQL store, or a writer's lean store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from headwater._redact import redact_url
from headwater.errors import StoreConfigurationError

if TYPE_CHECKING:
    from headwater.store.lean import BatchTarget
    from headwater.store.sql import SqlRunStore


def normalize_url(url: str) -> str:
    """`postgres://` and `postgresql://` mean psycopg 3; other URLs are left alone."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def store_for_url(url: str) -> SqlRunStore:
    """The SQL store for a SQLAlchemy URL.

    Raises:
        StoreConfigurationError: the URL names a database headwater does not support.
    """
    url = normalize_url(url)
    if url.startswith("sqlite"):
        from headwater.store.sqlite import SqliteRunStore

        return SqliteRunStore(url)
    if url.startswith("postgresql"):
        from headwater.store.postgres import PostgresRunStore

        return PostgresRunStore(url)
    shown = redact_url(url)
    raise StoreConfigurationError(
        f"HEADWATER_DATABASE_URL={shown!r} is not a database headwater can use. Use "
        f"'sqlite:///path/to/headwater.db' or 'postgresql+psycopg://user@host:5432/db'.",
        url=shown,
    )


def writer_store(url: str) -> BatchTarget:
    """The store a writer writes `url` with: a `LeanStore` where it goes, else the SQL store.

    Raises:
        StoreConfigurationError: the URL names a database headwater does not support.
        SettingError: the URL does not match `HEADWATER_STORE`.
    """
    from headwater import settings
    from headwater.store.lean import full_store

    if settings.store_kind() not in (None, "sqlite", "sql", "postgres", "postgresql"):
        return full_store(url)  # whatever it says, the SQL store says it the usual way
    normal = normalize_url(url)
    if normal.startswith("sqlite:///") and settings.store_kind() not in ("postgres",
                                                                        "postgresql"):
        from headwater.store.lean_sqlite import lean_sqlite_store

        return lean_sqlite_store(url) or full_store(url)
    if normal.startswith("postgresql+psycopg://"):
        from headwater.store.lean_postgres import lean_postgres_store

        return lean_postgres_store(url) or full_store(url)
    return full_store(url)
