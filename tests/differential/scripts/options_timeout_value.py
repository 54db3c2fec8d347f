# behaviour: timeout_seconds is stored as a float, and 0 means none
from prefect import flow, task


@task(timeout_seconds=5)
def t():
    pass


@flow(timeout_seconds=0)
def f():
    pass


print(repr(t.timeout_seconds), repr(f.timeout_seconds))
