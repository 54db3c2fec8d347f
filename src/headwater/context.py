"""Run contexts: `get_run_context()`, `tags(...)` and the context classes."""

from headwater.core.context import FlowRunContext as FlowRunContext
from headwater.core.context import TaskRunContext as TaskRunContext
from headwater.core.context import get_run_context as get_run_context
from headwater.core.context import tags as tags

__all__ = ["FlowRunContext", "TaskRunContext", "get_run_context", "tags"]
