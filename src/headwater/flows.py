"""Flows: `@flow` and the `Flow` class."""

from headwater.core.flows import Flow as Flow
from headwater.core.flows import flow as flow

__all__ = ["Flow", "flow"]
