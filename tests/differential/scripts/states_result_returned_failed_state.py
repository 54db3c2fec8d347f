# behaviour: a task that returns a data-less Failed state has result(raise_on_failure=False) None
# behaviour: a Failed state built without data gives a FailedRun from result(raise_on_failure=False)
from prefect import flow, task
from prefect.states import Failed


@task
def t():
    return Failed(message="returned")


@flow
def f():
    state = t(return_state=True)
    return state.name, state.message, repr(state.result(raise_on_failure=False))


print(f())
print(type(Failed().result(raise_on_failure=False)).__name__)
