# behaviour: print inside a log_prints=False task reaches stdout
from prefect import flow, task


@task
def t():
    print("printed by the task")


@flow
def f():
    t()
    print("printed by the flow")


f()
