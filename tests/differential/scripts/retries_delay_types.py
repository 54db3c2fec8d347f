# behaviour: retry_delay_seconds keeps an int as an int
# behaviour: retry_delay_seconds keeps a list of ints as ints
# behaviour: retry_delay_seconds keeps a float as a float
from prefect import task


@task(retries=1, retry_delay_seconds=5)
def a():
    pass


@task(retries=2, retry_delay_seconds=[2, 4])
def b():
    pass


@task(retries=1, retry_delay_seconds=1.5)
def c():
    pass


for t in (a, b, c):
    print(t.name, t.retries, repr(t.retry_delay_seconds))
