# behaviour: map runs the task once per item and returns futures in order
from prefect import flow, task, unmapped
from prefect.futures import PrefectFutureList


@task
def scale(x, factor):
    return x * factor


@flow
def f():
    futures = scale.map([1, 2, 3], unmapped(10))
    is_list = isinstance(futures, PrefectFutureList)
    return [fut.result() for fut in futures], futures.result(), is_list


print(f())
