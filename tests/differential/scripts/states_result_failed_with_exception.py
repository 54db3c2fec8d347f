# behaviour: State.result(raise_on_failure=False) on a failed run returns the exception
from prefect import flow


@flow
def bad():
    raise ValueError("kept")


state = bad(return_state=True)
value = state.result(raise_on_failure=False)
print(type(value).__name__, value)
