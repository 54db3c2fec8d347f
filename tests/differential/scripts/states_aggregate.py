# behaviour: a flow returning a list of states ends in their aggregate, with Prefect's message
from prefect import flow, task


@task
def ok():
    return 1


@task
def fails():
    raise ValueError("x")


@flow
def mixed():
    return [ok(return_state=True), fails(return_state=True)]


@flow
def good():
    return [ok(return_state=True), ok(return_state=True)]


s = mixed(return_state=True)
print(s.name, s.message)
g = good(return_state=True)
print(g.name, g.message)
