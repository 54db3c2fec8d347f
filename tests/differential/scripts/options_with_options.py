# behaviour: with_options returns a copy with new options and keeps the rest
from prefect import flow, task


@task(retries=2, tags=["a"])
def t():
    return 1


@flow(name="orig", retries=1)
def f():
    return t()


t2 = t.with_options(name="renamed", tags=["b"])
f2 = f.with_options(retries=0)
print(t2.name, t2.retries, sorted(t2.tags), t.name)
print(f2.name, f2.retries, f.retries)
print(f2())
