# behaviour: submit returns a future whose result is the task's value
from prefect import flow, task


@task
def double(x):
    return 2 * x


@flow
def f():
    future = double.submit(21)
    return future.result(), future.state.name


print(f())
