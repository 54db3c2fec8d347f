# behaviour: a failing subflow raises into the parent
from prefect import flow


@flow
def child():
    raise ValueError("child broke")


@flow
def parent():
    try:
        child()
    except ValueError as exc:
        return f"caught {exc}"


print(parent())
