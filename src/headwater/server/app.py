"""The server: a FastAPI app over a `RunStore`, serving the JSON API and the UI.

    from headwater.server import create_app
    app = create_app(store)            # then: uvicorn.run(app, host="127.0.0.1", port=4200)

Errors are JSON `{"message": ..., "status": ...}` with a message that says what to do, never
a traceback. With `auth="user:password"` every request needs HTTP basic auth; POST requests
(actions) must also come from the same origin as the page, so another site cannot make a
browser cancel runs.
"""

from __future__ import annotations

import base64
import binascii
import logging
import secrets
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from headwater.errors import (
    AssetNotFoundError,
    HeadwaterError,
    ResumeError,
    RunFinishedError,
    RunNotFoundError,
    StoreUnavailableError,
)
from headwater.server.api import assets, flow_runs, task_runs
from headwater.server.api.models import ErrorOut
from headwater.server.errors import BadRequestError, ForbiddenError
from headwater.store.base import RunStore

logger = logging.getLogger("headwater.server")
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": description} for status, description in (
        (401, "HEADWATER_SERVER_AUTH is set and the request has no valid user and password"),
        (403, "an action from another origin"),
        (404, "no run or asset has that id or key"),
        (409, "the run already finished, or cannot be resumed"),
        (422, "a parameter the API cannot use"),
        (503, "the run store cannot be reached"),
    )
}
CRASH_CHECK_SECONDS = 10.0
STATUSES: list[tuple[type[BaseException], int]] = [
    (RunNotFoundError, 404), (AssetNotFoundError, 404), (RunFinishedError, 409),
    (ResumeError, 409),
    (BadRequestError, 422), (ForbiddenError, 403), (StoreUnavailableError, 503),
    (ValueError, 422), (HeadwaterError, 400),
]


def create_app(store: RunStore, *, auth: str | None = None, detect_crashes: bool = True) -> FastAPI:
    """The server's ASGI app.

    Args:
        store: where the runs are read from (and cancel requests written to).
        auth: "user:password" to require HTTP basic auth on every request; None for none.
        detect_crashes: mark Crashed, every 10 s, the runs whose process died (as
            `headwater runs ls` does), so no run shows Running forever.

    Returns:
        The app; its OpenAPI spec is at /openapi.json and its docs at /docs.
    """
    from headwater.server import ui

    app = FastAPI(
        title="headwater", version=_version(), lifespan=_lifespan(store, detect_crashes),
        description="The runs, task runs, logs and assets recorded by headwater flows.",
        responses=ERROR_RESPONSES,
    )
    app.state.store = store
    for router in (flow_runs.router, task_runs.router, assets.router):
        app.include_router(router)
    ui.mount(app)
    _add_error_handlers(app)
    _add_guards(app, auth)
    return app


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("headwater")
    except PackageNotFoundError:
        return "0"


def _lifespan(store: RunStore, detect: bool) -> Callable[[FastAPI], Any]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        thread = None
        if detect:
            thread = threading.Thread(target=_watch_crashes, args=(store, stop),
                                      name="headwater-crash-check", daemon=True)
            thread.start()
        try:
            yield
        finally:
            stop.set()
            if thread is not None:
                thread.join(timeout=5)

    return lifespan


def _watch_crashes(store: RunStore, stop: threading.Event) -> None:
    from headwater.store.history import detect_crashes

    while True:
        try:
            detect_crashes(store)
        except Exception as exc:  # a read-only store: the pages still work
            logger.warning("Could not mark crashed runs: %s", exc)
        if stop.wait(CRASH_CHECK_SECONDS):
            return


def error_response(status: int, message: str) -> JSONResponse:
    """The JSON every error is: `{"message": ..., "status": ...}`."""
    return JSONResponse({"message": message, "status": status}, status_code=status)


def _add_error_handlers(app: FastAPI) -> None:
    async def known(request: Request, exc: Exception) -> Response:
        for kind, status in STATUSES:
            if isinstance(exc, kind):
                return error_response(status, str(exc))
        return await unexpected(request, exc)

    async def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problems = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("query", "path"))
            value = error.get("input")
            problems.append(f"{where}={value!r}: {error.get('msg', 'invalid')}")
        return error_response(422, "Invalid request: " + "; ".join(problems)
                              + ". See /docs for what each parameter takes.")

    async def unexpected(request: Request, exc: Exception) -> Response:
        logger.error("Unexpected error on %s %s", request.method, request.url.path,
                     exc_info=exc)
        return error_response(500, f"The server failed on {request.url.path!r}: "
                                   f"{type(exc).__name__}. Its log has the details.")

    for kind in (HeadwaterError, ValueError):
        app.add_exception_handler(kind, known)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(Exception, unexpected)


def _add_guards(app: FastAPI, auth: str | None) -> None:
    expected = auth.encode() if auth else None

    @app.middleware("http")
    async def guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]
                    ) -> Response:
        if expected is not None and not _authorized(request, expected):
            response = error_response(401, "This headwater server needs a user and password "
                                           "(HEADWATER_SERVER_AUTH on the server).")
            response.headers["WWW-Authenticate"] = 'Basic realm="headwater"'
            return response
        if request.method not in ("GET", "HEAD", "OPTIONS") and not _same_origin(request):
            return error_response(403, "Actions must come from the server's own pages: this "
                                       "request came from another origin. Open the UI at "
                                       "this server's address and act from there.")
        return await call_next(request)


def _authorized(request: Request, expected: bytes) -> bool:
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        given = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    return secrets.compare_digest(given, expected)  # constant time


def _same_origin(request: Request) -> bool:
    """A browser marks where a request comes from: Sec-Fetch-Site, else Origin. Requests
    without either (curl, scripts) are not from a browser page, so no site can forge them."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    return urlsplit(origin).netloc == host
