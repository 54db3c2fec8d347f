"""Where run records go: the `EventSink` seam, and the sink the settings ask for.

The engine's runtime (`headwater.engine.runtime`) holds the current sink. By default it opens
`open_default_sink()`: the store sink writing to the run store the settings name
(`HEADWATER_DATABASE_URL`, default the SQLite file `HEADWATER_HOME/headwater.db`);
`HEADWATER_STORE=memory` keeps records in a `MemorySink`.
"""

from __future__ import annotations

from headwater.events.base import EventSink, NullSink

__all__ = ["EventSink", "NullSink", "open_default_sink"]


def open_default_sink() -> EventSink:
    """The sink the settings ask for (not started before this is called).

    Raises:
        SettingError: `HEADWATER_STORE` or `HEADWATER_STORE_WRITER` holds a bad value.
    """
    from headwater import settings

    kind = settings.store_kind()
    if kind == "memory":
        from headwater.events.memory import FREEZE_EVERY, MemorySink

        # The process's own store: it keeps every record until the process ends.
        return MemorySink(freeze_every=FREEZE_EVERY)
    if kind not in (None, "sqlite", "postgres", "postgresql", "sql"):
        from headwater.errors import SettingError

        raise SettingError(
            f"HEADWATER_STORE={kind!r} is not a run store. Use 'memory', or unset it and set "
            f"HEADWATER_DATABASE_URL to choose the database (default: SQLite in HEADWATER_HOME)."
        )
    # Only the queue and the pump thread start here; the store (and SQLAlchemy) is opened by
    # the writer (a process of its own, by default), so the first run never waits for it.
    from headwater.events.store import StoreSink

    settings.store_writer()  # a bad HEADWATER_STORE_WRITER is reported here, in the caller
    return StoreSink(settings.database_url())
