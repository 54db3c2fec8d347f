# behaviour: State.result(raise_on_failure=False) on a Failed state without data returns None
from prefect.states import Failed

print(Failed().result(raise_on_failure=False))
print(Failed(message="m").result(raise_on_failure=False))
