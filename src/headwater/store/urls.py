"""From a database URL to the SQL store for it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from headwater._redact import redact_url
from headwater.errors import StoreConfigurationError

if TYPE_CHECKING:
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


