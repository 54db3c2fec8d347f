"""DaskTaskRunner's options, as prefect-dask has them, against real LocalClusters."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from distributed import LocalCluster

from headwater import flow, get_run_context, task
from headwater.errors import OptionError
from headwater.runners.dask import DaskTaskRunner
from headwater.testing import task_run_request


@task
def square(x: int) -> int:
    return x * x


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                      dashboard_address=":0") as running:
        yield running


def test_an_existing_scheduler_is_used_by_address_and_left_running(cluster: LocalCluster) -> None:
    @flow(task_runner=DaskTaskRunner(address=cluster.scheduler_address))
    def on_cluster() -> list[int]:
        return square.map([1, 2, 3]).result()

    assert on_cluster() == [1, 4, 9]
    assert on_cluster() == [1, 4, 9]  # the runner is reusable: each run gets a fresh copy
    assert cluster.status.name == "running"


def test_a_cluster_class_by_dotted_path_with_kwargs_and_adaptive_scaling() -> None:
    runner = DaskTaskRunner(
        cluster_class="distributed.LocalCluster",
        cluster_kwargs={"n_workers": 1, "processes": False, "dashboard_address": ":0"},
        adapt_kwargs={"minimum": 1, "maximum": 2},
    )
    assert runner.cluster_class is LocalCluster
    seen: dict[str, Any] = {}

    @flow(task_runner=runner)
    def adaptive() -> int:
        result = square.submit(7).result()
        seen["cluster"] = get_run_context().runner._owned_cluster  # type: ignore[union-attr]
        return result

    assert adaptive() == 49
    assert seen["cluster"].status.name == "closed"  # the flow's own cluster is closed after it


def test_options_that_contradict_each_other_are_rejected() -> None:
    with pytest.raises(OptionError, match="Cannot specify `address`"):
        DaskTaskRunner(address="tcp://127.0.0.1:8786", cluster_kwargs={"n_workers": 1})
    with pytest.raises(OptionError, match="Cannot specify `cluster`"):
        DaskTaskRunner(cluster=object(), cluster_class=LocalCluster)
    with pytest.raises(OptionError, match="asynchronous"):
        DaskTaskRunner(client_kwargs={"asynchronous": True})
    with pytest.raises(OptionError, match="dotted path"):
        DaskTaskRunner(cluster_class="LocalCluster")


def test_runners_with_the_same_settings_are_equal_and_duplicate_cleanly() -> None:
    runner = DaskTaskRunner(cluster_kwargs={"n_workers": 2})
    assert runner == DaskTaskRunner(cluster_kwargs={"n_workers": 2})
    assert runner != DaskTaskRunner(cluster_kwargs={"n_workers": 3})
    copy = runner.duplicate()
    assert copy == runner and copy is not runner
    with pytest.raises(RuntimeError, match="not started"):
        runner.submit(task_run_request(square, x=1))
