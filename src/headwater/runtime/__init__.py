"""Facts about the run the current code belongs to: `flow_run` and `task_run`."""

from headwater.runtime import flow_run, task_run

__all__ = ["flow_run", "task_run"]
