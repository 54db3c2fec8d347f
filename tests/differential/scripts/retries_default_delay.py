# behaviour: a task's default retries and retry delay are 0
from prefect import flow, task


@task
def t():
    pass


@flow
def f():
    pass


print(repr(t.retries), repr(t.retry_delay_seconds))
print(repr(f.retries), repr(f.retry_delay_seconds))
