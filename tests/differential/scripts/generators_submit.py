# behaviour: a submitted generator task's result is the list of its items
from prefect import flow, task


@task
def numbers(n):
    yield from range(n)
    return "ignored"


@flow
def f():
    return numbers.submit(3).result()


print(f())
