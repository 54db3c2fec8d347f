"""Seed example: `.map` with `unmapped`; prints [10, 11, 12].

    python examples/map_unmapped.py          # thread pool (default)
    python examples/map_unmapped.py dask     # a local Dask cluster (worker processes)
"""

import sys

from headwater import flow, task, unmapped
from headwater.runners import ThreadPoolTaskRunner
from headwater.runners.dask import DaskTaskRunner


@task(name="map_unmap")
def map_task(a, b):
    return a + sum(b)


def make_flow(runner):
    @flow(name="map任务流", task_runner=runner)
    def map_flow(val1, val2):
        tmp = map_task.map(val1, unmapped(val2))
        return tmp.result()

    return map_flow


if __name__ == "__main__":
    dask = len(sys.argv) > 1 and sys.argv[1] == "dask"
    runner = DaskTaskRunner(cluster_kwargs={"n_workers": 2}) if dask else ThreadPoolTaskRunner()
    res = make_flow(runner)([4, 5, 6], [1, 2, 3])
    print(res)
    assert res == [10, 11, 12]
