# behaviour: without persisted results nothing is cached
from prefect import flow, task

calls = []


@task
def t(x):
    calls.append(x)
    return x


@flow
def f():
    return t(1, return_state=True).name, t(1, return_state=True).name


print(f(), calls)
