# behaviour: a failed submitted task's future raises on result() and has a Failed state
from prefect import flow, task


@task
def fails():
    raise ValueError("bad")


@flow
def f():
    fut = fails.submit()
    fut.wait()
    print(fut.state.name)
    try:
        fut.result()
    except ValueError as exc:
        print("raised", exc)
    print(type(fut.result(raise_on_failure=False)).__name__)
    return "done"


print(f())
