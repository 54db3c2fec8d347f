# behaviour: a task whose upstream future failed is not run and ends NotReady/Pending
from prefect import flow, task


@task
def fails():
    raise ValueError("upstream")


@task
def downstream(x):
    print("ran downstream")
    return x


@flow
def f():
    a = fails.submit()
    b = downstream.submit(a)
    b.wait()
    return b.state.name, b.state.type.value


try:
    print(f())
except Exception as exc:
    print(type(exc).__name__)
