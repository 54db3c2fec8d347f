# behaviour: prefect.runtime values outside a run
from prefect.runtime import flow_run, task_run

print(flow_run.id, flow_run.name, flow_run.flow_name, task_run.id, task_run.name)
print(flow_run.run_count, task_run.run_count)
print(flow_run.parameters, task_run.parameters)
