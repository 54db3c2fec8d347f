# behaviour: a flow's description falls back to its docstring; names can be given
from prefect import flow, task


@flow(name="named")
def documented():
    """Says what it does."""


@task(name="custom-task", description="given")
def t():
    pass


print(documented.name, repr(documented.description))
print(t.name, repr(t.description))
