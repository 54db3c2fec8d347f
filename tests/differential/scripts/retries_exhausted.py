# behaviour: retries exhausted leaves the task Failed and the flow raises its exception
from prefect import flow, task

attempts = []


@task(retries=1)
def always():
    attempts.append(1)
    raise ValueError(f"attempt {len(attempts)}")


@flow
def f():
    return always()


state = f(return_state=True)
print(state.name, len(attempts))
print(state.message)
