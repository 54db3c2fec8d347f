# differs: headwater has no API server, so runtime api_url and ui_url are None inside runs too
# behaviour: flow_run.api_url and ui_url inside a run point at the run in Prefect's API and UI
from prefect import flow
from prefect.runtime import flow_run


@flow
def f():
    return (type(flow_run.api_url).__name__, type(flow_run.ui_url).__name__)


print(f())
