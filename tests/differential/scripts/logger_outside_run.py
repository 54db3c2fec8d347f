# behaviour: get_run_logger outside a run raises MissingContextError
from prefect import get_run_logger
from prefect.exceptions import MissingContextError

try:
    get_run_logger()
except MissingContextError:
    print("MissingContextError")
