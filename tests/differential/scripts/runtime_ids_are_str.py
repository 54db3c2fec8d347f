# behaviour: prefect.runtime flow_run.id and task_run.id are str
from prefect import flow, task
from prefect.runtime import flow_run, task_run


@task
def t():
    return type(task_run.id).__name__, len(task_run.id)


@flow
def f():
    return type(flow_run.id).__name__, len(flow_run.id), t()


print(f())
