# behaviour: task_run_name is formatted with the parameters
from prefect import flow, task
from prefect.runtime import task_run


@task(task_run_name="load-{table}")
def load(table):
    return task_run.name


@flow
def f():
    return load("users")


print(f())
