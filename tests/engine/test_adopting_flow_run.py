"""`adopting_flow_run`: the engine runs a flow under a flow run id recorded ahead (a served
deployment run), records no second creation nor a second Pending, and leaves subflows and later
runs their own ids."""

from __future__ import annotations

import time
from uuid import UUID, uuid4

from headwater import flow
from headwater.engine.flow_run import adopting_flow_run
from headwater.events.memory import MemorySink
from headwater.events.records import FlowRunCreated, RunRenamed, StateChanged
from headwater.runtime import flow_run
from headwater.store import MemoryStore
from headwater.store.deployments import DeploymentSpec, NewDeploymentRun


@flow
def child() -> str:
    return str(flow_run.id)


@flow
def parent() -> tuple[str, str]:
    return str(flow_run.id), child()


@flow(flow_run_name="named-{n}")
def named(n: int) -> int:
    return n


def test_the_first_flow_run_takes_the_adopted_id_and_its_subflow_a_new_one(
    events: MemorySink,
) -> None:
    run_id = uuid4()

    with adopting_flow_run(run_id, "brave-otter"):
        own, sub = parent()
        later = child()

    assert own == str(run_id)
    assert sub != own and later != own
    created = [r.flow_run_id for r in events.records if isinstance(r, FlowRunCreated)]
    assert run_id not in created and len(created) == 2  # the subflow and the later run
    adopted = [r.state.name for r in events.records
               if isinstance(r, StateChanged) and r.run_id == run_id]
    assert adopted == ["Running", "Completed"]  # Pending was recorded by whoever claimed it


def test_a_flow_run_name_template_renames_the_adopted_run(events: MemorySink) -> None:
    run_id = uuid4()

    with adopting_flow_run(run_id, "brave-otter"):
        assert named(3) == 3

    assert [r.name for r in events.records if isinstance(r, RunRenamed)] == ["named-3"]


def test_an_adopted_run_continues_the_history_of_the_scheduled_one() -> None:
    # Given a deployment run created Scheduled and claimed (Pending) in a store
    from headwater.engine.runtime import use_sink
    from headwater.events.store import StoreSink

    store = MemoryStore()
    view = store.register_deployment(DeploymentSpec(str(uuid4()), "now", "child", "x.py:child"),
                                     now=time.time())
    run_id = str(uuid4())
    store.create_deployment_runs(view.id, [NewDeploymentRun(run_id, "calm-heron", time.time(),
                                                            None, {})], now=time.time())
    store.claim_deployment_runs([view.id], due_before=time.time(), now=time.time(),
                                claimed_by="test", limit=None, catchup_seconds=60)

    # When the engine runs the flow under that id, recording into the store
    sink = StoreSink(store)
    with use_sink(sink), adopting_flow_run(UUID(run_id), "calm-heron"):
        child()
    sink.close()

    # Then it is one run, from Scheduled to Completed
    run = store.read_flow_run(run_id)
    assert (run.name, run.flow_name, run.state_name) == ("calm-heron", "child", "Completed")
    assert [s.name for s in store.read_states(run.id)] == ["Scheduled", "Pending", "Running",
                                                           "Completed"]
