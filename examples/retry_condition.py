"""Seed example: retry only when `retry_condition_fn` says so.

Offline, the HTTP request fails with a connection error; the handler sees the failure and asks
for a retry, so the task runs twice (retries=1) and then the flow fails.
"""

import contextlib

import httpx

from headwater import flow, task


def retry_handler(task, task_run, state) -> bool:
    try:
        state.result()
    except Exception:
        return True
    return False


@task(retries=1, retry_condition_fn=retry_handler)
def api_call_task(url):
    response = httpx.get(url)
    response.raise_for_status()
    return response.json()


@flow(name="重试条件")
def retry_condition_flow():
    api_call_task("https://docs.prefect.io")


if __name__ == "__main__":
    # The flow ends Failed (that is the point of the example); show the log, not a traceback.
    with contextlib.suppress(Exception):
        retry_condition_flow()
