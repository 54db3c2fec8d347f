# behaviour: a parameter named return_state is reserved
from prefect import flow
from prefect.exceptions import ReservedArgumentError

try:

    @flow
    def f(return_state):
        pass

except ReservedArgumentError as exc:
    print("ReservedArgumentError", "return_state" in str(exc), isinstance(exc, Exception))
