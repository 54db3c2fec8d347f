"""`flow.to_deployment`, `flow.serve` and `serve(...)`: Prefect's signatures, every option
checked when called, with errors that quote the value and say what to do."""

from __future__ import annotations

import inspect
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import headwater.deployments as deployments
from headwater import flow
from headwater.deployments import Deployment, serve
from headwater.errors import DeploymentError, InvalidNameError, ScheduleError


@flow(version="7")
def etl(n: int = 1, full: bool = False) -> int:
    """Loads the warehouse."""
    return n


def test_to_deployment_describes_the_flow_where_it_lives() -> None:
    deployment = etl.to_deployment("nightly", cron="0 3 * * *", parameters={"n": 5},
                                   tags=["warehouse"])

    assert isinstance(deployment, Deployment)
    assert (deployment.full_name, deployment.parameters, deployment.tags) == (
        "etl/nightly", {"n": 5}, ["warehouse"])
    assert deployment.entrypoint == f"{Path(__file__).resolve()}:etl"
    assert (deployment.version, deployment.description) == ("7", "Loads the warehouse.")
    assert [s.cron for s in deployment.schedules] == ["0 3 * * *"]
    assert deployment.paused is None  # keep what the store has


def test_a_file_name_as_deployment_name_becomes_its_stem_as_in_prefect() -> None:
    assert etl.to_deployment("jobs/nightly.py").name == "nightly"


def test_the_signatures_are_prefects() -> None:
    serve_params = list(inspect.signature(etl.serve).parameters)
    deploy_params = list(inspect.signature(etl.to_deployment).parameters)

    assert serve_params[:8] == ["name", "interval", "cron", "rrule", "paused", "schedule",
                                "schedules", "global_limit"]
    assert {"limit", "pause_on_shutdown", "print_starting_message", "webserver",
            "parameters", "tags", "version", "description"} <= set(serve_params)
    assert deploy_params[:8] == ["name", "interval", "cron", "rrule", "paused", "schedule",
                                 "schedules", "concurrency_limit"]


@pytest.mark.parametrize(("options", "error", "text"), [
    ({"cron": "61 * * * *"}, ScheduleError, "'61 * * * *'"),
    ({"interval": 5, "cron": "* * * * *"}, ScheduleError, "Give only one of"),
    ({"interval": timedelta(0)}, ScheduleError, "longer than 0 seconds"),
    ({"parameters": {"m": 1}}, DeploymentError, "has no parameter 'm'. Its parameters: n, full"),
    ({"parameters": {"n": object()}}, DeploymentError, "must be JSON values"),
    ({"parameters": [1]}, DeploymentError, "must be a dict"),
    ({"tags": "abc"}, DeploymentError, "tags must be a list of strings, got 'abc'"),
    ({"work_pool_name": "k8s"}, DeploymentError, "needs a Prefect server"),
    ({"triggers": ["x"]}, DeploymentError, "run_deployment()"),
    ({"concurrency_limit": 0}, DeploymentError, "concurrency_limit must be a whole number"),
    ({"paused": "yes"}, DeploymentError, "paused must be True, False or None, got 'yes'"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_bad_options_are_refused_at_once(options: dict[str, Any], error: type, text: str) -> None:
    with pytest.raises(error) as raised:
        etl.to_deployment("nightly", **options)

    assert text in str(raised.value)


@pytest.mark.parametrize(("name", "error"), [
    ("a/b", InvalidNameError), ("", DeploymentError), (None, DeploymentError),
])
def test_a_deployment_needs_a_plain_name(name: Any, error: type) -> None:
    with pytest.raises(error):
        etl.to_deployment(name)


def test_a_flow_not_defined_in_a_file_cannot_be_served() -> None:
    namespace: dict[str, Any] = {"flow": flow}
    exec("@flow\ndef made_here():\n    return 1\n", namespace)

    with pytest.raises(DeploymentError, match="not defined in a Python file"):
        namespace["made_here"].to_deployment("x")


@pytest.mark.parametrize(("args", "options", "text"), [
    ((), {}, "needs at least one deployment"),
    (("etl",), {}, "takes deployments made with flow.to_deployment"),
    (("twice",), {}, "got the deployment 'etl/nightly' twice"),
    (("one",), {"limit": 0}, "limit must be a whole number of runs >= 1"),
    (("one",), {"webserver": True}, "webserver=True is not available"),
    (("one",), {"poll_seconds": -1}, "poll_seconds must be a number of seconds >= 0"),
])
def test_serve_refuses_what_it_cannot_serve(args: tuple[str, ...], options: dict[str, Any],
                                            text: str) -> None:
    one = etl.to_deployment("nightly")
    given = {"etl": [etl], "twice": [one, one], "one": [one]}.get(args[0] if args else "", [])
    with pytest.raises(DeploymentError, match=text.replace("(", r"\(").replace(")", r"\)")):
        serve(*given, **options)  # type: ignore[arg-type]


def test_serve_names_its_own_options_when_given_an_unknown_one() -> None:
    with pytest.raises(TypeError, match=r"'catchup'.*catchup_seconds"):
        serve(etl.to_deployment("nightly"), catchup=5)


def test_serving_needs_a_store_other_processes_reach(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADWATER_STORE", "memory")

    with pytest.raises(DeploymentError, match="HEADWATER_STORE=memory"):
        etl.serve(name="nightly", interval=60)


def test_inside_a_served_run_serve_returns_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # A file ending in `my_flow.serve(...)` is imported by the process that runs one of its runs
    monkeypatch.setattr(deployments, "_served_run", True)

    assert etl.serve(name="nightly", interval=60) is None
    assert serve(etl.to_deployment("nightly")) is None
