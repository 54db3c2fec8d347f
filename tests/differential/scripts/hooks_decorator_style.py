# behaviour: hooks registered with @my_task.on_completion run
from prefect import flow, task

calls = []


@task
def t():
    return 1


@t.on_completion
def after(tsk, run, state):
    calls.append(state.name)


@flow
def f():
    return t()


f()
print(calls)
