# behaviour: PREFECT_LOCAL_STORAGE_PATH decides where persisted results are written
# env: PREFECT_LOCAL_STORAGE_PATH={tmp}/results
import os

from prefect import flow, task


@task(persist_result=True)
def t():
    return 1


@flow
def f():
    return t()


print(f())
storage = os.environ["PREFECT_LOCAL_STORAGE_PATH"]
print(os.path.isdir(storage), len(os.listdir(storage)) >= 1)
