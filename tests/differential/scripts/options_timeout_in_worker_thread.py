# behaviour: a submitted sync task over its timeout is interrupted in its worker thread (TimedOut)
import time

from prefect import flow, task


@task(timeout_seconds=0.3)
def slow():
    for _ in range(30):
        time.sleep(0.1)
    return "finished"


@flow
def g():
    future = slow.submit()
    future.wait()
    return future.state.name


print(g())
