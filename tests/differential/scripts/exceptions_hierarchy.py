# behaviour: Prefect exception classes subclass the right builtins
from prefect.exceptions import (
    MissingContextError,
    ParameterBindError,
    ParameterTypeError,
    PrefectException,
)

print(issubclass(ParameterBindError, TypeError), issubclass(ParameterTypeError, PrefectException))
print(issubclass(MissingContextError, PrefectException))
