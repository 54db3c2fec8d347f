"""States: what a run is doing or how it ended.

A `State` has a type (one of `StateType`), a name that refines it (`Cached` is a COMPLETED state,
`Retrying` a RUNNING one), an optional message, a timestamp and, once final, its data: the return
value or the exception. The constructors below (`Completed()`, `Failed()`, ...) are the ones
Prefect users know; `str(state)` prints the way Prefect prints, e.g. `Cached(type=COMPLETED)`.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from headwater.core._details import _NO_DATA as _NO_DATA
from headwater.core._details import StateDetails as StateDetails
from headwater.core._details import _details as _details  # named by pickles of earlier versions
from headwater.core._loops import in_running_loop
from headwater.errors import (
    CancelledRun,
    CrashedRun,
    FailedRun,
    MissingResult,
    PausedRun,
    UnfinishedRun,
)

if TYPE_CHECKING:
    from uuid import UUID


class StateType(str, enum.Enum):
    """The kind of a state. Its value is the upper-case name, as in Prefect."""

    SCHEDULED = "SCHEDULED"
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    CRASHED = "CRASHED"
    PAUSED = "PAUSED"
    CANCELLING = "CANCELLING"

    def __str__(self) -> str:
        return self.value


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_DEFAULT_NAMES = {kind: kind.value.title() for kind in StateType}
FINAL_TYPES = frozenset(
    {StateType.COMPLETED, StateType.FAILED, StateType.CRASHED, StateType.CANCELLED}
)
# `str(state)` of a state without a message, by state name: (its type, the text). The engine
# writes "Finished in state Completed()" for every run at INFO; a few distinct names in practice
# (bounded all the same: custom names past 256 are not kept).
_PLAIN_TEXT: dict[str, tuple[StateType, str]] = {}


class State:
    """One state of a flow or task run.

    Args:
        type: the state's `StateType`.
        name: a refinement of the type; defaults to the title-cased type ("Completed").
        message: a human-readable reason, e.g. why the run failed.
        data: the run's return value, or the exception it raised.
        state_details: links to the run and scheduling facts.
        timestamp: seconds since the epoch; defaults to now.
    """

    # `_details` is made when first read (`state_details`): the engine makes three states per
    # task run and most are never asked for theirs, so it keeps the run's ids (and run count)
    # in the state itself until then: one object less per state, to build and to collect.
    __slots__ = ("_data", "_details", "_flow_run_id", "_run_count", "_task_run_id", "message",
                 "name", "timestamp_s", "type")

    def __init__(
        self,
        type: StateType,
        name: str | None = None,
        message: str | None = None,
        data: Any = _NO_DATA,
        state_details: StateDetails | None = None,
        timestamp: float | None = None,
    ) -> None:
        self.type = type if type.__class__ is StateType else StateType(type)
        self.name = name or _DEFAULT_NAMES[self.type]
        self.message = message
        self._data = data
        self._details: StateDetails | None = state_details
        self._flow_run_id: UUID | None = None
        self._task_run_id: UUID | None = None
        self._run_count: int | None = None
        self.timestamp_s = time.time() if timestamp is None else timestamp

    @property
    def state_details(self) -> StateDetails:
        """Links to the run and scheduling facts."""
        details = self._details
        if details is None:
            details = self._details = _new(StateDetails)
            details.flow_run_id = self._flow_run_id
            details.task_run_id = self._task_run_id
            details.run_count = self._run_count
            details.scheduled_time = details.cache_key = details.cache_expiration = None
            details.retriable = None
        return details

    @state_details.setter
    def state_details(self, details: StateDetails) -> None:
        self._details = details

    def __reduce__(self) -> tuple[Any, ...]:
        # A task run's states travel back from its worker with every outcome (three of them,
        # and each again inside its record): as their fields, the type by its value, and the
        # details as the run's ids and count alone when that is all they hold.
        details = self._details
        if details is None:
            ids: tuple[Any, ...] = (self._flow_run_id, self._task_run_id, self._run_count)
        elif (details.scheduled_time is None and details.cache_key is None
              and details.cache_expiration is None and details.retriable is None):
            ids = (details.flow_run_id, details.task_run_id, details.run_count)
        else:
            return (_state, (self.type._value_, self.name, self.message, self._data,
                             self.timestamp_s, details))
        return (_state, (self.type._value_, self.name, self.message, self._data,
                         self.timestamp_s, None, *ids))

    # -- data ---------------------------------------------------------------------------------
    @property
    def data(self) -> Any:
        """The stored return value or exception; None when the state carries none."""
        return None if self._data is _NO_DATA else self._data

    @property
    def has_data(self) -> bool:
        return self._data is not _NO_DATA

    @property
    def timestamp(self) -> datetime:
        """When the run entered this state, as an aware UTC datetime (floored to the µs, as
        `datetime.now()` is, so it never reads later than a clock read after it)."""
        return _EPOCH + timedelta(microseconds=int(self.timestamp_s * 1_000_000))

    def result(self, raise_on_failure: bool = True, retry_result_failure: bool = True) -> Any:
        """The run's return value; called inside a running event loop, a coroutine of it (as
        in Prefect: `await state.result()` in async code). See `_result` for the rules.
        `retry_result_failure` is accepted for Prefect code; results are read once.
        """
        if in_running_loop():
            return self.aresult(raise_on_failure)
        return self._result(raise_on_failure)

    async def aresult(self, raise_on_failure: bool = True) -> Any:
        """`result`, to await."""
        return self._result(raise_on_failure)

    def _result(self, raise_on_failure: bool = True) -> Any:
        """The run's return value.

        Args:
            raise_on_failure: for a Failed, Crashed or Cancelled state, raise the run's exception
                (True, the default) or return it (False).

        Raises:
            UnfinishedRun: the state is not final, so there is no result yet.
            PausedRun: the run is paused.
            MissingResult: a completed state that carries no data.
            Exception: the run's own exception, for failed states with `raise_on_failure`.
        """
        if self.type is StateType.PAUSED:
            raise PausedRun("Run is paused, its result is not available.")
        if self.type not in FINAL_TYPES:
            raise UnfinishedRun(
                f"Run is in {self.type.value} state, its result is not available."
            )
        if self.type is not StateType.COMPLETED:
            if raise_on_failure:
                raise get_state_exception(self)
            if self._data is not _NO_DATA and self._data is not None:
                return self._data  # e.g. the states an aggregate was built from
            details = self.state_details
            if self._data is None and (details.task_run_id or details.flow_run_id):
                return None  # a run returned a Failed state without data: its result is None
            return get_state_exception(self)
        if self._data is _NO_DATA:
            raise MissingResult(
                "State data is missing: this state was built without a result. "
                "Pass data=... when you create a Completed state by hand."
            )
        return self._data

    # -- predicates ---------------------------------------------------------------------------
    def is_scheduled(self) -> bool:
        return self.type is StateType.SCHEDULED

    def is_pending(self) -> bool:
        return self.type is StateType.PENDING

    def is_running(self) -> bool:
        return self.type is StateType.RUNNING

    def is_completed(self) -> bool:
        return self.type is StateType.COMPLETED

    def is_failed(self) -> bool:
        return self.type is StateType.FAILED

    def is_crashed(self) -> bool:
        return self.type is StateType.CRASHED

    def is_cancelled(self) -> bool:
        return self.type is StateType.CANCELLED

    def is_cancelling(self) -> bool:
        return self.type is StateType.CANCELLING

    def is_paused(self) -> bool:
        return self.type is StateType.PAUSED

    def is_final(self) -> bool:
        return self.type in FINAL_TYPES

    # -- display ------------------------------------------------------------------------------
    def __str__(self) -> str:
        if self.message is None:  # the usual case, "Completed()": made once per name and type
            known = _PLAIN_TEXT.get(self.name)
            if known is not None and known[0] is self.type:
                return known[1]
        parts = []
        if self.message:
            parts.append(repr(self.message))
        if self.name.upper() != self.type.value:
            parts.append(f"type={self.type.value}")
        text = f"{self.name}({', '.join(parts)})"
        if self.message is None and len(_PLAIN_TEXT) < 256 and self.name.__class__ is str:
            _PLAIN_TEXT[self.name] = (self.type, text)
        return text

    def __repr__(self) -> str:
        data = "None" if self._data is _NO_DATA else repr(self._data)
        if len(data) > 200:
            data = data[:197] + "..."
        return (
            f"{self.name}(message={self.message!r}, type={self.type.value}, result={data})"
        )

    def copy(self, **changes: Any) -> State:
        """A new state with the same fields, except those given."""
        fields: dict[str, Any] = {
            "type": self.type,
            "name": self.name,
            "message": self.message,
            "data": self._data,
            "state_details": self.state_details,
            "timestamp": self.timestamp_s,
        }
        fields.update(changes)
        return State(**fields)


# -- constructors -------------------------------------------------------------------------------
def Scheduled(scheduled_time: float | None = None, **kwargs: Any) -> State:
    details = kwargs.pop("state_details", None) or StateDetails()
    details.scheduled_time = scheduled_time if scheduled_time is not None else time.time()
    return State(StateType.SCHEDULED, state_details=details, **kwargs)


def AwaitingRetry(scheduled_time: float | None = None, **kwargs: Any) -> State:
    kwargs.setdefault("name", "AwaitingRetry")
    return Scheduled(scheduled_time, **kwargs)


def Late(scheduled_time: float | None = None, **kwargs: Any) -> State:
    kwargs.setdefault("name", "Late")
    return Scheduled(scheduled_time, **kwargs)


def Pending(**kwargs: Any) -> State:
    return State(StateType.PENDING, **kwargs)


def NotReady(**kwargs: Any) -> State:
    kwargs.setdefault("name", "NotReady")
    return State(StateType.PENDING, **kwargs)


def Running(**kwargs: Any) -> State:
    return State(StateType.RUNNING, **kwargs)


def Retrying(**kwargs: Any) -> State:
    kwargs.setdefault("name", "Retrying")
    return State(StateType.RUNNING, **kwargs)


def Completed(**kwargs: Any) -> State:
    return State(StateType.COMPLETED, **kwargs)


def Cached(**kwargs: Any) -> State:
    kwargs.setdefault("name", "Cached")
    return State(StateType.COMPLETED, **kwargs)


def Failed(**kwargs: Any) -> State:
    return State(StateType.FAILED, **kwargs)


def TimedOut(**kwargs: Any) -> State:
    kwargs.setdefault("name", "TimedOut")
    return State(StateType.FAILED, **kwargs)


def Crashed(**kwargs: Any) -> State:
    return State(StateType.CRASHED, **kwargs)


def Cancelling(**kwargs: Any) -> State:
    return State(StateType.CANCELLING, **kwargs)


def Cancelled(**kwargs: Any) -> State:
    return State(StateType.CANCELLED, **kwargs)


def Paused(**kwargs: Any) -> State:
    return State(StateType.PAUSED, **kwargs)


def Suspended(**kwargs: Any) -> State:
    kwargs.setdefault("name", "Suspended")
    return State(StateType.PAUSED, **kwargs)


# -- decisions shared by the flow and task engines ------------------------------------------------
def is_state_iterable(value: Any) -> bool:
    """True for a non-empty list, tuple or set made only of States (dicts do not count)."""
    return (
        isinstance(value, (list, tuple, set))
        and len(value) > 0
        and all(isinstance(item, State) for item in value)
    )


def get_state_exception(state: State) -> BaseException:
    """The exception that stands for a Failed, Crashed or Cancelled state."""
    data = state.data
    if isinstance(data, BaseException):
        return data
    if isinstance(data, State):
        return get_state_exception(data)
    if is_state_iterable(data):
        for inner in data:
            if inner.type in (StateType.FAILED, StateType.CRASHED, StateType.CANCELLED):
                return get_state_exception(inner)
    if data is None or isinstance(data, str):
        text = data if isinstance(data, str) else state.message
        if state.type is StateType.CRASHED:
            return CrashedRun(text or "Run crashed.")
        if state.type is StateType.CANCELLED:
            return CancelledRun(text or "Run cancelled.")
        return FailedRun(text or "Run failed.")
    return TypeError(f"Unexpected result for failed state: {data!r}")


def exception_to_failed_state(exc: BaseException, prefix: str) -> State:
    """A Failed state holding `exc`, with a message such as `'<prefix> ValueError: x'`."""
    return Failed(message=f"{prefix} {type(exc).__name__}: {exc}", data=exc)


_CRASH_MESSAGES = {
    KeyboardInterrupt: "Execution was aborted by an interrupt signal.",
    SystemExit: "Execution was aborted by Python system exit call.",
}


def exception_to_crashed_state(exc: BaseException) -> State:
    """A Crashed state for an interrupt or an error that escaped the engine itself."""
    if type(exc).__name__ == "TerminationSignal":
        return Crashed(message="Execution was aborted by a termination signal.", data=exc)
    for kind, message in _CRASH_MESSAGES.items():
        if isinstance(exc, kind):
            return Crashed(message=message, data=exc)
    return Crashed(
        message=f"Execution was interrupted by an unexpected exception: "
        f"{type(exc).__name__}: {exc}",
        data=exc,
    )


def aggregate_states(states: Iterable[State], returned: Any) -> State:
    """The state of a run that returned several states: the rule Prefect applies.

    All completed → Completed; any cancelled → Cancelled; any paused → Paused; otherwise Failed.
    The aggregate's data is the returned object itself.
    """
    states = list(states)
    total = len(states)
    counts: dict[StateType, int] = {}
    for state in states:
        counts[state.type] = counts.get(state.type, 0) + 1
    if counts.get(StateType.COMPLETED, 0) == total:
        return Completed(message="All states completed.", data=returned)
    if StateType.CANCELLED in counts:
        n = counts[StateType.CANCELLED]
        return Cancelled(message=f"{n}/{total} states cancelled.", data=returned)
    if StateType.PAUSED in counts:
        n = counts[StateType.PAUSED]
        return Paused(message=f"{n}/{total} states paused.", data=returned)
    failed = counts.get(StateType.FAILED, 0) + counts.get(StateType.CRASHED, 0)
    if failed:
        return Failed(message=f"{failed}/{total} states failed.", data=returned)
    unfinished = sum(n for kind, n in counts.items() if kind not in FINAL_TYPES)
    return Failed(message=f"{unfinished}/{total} states are not final.", data=returned)


_new = object.__new__


_TYPE_OF = {kind._value_: kind for kind in StateType}


def _state(
    kind: str, name: str, message: str | None, data: Any, timestamp: float,
    details: StateDetails | None, flow_run_id: UUID | None = None,
    task_run_id: UUID | None = None, run_count: int | None = None,
) -> State:
    """A state as `State.__reduce__` sent it: its details made when first read, as a state the
    engine makes (`run_state`), unless they hold more than the run's ids and count."""
    state = _new(State)
    state.type = _TYPE_OF[kind]
    state.name = name
    state.message = message
    state._data = data
    state._details = details
    state._flow_run_id = flow_run_id
    state._task_run_id = task_run_id
    state._run_count = run_count
    state.timestamp_s = timestamp
    return state


def run_state(kind: StateType, name: str, flow_run_id: UUID | None, task_run_id: UUID | None,
              data: Any = _NO_DATA) -> State:
    """`State(kind, name, data=data)` with its run's ids in its details, made without the
    keyword handling of the constructors: the engine makes three per task run."""
    state = _new(State)
    state.type = kind
    state.name = name
    state.message = None
    state._data = data
    state._details = state._run_count = None  # details made when first read
    state._flow_run_id = flow_run_id
    state._task_run_id = task_run_id
    state.timestamp_s = time.time()
    return state


def plain_value(value: Any) -> bool:
    """Whether a run that returned `value` simply completed with it (no States inside)."""
    return not isinstance(value, State) and not is_state_iterable(value)


def return_value_to_state(value: Any) -> State:
    """The final state of a run whose function returned `value`.

    A State made by hand (not linked to a run) is used as it is; a State of another run, or a
    list/tuple/set of States, is aggregated; anything else is `Completed` with `value` as data.
    """
    if isinstance(value, State):
        details = value.state_details
        if details.flow_run_id is None and details.task_run_id is None:
            if value._data is _NO_DATA:  # a hand-made state's result is its (None) data
                value._data = None
            return value
        return aggregate_states([value], value)
    if is_state_iterable(value):
        return aggregate_states(value, value)
    return Completed(data=value)
