# behaviour: get_client() gives an API client
# differs: no Prefect API server: get_client() raises UnsupportedPrefectFeature on use
from prefect import get_client

try:
    client = get_client()
    print(type(client).__name__)
except NotImplementedError:
    print("unsupported")
