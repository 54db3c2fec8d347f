"""The execution seam's bytes: a request shipped whole, or as its own bytes plus the parts every
run of its task shares (sent once by a runner), runs the same on the other side."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest

from headwater import task
from headwater.engine.execution import (
    TaskRunRequest,
    execute_bytes,
    execute_packed,
    execute_shared,
    load_shared,
    pack_shared,
)
from headwater.errors import SerializationError
from headwater.testing import task_run_request


@task
def add(x: int, y: int) -> int:
    return x + y


def test_a_request_without_its_shared_parts_runs_once_they_are_given_back() -> None:
    request = task_run_request(add, x=1, y=2)
    own, shared = request.to_bytes(shared=False), request.shared_bytes()
    assert len(own) < len(request.to_bytes())
    outcome = TaskRunRequest.outcome_from_bytes(execute_bytes(own, load_shared(shared)))
    whole = TaskRunRequest.outcome_from_bytes(execute_bytes(request.to_bytes()))
    assert outcome.state.result() == whole.state.result() == 3
    assert [type(r).__name__ for r in outcome.records] == [
        type(r).__name__ for r in whole.records
    ]


def test_a_task_defined_in_a_function_travels_in_the_shared_parts_by_value() -> None:
    offset = 40

    @task
    def shifted(x: int) -> int:
        return x + offset

    request = task_run_request(shifted, x=2)
    parts = load_shared(request.shared_bytes())
    assert parts[0] is not shifted and parts[0].name == "shifted"
    outcome = TaskRunRequest.outcome_from_bytes(
        execute_bytes(request.to_bytes(shared=False), parts)
    )
    assert outcome.state.result() == 42


def test_a_packed_request_runs_with_the_shared_parts_its_token_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import headwater.engine.execution as execution

    loaded: list[int] = []
    monkeypatch.setattr(execution, "load_shared",
                        lambda data: loaded.append(len(data)) or load_shared(data))
    one, two = task_run_request(add, x=1, y=2), task_run_request(add, x=5, y=6)
    data = one.shared_bytes()
    start = pack_shared(uuid.uuid4().bytes, data)
    results = [TaskRunRequest.outcome_from_bytes(execute_packed(start + r.to_bytes(shared=False)))
               .state.result() for r in (one, two, one)]
    assert results == [3, 11, 3]
    assert loaded == [len(data)]  # once for the token, the whole shared bytes and no more
    with pytest.raises(ValueError, match="16 bytes, not 3"):
        pack_shared(b"abc", data)


def test_an_unpicklable_task_says_so_when_its_shared_parts_are_made() -> None:
    lock = threading.Lock()

    @task
    def holds(x: Any) -> bool:
        return lock.locked()

    with pytest.raises(SerializationError, match=r"'holds' cannot be sent .* the task itself"):
        task_run_request(holds, x=1).shared_bytes()


def test_a_worker_loads_the_shared_parts_once_per_token_and_keeps_them() -> None:
    request = task_run_request(add, x=1, y=2)
    data = request.shared_bytes()
    fetched: list[str] = []

    def fetch(where: str) -> bytes:  # stands in for a cluster's object store
        fetched.append(where)
        return data

    token = uuid.uuid4().bytes
    results = [
        TaskRunRequest.outcome_from_bytes(
            execute_shared(token, (fetch, "store"), request.to_bytes(shared=False))
        ).state.result()
        for _ in range(3)
    ]
    assert results == [3, 3, 3] and fetched == ["store"]
    again = execute_shared(uuid.uuid4().bytes, data, request.to_bytes(shared=False))
    assert TaskRunRequest.outcome_from_bytes(again).state.result() == 3
