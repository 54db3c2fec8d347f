"""What `headwater server start` runs: settings checked, the app made, uvicorn started."""

from __future__ import annotations

import os
from dataclasses import dataclass

from headwater.errors import SettingError

AUTH_VARIABLE = "HEADWATER_SERVER_AUTH"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class ServerSettings:
    """Where to listen and who may come in.

    Attributes:
        host, port: the address to bind.
        auth: "user:password" from HEADWATER_SERVER_AUTH, or None.
        warning: what to tell the user before starting (None: nothing).
    """

    host: str
    port: int
    auth: str | None
    warning: str | None


def server_settings(host: str, port: int, environ: dict[str, str] | None = None) -> ServerSettings:
    """Check the address and HEADWATER_SERVER_AUTH.

    Raises:
        SettingError: HEADWATER_SERVER_AUTH is set but not `user:password`.
    """
    env = os.environ if environ is None else environ
    auth = env.get(AUTH_VARIABLE) or None
    if auth is not None and (":" not in auth or auth.startswith(":") or auth.endswith(":")):
        # Never echo the value: it holds a password.
        raise SettingError(
            f"{AUTH_VARIABLE} must be 'user:password' (both non-empty), e.g. "
            f"{AUTH_VARIABLE}=admin:$(openssl rand -hex 12)."
        )
    warning = None
    if host not in LOCAL_HOSTS and auth is None:
        warning = (
            f"Warning: listening on {host}:{port} without a password: anyone who can reach "
            f"this machine can read every run's parameters, results and logs, and cancel "
            f"runs. Set {AUTH_VARIABLE}=user:password, or bind 127.0.0.1 (the default)."
        )
    return ServerSettings(host=host, port=port, auth=auth, warning=warning)


def run_server(settings: ServerSettings, database_url: str | None = None) -> None:
    """Serve the API and UI until interrupted (Ctrl-C)."""
    import uvicorn

    from headwater.server.app import create_app
    from headwater.store import open_store

    store = open_store(database_url)
    try:
        app = create_app(store, auth=settings.auth)
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning",
                    server_header=False)
    finally:
        store.close()
