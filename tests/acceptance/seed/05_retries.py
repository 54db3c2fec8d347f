from prefect import flow, task
from prefect.tasks import exponential_backoff
import time

@task(retries=2, retry_delay_seconds=5)
def retry_task_1():
    raise Exception("restry task")

@task(retries=2, retry_delay_seconds=[2, 4])
def retry_task_2():
    raise Exception("restry task")

@task(retries=2, retry_delay_seconds=exponential_backoff(backoff_factor=2))
def retry_task_3():
    raise Exception("restry task")

@flow(retries=2, retry_delay_seconds=1, version="1.0.0")
def retry_flow(type:int):
    if type == 1:
        retry_task_1()
    elif type == 2:
        retry_task_2()
    elif type == 3:
        retry_task_3()

try:
    retry_flow(3)
except:
    pass
