# behaviour: an invalid flow parameter raises ParameterTypeError; the state is Failed
from prefect import flow
from prefect.exceptions import ParameterTypeError


@flow
def f(x: int):
    return x


try:
    f("not a number")
except ParameterTypeError as exc:
    print("ParameterTypeError", str(exc).splitlines()[0])
state = f("x", return_state=True)
print(state.name)
