# behaviour: a task called outside a flow runs inline and returns its value
from prefect import task


@task
def square(x):
    return x * x


print(square(7))
