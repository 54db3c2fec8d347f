"""`headwater`: the command line. Subcommands live in one module per noun, loaded on demand.

    headwater runs ls [--flow NAME] [--state STATE] [--limit N] [--json]
    headwater runs inspect ID
    headwater runs logs ID [--follow]
    headwater runs cancel ID [--no-wait] [--timeout SECONDS]
    headwater assets ls [--json]
    headwater assets show KEY [--json]
    headwater run path/to/file.py[:flow_name] [--param key=value ...]
    headwater version
    headwater db upgrade | reset | prune --older-than 30d
    headwater server start [--host 127.0.0.1] [--port 4200]
    headwater serve path/to/file.py:flow_name [--cron CRON | --interval 10m | --rrule RULE]
    headwater deployments ls | inspect NAME | pause NAME | resume NAME | delete NAME
    headwater deployments run NAME [--param key=value ...] [--watch]

Every command reads history through `RunStore` (no server needed). A `HeadwaterError` raised
by the library becomes `Error: <message>` and exit status 1, never a traceback.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from headwater.errors import HeadwaterError

_SUBCOMMANDS = {
    "assets": ("headwater.cli.assets", "assets"),
    "db": ("headwater.cli.db", "db"),
    "deployments": ("headwater.cli.deployments", "deployments"),
    "run": ("headwater.cli.run", "run"),
    "runs": ("headwater.cli.runs", "runs"),
    "serve": ("headwater.cli.serve", "serve"),
    "server": ("headwater.cli.server", "server"),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when used (or listed by --help)."""

    def __init__(self, *args: Any, lazy: dict[str, tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module, attribute = self.lazy[cmd_name]
            return getattr(importlib.import_module(module), attribute)  # type: ignore[no-any-return]
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except HeadwaterError as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(
    cls=LazyGroup,
    lazy=_SUBCOMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(package_name="headwater", prog_name="headwater")
def cli() -> None:
    """headwater: run Prefect-style flows in-process, and read their recorded history.

    History lives in HEADWATER_HOME/headwater.db (SQLite), or in the database named by
    HEADWATER_DATABASE_URL (e.g. postgresql+psycopg://user@host/db). No server is needed.
    """


@cli.command()
def version() -> None:
    """Print headwater's version, Python's, and where runs are recorded."""
    import platform
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    from headwater import settings

    try:
        mine = installed("headwater")
    except PackageNotFoundError:
        mine = "unknown (not installed)"
    click.echo(f"headwater {mine}")
    click.echo(f"Python {platform.python_version()} ({platform.python_implementation()})")
    from headwater._redact import redact_url

    click.echo(f"Run store: {redact_url(settings.database_url())}")


def main(argv: list[str] | None = None) -> Any:
    """Entry point of the `headwater` script."""
    return cli.main(args=argv, prog_name="headwater")


if __name__ == "__main__":
    main()
