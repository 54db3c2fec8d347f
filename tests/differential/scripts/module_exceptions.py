# behaviour: Prefect exception classes import and can be named in except clauses
from prefect.exceptions import (
    Abort,
    ConfigurationError,
    ObjectNotFound,
    Pause,
    PrefectException,
    SignatureMismatchError,
)

for cls in (Abort, ConfigurationError, ObjectNotFound, Pause, SignatureMismatchError):
    print(cls.__name__, issubclass(cls, BaseException))
try:
    raise ValueError("x")
except (ObjectNotFound, ConfigurationError):
    print("wrong")
except ValueError:
    print("ValueError")
print(issubclass(ObjectNotFound, PrefectException))
