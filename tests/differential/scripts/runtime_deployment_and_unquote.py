# behaviour: prefect.runtime.deployment fields outside a deployment are None and {}
# behaviour: quote(...).unquote() and unwrap() give the value
from prefect.runtime import deployment
from prefect.utilities.annotations import quote

q = quote([1, 2])
print(q.unquote(), q.unwrap())
print(deployment.id, deployment.name, deployment.parameters, deployment.version)
