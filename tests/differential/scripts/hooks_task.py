# behaviour: task on_completion and on_failure hooks are called with the task and state
from prefect import flow, task

calls = []


def done(tsk, run, state):
    calls.append(("completion", tsk.name, state.name))


def failed(tsk, run, state):
    calls.append(("failure", tsk.name, state.name))


@task(on_completion=[done], on_failure=[failed])
def ok():
    return 1


@task(on_failure=[failed])
def bad():
    raise ValueError("x")


@flow
def f():
    ok()
    bad(return_state=True)


f()
print(calls)
