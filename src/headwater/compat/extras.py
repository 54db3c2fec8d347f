"""Small Prefect helpers served by the shim that headwater has no module of its own for.

- `prefect.testing.utilities.prefect_test_harness`: runs recorded in memory for the block.
- `prefect.logging.get_logger` / `disable_run_logger`.
- `prefect.states.raise_state_exception` and `StateGroup`.
- Prefect exception classes headwater raises none of, so `except` clauses naming them work.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from headwater.core.states import State, StateType, get_state_exception
from headwater.errors import HeadwaterError

# -- testing --------------------------------------------------------------------------------------


@contextmanager
def prefect_test_harness(server_startup_timeout: int | None = 30) -> Iterator[None]:
    """Record runs in memory, with results under a throwaway home, for the block.

    Prefect starts a temporary API server here; headwater needs none, so this only keeps
    tests' runs and results out of the real store and home.
    """
    saved = {k: os.environ.get(k) for k in ("HEADWATER_STORE", "HEADWATER_HOME")}
    with tempfile.TemporaryDirectory(prefix="headwater-test-harness-") as home:
        os.environ.update(HEADWATER_STORE="memory", HEADWATER_HOME=home)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


# -- logging --------------------------------------------------------------------------------------


def get_logger(name: str | None = None) -> logging.Logger:
    """A logger under `prefect.` (or `prefect` itself), as Prefect's `get_logger`."""
    return logging.getLogger(f"prefect.{name}" if name else "prefect")


@contextmanager
def disable_run_logger() -> Iterator[None]:
    """Silence run loggers for the block (for calling `task.fn(...)` in unit tests)."""
    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        yield
    finally:
        logging.disable(previous)


# -- states ---------------------------------------------------------------------------------------


def raise_state_exception(state: State) -> None:
    """Raise the exception of a failed, crashed or cancelled state; do nothing otherwise."""
    if state.type in (StateType.FAILED, StateType.CRASHED, StateType.CANCELLED):
        raise get_state_exception(state)


class StateGroup:
    """Counts of a group of states, as Prefect's `StateGroup`."""

    def __init__(self, states: Iterable[State]) -> None:
        self.states = list(states)
        self.type_counts: dict[StateType, int] = {}
        for state in self.states:
            self.type_counts[state.type] = self.type_counts.get(state.type, 0) + 1

    @property
    def fail_count(self) -> int:
        return (self.type_counts.get(StateType.FAILED, 0)
                + self.type_counts.get(StateType.CRASHED, 0))

    def all_completed(self) -> bool:
        return self.type_counts.get(StateType.COMPLETED, 0) == len(self.states)

    def any_cancelled(self) -> bool:
        return StateType.CANCELLED in self.type_counts

    def any_failed(self) -> bool:
        return self.fail_count > 0

    def all_final(self) -> bool:
        return all(state.is_final() for state in self.states)

    def counts_message(self) -> str:
        counts = ", ".join(f"{n!r} {t.value}" for t, n in self.type_counts.items())
        return f"total={len(self.states)} {{{counts}}}"


# -- exceptions headwater never raises, for `except` clauses -------------------------------------
class ObjectNotFound(HeadwaterError):
    """Prefect's API found no such object (never raised by headwater: it has no API client)."""


class ObjectAlreadyExists(HeadwaterError):
    """Prefect's API already has such an object (never raised by headwater)."""


class ScriptError(HeadwaterError):
    """A script failed to load (headwater raises FlowFileError)."""


class SignatureMismatchError(HeadwaterError, TypeError):
    """Parameters do not match a signature (headwater raises ParameterBindError)."""


class PrefectSignal(BaseException):
    """Prefect's base of control-flow signals."""


class TerminationSignal(PrefectSignal):
    """Prefect's signal that the process was asked to stop."""


class Abort(HeadwaterError):
    """Prefect's signal to stop a run without failing it."""


class Pause(HeadwaterError):
    """Prefect's signal to pause a run (headwater cannot pause runs)."""
