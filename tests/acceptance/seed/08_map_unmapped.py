from prefect import flow, task, unmapped
from prefect.futures import wait
from prefect_dask.task_runners import DaskTaskRunner
import time

@task(name="map_unmap")
def map_task(a, b):
    return a + sum(b)
          
@flow(name="map任务流")
def map_flow(val1, val2):
    vars = range(5)
    tmp = map_task.map(val1, unmapped(val2))

    return tmp.result()

if __name__ == "__main__":
    res = map_flow([4, 5, 6], [1, 2, 3])
    try:
        print(res)
        assert res == [10, 11, 12]
    except:
        print("fuck")
