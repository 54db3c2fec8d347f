# behaviour: on_crashed runs for KeyboardInterrupt, SystemExit and other BaseExceptions (in the
#   flow or in a task it calls), with Prefect's messages; the interrupt still propagates
# behaviour: a flow that returns a Cancelled state ends Cancelled without running
#   on_cancellation hooks (they answer a cancel request, not a returned state)
import sys

from prefect import flow, task

log = []


def on_crash(flow, flow_run, state):
    log.append(("crashed", state.name, state.type.name, state.message))


def on_fail(flow, flow_run, state):
    log.append(("failed", state.name))


def on_cancel(flow, flow_run, state):
    log.append(("cancelled", state.name))


@flow(on_crashed=[on_crash], on_failure=[on_fail], on_cancellation=[on_cancel])
def interrupted():
    raise KeyboardInterrupt()


@flow(on_crashed=[on_crash], on_failure=[on_fail])
def exits():
    sys.exit(3)


@flow(on_crashed=[on_crash], on_failure=[on_fail])
def base_exc():
    raise BaseException("odd")


@flow(on_cancellation=[on_cancel], on_failure=[on_fail])
def returns_cancelled():
    from prefect.states import Cancelled
    return Cancelled(message="by hand")


@task
def t():
    raise KeyboardInterrupt()

@flow(on_crashed=[on_crash], on_failure=[on_fail])
def task_interrupt():
    t()


for f in (interrupted, exits, base_exc, returns_cancelled, task_interrupt):
    log.clear()
    try:
        s = f(return_state=True)
        print(f.name, "returned", s.name, s.type.name)
    except BaseException as e:
        print(f.name, "raised", type(e).__name__)
    print(" ", log)
