# behaviour: calling a generator task returns a generator; the run starts at the first next()
# behaviour: a generator task's items stream to the caller in order
import inspect

from prefect import flow, task

log = []


@task
def numbers(n):
    log.append("started")
    yield from range(n)


@flow
def f():
    gen = numbers(3)
    print(inspect.isgenerator(gen), log)
    items = list(gen)
    print(items, log)
    return sum(items)


print(f())
