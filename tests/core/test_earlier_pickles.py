"""States and runs pickled by an earlier headwater (before their compact forms) still load:
a result persisted with a state in it, say. The bytes below were made by that version."""

from __future__ import annotations

import base64
import pickle
from uuid import UUID

from headwater.core.runs import NOT_STARTED, TaskRun
from headwater.core.states import StateType

# [Completed(data=5, message="ok") with cache_key "key-1", a TaskRun not started], protocol 4
EARLIER = base64.b64decode(
    "gASVmgEAAAAAAABdlCiMFWhlYWR3YXRlci5jb3JlLnN0YXRlc5SMBVN0YXRllJOUKGgBjAlTdGF0ZVR5cGWUk5SM"
    "CUNPTVBMRVRFRJSFlFKUjAlDb21wbGV0ZWSUjAJva5RLBWgBjAhfZGV0YWlsc5STlChOjAVrZXktMZROTk5OTnSU"
    "UpRHQdlU/EAgAAB0lFKUjBNoZWFkd2F0ZXIuY29yZS5ydW5zlIwHVGFza1J1bpSTlCmBlH2UKIwEY2FsbJROjAtm"
    "bG93X3J1bl9pZJSMBHV1aWSUjARVVUlElJOUKYGUfZSMA2ludJRLAXNijAh0YXNrX2tleZSMBXQta2V5lIwJdGFz"
    "a19uYW1llIwBdJSMCGVuZF90aW1llE6MAmlklGgbKYGUfZRoHksCc2KMBG5hbWWUjAN0LTGUjApwYXJhbWV0ZXJz"
    "lH2UjAFhlEsBc4wJcnVuX2NvdW50lEsAjApzdGFydF90aW1llE6MBXN0YXRllE6MBHRhZ3OUKIwBeJSRlIwOdG90"
    "YWxfcnVuX3RpbWWURwAAAAAAAAAAdWJlLg=="
)


def test_a_state_pickled_by_an_earlier_version_loads_with_its_data_and_details() -> None:
    state, _ = pickle.loads(EARLIER)
    assert state.type is StateType.COMPLETED and state.name == "Completed"
    assert state.message == "ok" and state.result() == 5
    assert state.state_details.cache_key == "key-1"
    assert state.timestamp_s == 1700000000.5


def test_a_task_run_pickled_by_an_earlier_version_loads_not_started() -> None:
    _, run = pickle.loads(EARLIER)
    assert isinstance(run, TaskRun)
    assert (run.id, run.flow_run_id) == (UUID(int=2), UUID(int=1))
    assert (run.name, run.task_name, run.task_key) == ("t-1", "t", "t-key")
    assert run.parameters == {"a": 1} and run.tags == frozenset({"x"})
    assert run.state is NOT_STARTED and run.run_count == 0
    again = pickle.loads(pickle.dumps(run))  # and travels on in today's form
    assert again.state is NOT_STARTED and again.name == "t-1"
