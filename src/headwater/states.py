"""States and their constructors: `Completed()`, `Failed(message=...)`, ..."""

from headwater.core.states import (
    AwaitingRetry,
    Cached,
    Cancelled,
    Cancelling,
    Completed,
    Crashed,
    Failed,
    Late,
    NotReady,
    Paused,
    Pending,
    Retrying,
    Running,
    Scheduled,
    State,
    StateDetails,
    StateType,
    Suspended,
    TimedOut,
    get_state_exception,
)

__all__ = [
    "AwaitingRetry", "Cached", "Cancelled", "Cancelling", "Completed", "Crashed", "Failed",
    "Late", "NotReady", "Paused", "Pending", "Retrying", "Running", "Scheduled", "State",
    "StateDetails", "StateType", "Suspended", "TimedOut", "get_state_exception",
]
