# behaviour: a retry_condition_fn that is a functools.partial is called, and retries happen
import functools

from prefect import flow, task

attempts = []


def condition(always, task, task_run, state):
    return always


@task(retries=2, retry_condition_fn=functools.partial(condition, True))
def flaky():
    attempts.append(1)
    raise ValueError("again")


@flow
def f():
    return flaky(return_state=True).name


print(f(), len(attempts))
