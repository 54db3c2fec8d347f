# behaviour: PREFECT_HOME decides where persisted results are written
# env: PREFECT_HOME={tmp}/prefect-home
import os

from prefect import flow, task


@task(persist_result=True)
def t():
    return 1


@flow
def f():
    return t()


print(f())
storage = os.path.join(os.environ["PREFECT_HOME"], "storage")
print(os.path.isdir(storage), len(os.listdir(storage)) >= 1)
