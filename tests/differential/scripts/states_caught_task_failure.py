# behaviour: a flow that catches its task's failure ends Completed
from prefect import flow, task


@task
def fails():
    raise RuntimeError("task broke")


@flow
def f():
    try:
        fails()
    except RuntimeError as exc:
        return f"caught {exc}"


state = f(return_state=True)
print(state.name, state.result())
