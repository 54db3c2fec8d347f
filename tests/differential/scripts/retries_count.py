# behaviour: retries=N gives N+1 attempts and the task ends Completed when one succeeds
from prefect import flow, task

attempts = []


@task(retries=2)
def flaky():
    attempts.append(1)
    if len(attempts) < 3:
        raise ValueError("again")
    return "ok"


@flow
def f():
    return flaky()


print(f(), len(attempts))
