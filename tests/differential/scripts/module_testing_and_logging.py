# behaviour: prefect_test_harness runs flows inside it
# behaviour: get_logger gives a logger under prefect; disable_run_logger allows task.fn calls
import logging

from prefect import flow, task
from prefect.logging import disable_run_logger, get_logger
from prefect.testing.utilities import prefect_test_harness


@task
def add(x, y):
    return x + y


@flow
def f():
    return add(1, 2)


with prefect_test_harness():
    print(f())
logger = get_logger("mine")
print(isinstance(logger, logging.Logger), logger.name)
with disable_run_logger():
    print(add.fn(2, 3))
