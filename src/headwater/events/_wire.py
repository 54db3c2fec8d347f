"""The wire form's names as the writers use them; the codec itself is `codec.py`."""

from __future__ import annotations

from headwater.events.codec import (
    ENCODERS,
    FINAL_TYPES,
    KINDS,
    encode,
    marshallable,
    stamp,
)

__all__ = ["CONTROL_SECONDS", "ENCODERS", "FINAL_TYPES", "encode", "marshallable", "stamp"]

# How often a writer (process or thread) asks the store whether a flow run it is recording was
# asked to stop (`headwater runs cancel`): one indexed query, only while flow runs are running.
CONTROL_SECONDS = 0.25

FLOW = KINDS["FlowRunCreated"]
TASK = KINDS["TaskRunCreated"]
STATE = KINDS["StateChanged"]
RENAME = KINDS["RunRenamed"]
LOG = KINDS["LogEmitted"]
DEPENDENCY = KINDS["DependencyAdded"]
EVENT = KINDS["Event"]
