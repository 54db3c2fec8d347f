# behaviour: runtime flow_name, task_name, parameters inside runs
from prefect import flow, task
from prefect.runtime import flow_run, task_run


@task
def my_task(x):
    return task_run.task_name, task_run.parameters, flow_run.flow_name


@flow
def my_flow(y: int = 2):
    return flow_run.flow_name, flow_run.parameters, my_task(y)


print(my_flow())
