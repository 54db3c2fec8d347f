# behaviour: PREFECT_TASK_DEFAULT_RETRIES sets the retries of tasks that do not set them
# env: PREFECT_TASK_DEFAULT_RETRIES=2
from prefect import task


@task
def t():
    pass


@task(retries=0)
def u():
    pass


print(t.retries, u.retries)
