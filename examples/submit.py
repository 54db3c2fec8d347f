"""Seed example: `.submit` ten tasks to the thread pool; `log_prints` turns prints into logs.

    python examples/submit.py          # thread pool (default)
    python examples/submit.py dask     # a local Dask cluster
"""

import sys

from headwater import flow, task
from headwater.futures import wait
from headwater.runners import ThreadPoolTaskRunner
from headwater.runners.dask import DaskTaskRunner


@task(name="测试并发")
def conccurrent_task(i: int):
    print(f"第{i}个任务1")
    print(f"第{i}个任务2")


def make_flow(runner):
    @flow(name="并发测试任务流", log_prints=True, task_runner=runner)
    def conccurrent_flow():
        tmp = []
        for i in range(10):
            tmp.append(conccurrent_task.submit(i))
        wait(tmp)

    return conccurrent_flow


if __name__ == "__main__":
    dask = len(sys.argv) > 1 and sys.argv[1] == "dask"
    runner = DaskTaskRunner(cluster_kwargs={"n_workers": 2, "processes": False}) if dask \
        else ThreadPoolTaskRunner()
    make_flow(runner)()
