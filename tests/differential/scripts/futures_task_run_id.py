# behaviour: a future has a task_run_id that is a UUID
import uuid

from prefect import flow, task


@task
def t():
    return 1


@flow
def f():
    fut = t.submit()
    fut.wait()
    return isinstance(fut.task_run_id, uuid.UUID)


print(f())
