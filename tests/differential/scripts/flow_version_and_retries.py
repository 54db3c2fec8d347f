# behaviour: a flow's retries and retry_delay_seconds are stored as given
from prefect import flow


@flow(retries=3, retry_delay_seconds=2)
def f():
    pass


print(repr(f.retries), repr(f.retry_delay_seconds))
