# behaviour: a retried task passes through a Retrying state (run_count increments)
from prefect import flow, task
from prefect.runtime import task_run

seen = []


@task(retries=2)
def t():
    seen.append(task_run.run_count)
    if len(seen) < 3:
        raise ValueError("x")
    return "ok"


@flow
def f():
    return t()


print(f(), seen)
