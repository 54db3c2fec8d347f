"""Seed example: retries (a number, a list, exponential backoff) on tasks and on the flow.

    python examples/retries.py 3      # which task to run: 1, 2 or 3 (default 3)

Each task fails every time, so each runs 3 times (retries=2) per flow attempt, and the flow
itself runs 3 times (retries=2): 9 task attempts in all, then the flow fails.
"""

import contextlib
import sys

from headwater import flow, task
from headwater.tasks import exponential_backoff


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
def retry_flow(type: int):
    if type == 1:
        retry_task_1()
    elif type == 2:
        retry_task_2()
    elif type == 3:
        retry_task_3()


if __name__ == "__main__":
    # The flow ends Failed (that is the point of the example); show the log, not a traceback.
    with contextlib.suppress(Exception):
        retry_flow(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
