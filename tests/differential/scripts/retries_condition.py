# behaviour: retry_condition_fn returning False stops retries
from prefect import flow, task

attempts = []


def only_value_errors(task, task_run, state):
    try:
        state.result()
    except ValueError:
        return True
    except Exception:
        return False
    return False


@task(retries=3, retry_condition_fn=only_value_errors)
def t():
    attempts.append(1)
    raise TypeError("not retried")


@flow
def f():
    return t(return_state=True).name


print(f(), len(attempts))
