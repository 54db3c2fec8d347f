# behaviour: flow_run.parameters shows *args as a list and **kwargs as a dict
from prefect import flow
from prefect.runtime import flow_run


@flow
def f(a, *args, **kwargs):
    return flow_run.parameters


print(f(1, 2, 3, x=4))
