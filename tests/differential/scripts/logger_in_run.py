# behaviour: get_run_logger inside a flow and a task returns a logger adapter
import logging

from prefect import flow, get_run_logger, task


@task
def t():
    logger = get_run_logger()
    logger.info("from the task")
    return isinstance(logger, logging.LoggerAdapter)


@flow
def f():
    logger = get_run_logger()
    logger.info("from the flow")
    return isinstance(logger, logging.LoggerAdapter), t()


print(f())
