# behaviour: wait() returns done and not_done sets
from prefect import flow, task
from prefect.futures import wait


@task
def t(x):
    return x


@flow
def f():
    futures = [t.submit(i) for i in range(4)]
    done = wait(futures)
    return len(done.done), len(done.not_done), sorted(x.result() for x in done.done)


print(f())
