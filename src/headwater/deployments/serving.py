"""`serve(*deployments)` and `flow.serve(...)`: check the options, open the store, run the loop.

Prefect's signatures, with headwater's own knobs as keyword arguments of `serve` (see
`ServeOptions`). Inside a process a serve loop started to run one deployment run (the flow's
file is imported there), both return at once: a file ending in `my_flow.serve(...)` works
without an `if __name__ == "__main__":` guard.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Any

from headwater.errors import DeploymentError

if TYPE_CHECKING:
    from headwater.core.flows import Flow
    from headwater.deployments.deployment import Deployment
    from headwater.deployments.serve_loop import ServeLoop
    from headwater.store.base import RunStore

# serve()'s own keywords, besides Prefect's: ServeOptions fields, plus these.
_ALIASES = {"query_seconds": "poll_seconds"}  # Prefect's Runner name for the poll interval
_IGNORED = ("pause_on_shutdown", "print_starting_message")


def serve(
    *deployments: Deployment, pause_on_shutdown: bool = True, print_starting_message: bool = True,
    limit: int | None = None, store: RunStore | str | None = None, clock: Any = None,
    **options: Any,
) -> None:
    """Serve deployments until SIGINT/SIGTERM: run them on their schedules and on demand.

    Args:
        deployments: made with `flow.to_deployment(...)`.
        pause_on_shutdown: accepted for Prefect's sake; a stopping serve process never pauses
            its deployments (other serve processes may be serving them).
        print_starting_message: print what is served and how to run it now.
        limit: most runs at once in this process (None: no limit).
        store: the run store (a URL or a `RunStore`); default the one the settings name.
        clock: the clock for ticks (tests).
        options: `ServeOptions` fields: catchup_seconds, prefetch_seconds, poll_seconds
            (or Prefect's query_seconds), cancel_grace_seconds, shutdown_grace_seconds,
            heartbeat_seconds, crash_check_seconds.

    Raises:
        DeploymentError: no deployments, an unknown option, or a store other processes cannot
            reach (HEADWATER_STORE=memory).
    """
    from headwater import deployments as package

    if package.in_served_run():
        return
    loop = make_loop(deployments, limit=limit, store=store, clock=clock, **options)
    _setup_serve_logging(print_starting_message)
    try:
        loop.run()
    finally:
        loop.store.close()


def make_loop(
    deployments: tuple[Deployment, ...] | list[Deployment], *, limit: int | None = None,
    store: RunStore | str | None = None, clock: Any = None, **options: Any,
) -> ServeLoop:
    """A `ServeLoop` for `serve`'s arguments, checked."""
    from dataclasses import fields

    from headwater.deployments.deployment import Deployment, check_limit
    from headwater.deployments.serve_loop import ServeLoop, ServeOptions

    if not deployments:
        raise DeploymentError(
            "serve() needs at least one deployment: serve(my_flow.to_deployment('name', "
            "cron='0 * * * *')), or call my_flow.serve(name='name', ...).",
            option="deployments",
        )
    for deployment in deployments:
        if not isinstance(deployment, Deployment):
            raise DeploymentError(
                f"serve() takes deployments made with flow.to_deployment(...), got "
                f"{deployment!r}.",
                option="deployments", value=deployment,
            )
    names = [d.full_name for d in deployments]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise DeploymentError(f"serve() got the deployment {twice[0]!r} twice; give each a "
                              f"name of its own.", option="deployments", value=twice[0])
    known = {f.name for f in fields(ServeOptions)} - {"limit", "extra_env"}
    values: dict[str, Any] = {}
    for key, value in options.items():
        key = _ALIASES.get(key, key)
        if key == "webserver":
            if value:
                raise DeploymentError(
                    "webserver=True is not available: see runs with `headwater runs ls` (or "
                    "the headwater server's UI).", option="webserver", value=value)
            continue
        if key not in known:
            raise TypeError(
                f"serve() got an unexpected keyword argument {key!r}. headwater's options: "
                f"{', '.join(sorted(known))}."
            )
        if value is not None:
            values[key] = _seconds(key, value)
    opened = _open_store(store)
    return ServeLoop(deployments, store=opened,
                     options=ServeOptions(limit=check_limit("limit", limit), **values),
                     clock=clock)


def serve_flow(flow: Flow[..., Any], name: str | None, options: dict[str, Any]) -> None:
    """`flow.serve(name, ...)`: one deployment of `flow`, served until stopped."""
    from headwater import deployments as package
    from headwater.deployments.deployment import to_deployment

    if package.in_served_run():
        return
    serving = {k: options.pop(k) for k in ("limit", "pause_on_shutdown", "print_starting_message",
                                           "webserver", "global_limit") if k in options}
    global_limit = serving.pop("global_limit", None)
    deployment = to_deployment(flow, name if name is not None else flow.name,
                               concurrency_limit=global_limit, **options)
    serve(deployment, **serving)


def _seconds(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise DeploymentError(f"{key} must be a number of seconds >= 0, got {value!r}.",
                              option=key, value=value)
    if key == "poll_seconds" and value == 0:
        raise DeploymentError("poll_seconds must be more than 0.", option=key, value=value)
    return float(value)


def _open_store(store: RunStore | str | None) -> RunStore:
    from headwater import settings
    from headwater.store import sql_store
    from headwater.store.memory import MemoryStore

    if isinstance(store, str):
        return sql_store(store)
    if store is None:
        if settings.store_kind() == "memory":
            raise DeploymentError(
                "HEADWATER_STORE=memory keeps runs inside one process, but served runs execute "
                "in processes of their own. Unset HEADWATER_STORE (SQLite in HEADWATER_HOME) "
                "or set HEADWATER_DATABASE_URL=postgresql+psycopg://... to serve.",
                option="store", value="memory",
            )
        return sql_store()
    if isinstance(store, MemoryStore):
        raise DeploymentError(
            "serve() needs a SQLite or PostgreSQL store: served runs execute in processes of "
            "their own, which cannot reach a MemoryStore.", option="store", value=store)
    return store


def _setup_serve_logging(announce: bool) -> None:
    """The serve loop's own lines go to stderr in the run loggers' format (not to the store)."""
    from headwater import settings
    from headwater.engine.logs import HeadwaterFormatter

    logger = logging.getLogger("headwater.serve")
    if not any(getattr(h, "_headwater_serve", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(HeadwaterFormatter())
        handler._headwater_serve = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.propagate = False  # the `headwater` logger would store these lines as run logs
    logger.setLevel(settings.logging_level() if announce else logging.WARNING)
