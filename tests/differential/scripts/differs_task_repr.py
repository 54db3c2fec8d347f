# behaviour: repr() of a task
# differs: the repr names the task and function, Task(name=..., fn=...), not an address
from prefect import task


@task
def load():
    pass


print(repr(load).startswith("<prefect.tasks.Task object at"))
