# env: PREFECT__RUNTIME__DEPLOYMENT__ID=dep-1
# env: PREFECT__RUNTIME__DEPLOYMENT__NAME=nightly
# behaviour: PREFECT__RUNTIME__DEPLOYMENT__<FIELD> overrides prefect.runtime.deployment fields
#   (a None field gives the string); the others keep their values outside a deployment
from prefect import flow
from prefect.runtime import deployment


@flow
def f():
    return deployment.id, deployment.name, deployment.version, deployment.parameters


print(deployment.id, deployment.name, deployment.flow_run_id)
print(f())
