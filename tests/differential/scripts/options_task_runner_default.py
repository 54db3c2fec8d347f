# behaviour: a flow's task_runner defaults to a ThreadPoolTaskRunner instance
from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner


@flow
def f():
    pass


@flow(task_runner=ThreadPoolTaskRunner)
def g():
    pass


print(type(f.task_runner).__name__, isinstance(f.task_runner, ThreadPoolTaskRunner))
print(type(g.task_runner).__name__)
