# behaviour: prefect.runtime flow_run, task_run and deployment list Prefect's FIELDS (and dir())
# behaviour: outside a run, root_flow_run_id, parent_deployment_id, job_variables, api_url and
#   ui_url are None
# behaviour: root_flow_run_id is the top-level flow run's id in flows, subflows and tasks;
#   job_variables is {} in a run; extra names raise AttributeError
from prefect import flow, task
from prefect.runtime import deployment, flow_run, task_run

print(sorted(flow_run.FIELDS) == sorted(dir(flow_run)), sorted(flow_run.FIELDS))
print(sorted(task_run.FIELDS) == sorted(dir(task_run)), sorted(task_run.FIELDS))
print(sorted(deployment.FIELDS) == sorted(dir(deployment)), sorted(deployment.FIELDS))
print("outside:", flow_run.root_flow_run_id, flow_run.parent_deployment_id,
      flow_run.job_variables, flow_run.api_url, flow_run.ui_url, task_run.api_url,
      task_run.ui_url)
try:
    print(flow_run.no_such_field)
except AttributeError:
    print("AttributeError")

ROOT = []


@task
def t():
    print("task: root is flow", flow_run.root_flow_run_id == ROOT[0], task_run.task_name,
          task_run.run_count)


@flow
def grandchild():
    print("grandchild:", flow_run.root_flow_run_id == ROOT[0],
          flow_run.parent_flow_run_id != flow_run.root_flow_run_id)
    t()


@flow
def child():
    print("child:", flow_run.root_flow_run_id == flow_run.parent_flow_run_id,
          flow_run.root_flow_run_id != flow_run.id, type(flow_run.root_flow_run_id).__name__)
    grandchild()


@flow
def parent():
    ROOT.append(flow_run.id)
    print("parent:", flow_run.root_flow_run_id == flow_run.id, flow_run.parent_deployment_id,
          flow_run.job_variables, flow_run.parent_flow_run_id)
    t()
    t.submit().wait()
    child()


parent()
