# behaviour: a failing task called outside a flow raises the original exception
from prefect import task


@task
def boom():
    raise KeyError("missing")


try:
    boom()
except KeyError as exc:
    print("KeyError", exc)
