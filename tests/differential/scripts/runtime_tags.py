# behaviour: tags from the decorator and the tags() context reach task_run.tags
from prefect import flow, tags, task
from prefect.runtime import task_run


@task(tags=["a"])
def t():
    return sorted(task_run.tags)


@flow
def f():
    with tags("b", "c"):
        return t()


print(f())
print(sorted(t.tags), type(t.tags).__name__)
