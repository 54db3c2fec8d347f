# behaviour: a callable flow_run_name is called to make the name
from prefect import flow
from prefect.runtime import flow_run


def make_name():
    return "made-" + flow_run.flow_name


@flow(flow_run_name=make_name)
def my_flow():
    return flow_run.name


print(my_flow())
