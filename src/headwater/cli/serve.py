"""`headwater serve file.py:flow --cron "..."`: serve a flow from a shell, as `flow.serve` does."""

from __future__ import annotations

import click


def _seconds(text: str) -> float:
    """`90`, `90s`, `10m`, `2h`... as seconds."""
    from headwater.store.history import parse_duration

    try:
        return float(text)
    except ValueError:
        return parse_duration(text)


@click.command()
@click.argument("target", metavar="FILE.py:FLOW")
@click.option("--name", "-n", help="The deployment's name (default: the flow's name).")
@click.option("--cron", "crons", multiple=True, metavar="CRON",
              help="A cron schedule, e.g. '*/5 * * * *'; repeat for more.")
@click.option("--interval", "intervals", multiple=True, metavar="DURATION",
              help="An interval schedule: seconds, or 30s, 10m, 2h, 1d; repeat for more.")
@click.option("--rrule", "rrules", multiple=True, metavar="RRULE",
              help="An RFC 5545 rule, e.g. 'FREQ=DAILY;BYHOUR=6'; repeat for more.")
@click.option("--timezone", help="IANA time zone of the cron and rrule schedules (default UTC).")
@click.option("--param", "-p", "params", multiple=True, metavar="KEY=VALUE",
              help="A default parameter of its runs; repeat for more (JSON where it parses).")
@click.option("--tag", "tags", multiple=True, help="A tag for its runs; repeat for more.")
@click.option("--description", help="Shown with the deployment.")
@click.option("--paused", is_flag=True, default=None,
              help="Register it paused: it runs only on demand until resumed.")
@click.option("--limit", type=click.IntRange(min=1),
              help="At most this many runs at once in this process.")
@click.option("--catchup", default="60s", show_default=True, metavar="DURATION",
              help="Catch-up window: ticks missed by more than this, with a later tick due, "
                   "are skipped (the latest due tick always runs).")
@click.option("--prefetch", default="1s", show_default=True, metavar="DURATION",
              help="Start a run's process this long before its time.")
@click.option("--resume-crashed", default=0, show_default=True, type=click.IntRange(min=0),
              metavar="N", help="Resume a run that crashed (its process killed, its machine "
                                "lost) from where it stopped, at most N times.")
def serve(target: str, name: str | None, crons: tuple[str, ...], intervals: tuple[str, ...],
          rrules: tuple[str, ...], timezone: str | None, params: tuple[str, ...],
          tags: tuple[str, ...], description: str | None, paused: bool | None,
          limit: int | None, catchup: str, prefetch: str, resume_crashed: int) -> None:
    """Serve the flow FLOW of FILE.py: run it on its schedules and on demand until Ctrl-C.

    Every tick runs exactly once however many processes serve the same deployment (on one
    SQLite file, or on several machines sharing PostgreSQL). Run it now from another shell with
    `headwater deployments run FLOW/NAME`. Ctrl-C (or SIGTERM) stops taking runs, lets running
    ones finish (30 s at most), and exits; a second Ctrl-C stops them at once.
    """
    from headwater.cli.logic import check_params, load_flow, parse_params
    from headwater.deployments import loading_flows
    from headwater.deployments.schedules import Cron, Interval, RRule
    from headwater.deployments.serving import serve as serve_deployments

    with loading_flows():  # a `my_flow.serve(...)` in the file itself must not start serving
        flow = load_flow(target)
    values = parse_params(params)
    check_params(flow, values)
    schedules = [Cron(c, timezone=timezone) for c in crons]
    schedules += [Interval(_seconds(i), timezone=timezone) for i in intervals]
    schedules += [RRule(r, timezone=timezone) for r in rrules]
    deployment = flow.to_deployment(
        name or flow.name, schedules=schedules, parameters=values, tags=list(tags) or None,
        description=description, paused=paused, resume_crashed=resume_crashed)
    serve_deployments(deployment, limit=limit, catchup_seconds=_seconds(catchup),
                      prefetch_seconds=_seconds(prefetch))
