# behaviour: validate_parameters=False passes values through unchanged
from prefect import flow


@flow(validate_parameters=False)
def f(x: int):
    return x


print(repr(f("foo")))
