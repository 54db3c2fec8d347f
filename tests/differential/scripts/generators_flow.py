# behaviour: calling a generator flow returns a generator of its items
import inspect

from prefect import flow


@flow
def stream(n):
    yield from range(n)


gen = stream(3)
print(inspect.isgenerator(gen))
print(list(gen))
