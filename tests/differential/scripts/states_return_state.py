# behaviour: return_state=True gives a Completed state whose result is the return value
from prefect import flow


@flow
def f():
    return 41 + 1


state = f(return_state=True)
print(state.type.value, state.name, state.is_completed(), state.is_failed())
print(state.result())
