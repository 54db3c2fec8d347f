import httpx
from prefect import flow, task

def retry_handler(task, task_run, state) -> bool:
    try:
        state.result()
    except:
        return True
    
@task(retries=1, retry_condition_fn=retry_handler)
def api_call_task(url):
    response = httpx.get(url)
    response.raise_for_status()
    return response.json()

@flow(name="重试条件")
def retry_condition_flow():
    api_call_task("https://docs.prefect.io")

try:
    retry_condition_flow()
except:
    pass
