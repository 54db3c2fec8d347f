# behaviour: a flow that raises propagates the exception; return_state gives Failed with a message
from prefect import flow


@flow
def bad():
    raise ValueError("nope")


try:
    bad()
except ValueError as exc:
    print("raised", type(exc).__name__, exc)
state = bad(return_state=True)
print(state.name, state.type.value)
print(state.message)
try:
    state.result()
except ValueError as exc:
    print("result raised", exc)
