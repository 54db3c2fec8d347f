# behaviour: a task over its timeout_seconds ends Failed, named TimedOut
import time

from prefect import flow, task


@task(timeout_seconds=0.2)
def slow():
    time.sleep(3)


@flow
def f():
    return slow(return_state=True)


state = f(return_state=True)
print(state.name)
