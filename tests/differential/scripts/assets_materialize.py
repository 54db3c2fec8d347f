# behaviour: a materialize task runs and returns its value
from prefect import flow
from prefect.assets import materialize


@materialize("s3://bucket/out")
def make():
    return 5


@flow
def f():
    return make()


print(f())
print([a.key for a in make.assets])
