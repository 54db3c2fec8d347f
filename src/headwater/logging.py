"""Run loggers: `get_run_logger()` inside flows and tasks."""

from headwater.engine.logs import get_run_logger as get_run_logger

__all__ = ["get_run_logger"]
