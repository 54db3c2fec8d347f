"""`headwater server start`: the JSON API and the web UI over the run store."""

from __future__ import annotations

import click


@click.group()
def server() -> None:
    """Serve the run history as a JSON API and a web UI (needs the `server` extra)."""


@server.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but 127.0.0.1 should have "
                   "HEADWATER_SERVER_AUTH=user:password set.")
@click.option("--port", default=4200, show_default=True, type=click.IntRange(1, 65535),
              help="Port to listen on.")
def start(host: str, port: int) -> None:
    """Start the server: the UI at http://HOST:PORT/, the API under /api, its docs at /docs.

    Reads the run store named by HEADWATER_DATABASE_URL (default HEADWATER_HOME/headwater.db).
    Set HEADWATER_SERVER_AUTH=user:password to require basic auth.
    """
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise click.ClickException(
            f"The server needs the `server` extra ({exc.name} is missing). Install it with: "
            f"pip install 'headwater[server]'"
        ) from None
    from headwater.server.serve import run_server, server_settings
    from headwater.store import open_store

    settings = server_settings(host, port)
    if settings.warning:
        click.echo(settings.warning, err=True)
    url_host = f"[{host}]" if ":" in host else host
    store_url = getattr(open_store(), "display_url", "memory://")
    click.echo(f"headwater server on http://{url_host}:{port}/ (API docs at /docs), reading "
               f"{store_url}. Ctrl-C to stop.")
    run_server(settings)
