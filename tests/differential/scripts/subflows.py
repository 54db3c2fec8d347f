# behaviour: a subflow called in a flow returns its value
from prefect import flow
from prefect.runtime import flow_run


@flow
def child(x):
    return x * 3, flow_run.flow_name


@flow
def parent():
    return child(2), flow_run.flow_name


print(parent())
