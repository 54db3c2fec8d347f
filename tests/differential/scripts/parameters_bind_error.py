# behaviour: calling a flow with a wrong signature raises ParameterBindError, a TypeError
from prefect import flow
from prefect.exceptions import ParameterBindError


@flow
def f(x, y):
    return x + y


try:
    f(1, 2, 3)
except ParameterBindError as exc:
    print("ParameterBindError", isinstance(exc, TypeError))
