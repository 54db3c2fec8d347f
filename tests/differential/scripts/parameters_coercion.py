# behaviour: flow parameters are coerced to their annotations
import datetime

from prefect import flow


@flow
def f(x: int, when: datetime.date):
    return x + 1, when.year


print(f("5", "2024-01-01"))
