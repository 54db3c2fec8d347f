# behaviour: flow_run_name is formatted with the parameters, defaults included
from prefect import flow
from prefect.runtime import flow_run


@flow(flow_run_name="run-{day}-{n}")
def f(day: str, n: int = 3):
    return flow_run.name


print(f("mon"))
