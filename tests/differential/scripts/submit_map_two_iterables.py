# behaviour: map zips several iterables
from prefect import flow, task


@task
def add(x, y):
    return x + y


@flow
def f():
    return add.map([1, 2, 3], [10, 20, 30]).result()


print(f())
