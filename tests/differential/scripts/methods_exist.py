# behaviour: flows have serve, deploy, to_deployment, with_options; tasks have delay, apply_async
from prefect import flow, task


@task
def t():
    pass


@flow
def f():
    pass


print([hasattr(f, n) for n in ("serve", "deploy", "to_deployment", "with_options", "fn")])
print([hasattr(t, n) for n in ("delay", "apply_async", "submit", "map", "with_options", "fn")])
print(hasattr(flow, "from_source"))
