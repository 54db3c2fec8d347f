# env: PREFECT__RUNTIME__FLOW_RUN__NAME=from-env
# env: PREFECT__RUNTIME__FLOW_RUN__RUN_COUNT=7
# env: PREFECT__RUNTIME__TASK_RUN__ID=abc
# env: PREFECT__RUNTIME__FLOW_RUN__NOT_A_FIELD=x
# behaviour: PREFECT__RUNTIME__<MODULE>__<FIELD> overrides a field, cast to the real value's
#   type (an int stays an int; a None field gives the string); unknown names give the string
from prefect import flow
from prefect.runtime import flow_run, task_run

print(flow_run.name, repr(flow_run.run_count), task_run.id, flow_run.not_a_field)


@flow
def f():
    return flow_run.name, flow_run.run_count


print(f())
