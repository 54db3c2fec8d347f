# behaviour: allow_failure lets a downstream task run after its upstream failed
from prefect import allow_failure, flow, task


@task
def fails():
    raise ValueError("up")


@task
def after(x):
    return type(x).__name__


@flow
def f():
    a = fails.submit()
    return after.submit(allow_failure(a)).result()


print(f())
