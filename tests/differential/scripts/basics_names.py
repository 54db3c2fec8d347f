# behaviour: a flow's default name turns underscores into dashes; a task's name is unchanged
from prefect import flow, task


@task
def my_task():
    return 1


@flow
def my_flow():
    return 1


print(my_flow.name, my_task.name)
print(type(my_flow).__name__, type(my_task).__name__)
