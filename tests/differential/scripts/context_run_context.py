# behaviour: get_run_context gives a FlowRunContext in a flow and TaskRunContext in a task
from prefect import flow, task
from prefect.context import FlowRunContext, TaskRunContext, get_run_context


@task
def t():
    return isinstance(get_run_context(), TaskRunContext), TaskRunContext.get() is not None


@flow
def f():
    ctx = get_run_context()
    return isinstance(ctx, FlowRunContext), ctx.flow.name, FlowRunContext.get() is not None, t()


print(f())
print(FlowRunContext.get(), TaskRunContext.get())
