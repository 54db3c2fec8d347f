# behaviour: DaskTaskRunner with worker processes runs a script's tasks (workers import prefect)
import os

from prefect import flow, task
from prefect_dask import DaskTaskRunner


@task
def square(x):
    return x * x, os.getpid()


runner = DaskTaskRunner(cluster_kwargs={"n_workers": 1, "threads_per_worker": 2,
                                        "processes": True, "dashboard_address": None})


@flow(task_runner=runner)
def f():
    results = square.map([1, 2, 3]).result()
    return [r[0] for r in results], all(r[1] != os.getpid() for r in results)


if __name__ == "__main__":
    print(f())
