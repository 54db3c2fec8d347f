# behaviour: quote() passes its value through without resolving futures inside
from prefect import flow, task
from prefect.utilities.annotations import quote


@task
def t(x):
    return type(x).__name__, x


@flow
def f():
    return t(quote([1, 2]))


print(f())
