"""`headwater run file.py[:flow] --param key=value`: run a flow from a file, recorded as usual."""

from __future__ import annotations

import sys

import click

from headwater.cli import render


@click.command()
@click.argument("target", metavar="FILE.py[:FLOW]")
@click.option("--param", "-p", "params", multiple=True, metavar="KEY=VALUE",
              help="A flow parameter; repeat for more. VALUE is parsed as JSON where it "
                   "parses (3, true, [1,2], {\"a\": 1}), else taken as text.")
def run(target: str, params: tuple[str, ...]) -> None:
    """Run the flow FLOW defined in FILE.py, e.g. `headwater run examples/hello.py:hello`
    (`:FLOW` may be left out when the file defines one flow).

    On a terminal a live line counts task runs done, running and failed. Exits with status
    0 when the run completes, 1 otherwise.
    """
    from headwater import settings
    from headwater.cli.logic import check_params, load_flow, parse_params, run_loaded
    from headwater.cli.progress import live_progress

    flow = load_flow(target)
    values = parse_params(params)
    check_params(flow, values)
    shown = sys.stderr.isatty() and settings.store_kind() != "memory"
    with live_progress(flow.name, enabled=shown):
        state = run_loaded(flow, values)
    run_id = state.state_details.flow_run_id
    render.console().print(
        f"Flow run {run_id} finished in state {state.name}. "
        f"See it with: headwater runs inspect {run_id}"
    )
    if not state.is_completed():
        sys.exit(1)
