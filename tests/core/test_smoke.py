from headwater import flow, task
from headwater.events.memory import MemorySink


def test_a_flow_calling_a_task_records_both_runs(events: MemorySink) -> None:
    @task
    def add(x: int, y: int) -> int:
        return x + y

    @flow
    def adder() -> int:
        return add(1, 2)

    assert adder() == 3
    [flow_run] = events.flow_runs()
    [task_run] = events.task_runs()
    assert task_run.flow_run_id == flow_run.flow_run_id
    assert events.state_names(flow_run.flow_run_id) == ["Pending", "Running", "Completed"]
    assert events.state_names(task_run.task_run_id) == ["Pending", "Running", "Completed"]
