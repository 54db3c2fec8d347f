# behaviour: exponential_backoff(3) with retries=3 gives [3, 6, 12], evaluated at decoration
from prefect import task
from prefect.tasks import exponential_backoff


@task(retries=3, retry_delay_seconds=exponential_backoff(backoff_factor=3))
def t():
    pass


print(repr(t.retry_delay_seconds))
print(exponential_backoff(2)(4))
