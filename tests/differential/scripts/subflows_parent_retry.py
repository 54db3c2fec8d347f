# behaviour: a parent flow's retry runs its subflows again, completed ones included, as new
#   subflow runs (run_count 1), with their tasks
from prefect import flow, task
from prefect.runtime import flow_run

calls = []
ids = []


@task
def tk(x):
    calls.append(("task", x))
    return x


@flow
def child(x):
    calls.append(("child", x, flow_run.run_count))
    ids.append(flow_run.id)
    return tk(x) * 10


attempts = []


@flow(retries=1)
def parent():
    attempts.append(flow_run.run_count)
    a = child(1)
    s = child(2, return_state=True)
    calls.append(("states", s.name))
    if len(attempts) == 1:
        raise ValueError("first attempt fails")
    return a, s.result()


print(parent())
print(attempts, len(ids), len(set(ids)))
for c in calls:
    print(c)
