# behaviour: a task called in a flow returns its value, and the flow returns its own
from prefect import flow, task


@task
def add(x, y):
    return x + y


@flow
def adder(a: int, b: int):
    return add(a, b) * 10


print(adder(1, 2))
