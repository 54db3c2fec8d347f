# behaviour: flow on_completion/on_failure hooks receive the flow, the run and the state
from prefect import flow

calls = []


def done(fl, run, state):
    calls.append(("completion", fl.name, state.name))


def failed(fl, run, state):
    calls.append(("failure", fl.name, state.name))


@flow(on_completion=[done], on_failure=[failed])
def good():
    return 1


@flow(on_failure=[failed])
def bad():
    raise ValueError("x")


good()
bad(return_state=True)
print(calls)
