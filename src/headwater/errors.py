"""Every exception headwater raises, in one tree.

    HeadwaterError
    ├── OptionError (+ ValueError)            a decorator option has a bad value
    │   ├── InvalidNameError                   a name holds a forbidden character
    │   └── RunNameError (+ TypeError)         a run-name template or callable failed
    ├── ReservedArgumentError (+ TypeError)    a function uses `return_state` or `wait_for`
    ├── ParameterBindError (+ TypeError)       a call does not match the function's signature
    ├── ParameterTypeError (+ TypeError)       a flow parameter failed validation
    ├── MissingContextError (+ RuntimeError)   a run-only API was used outside a run
    ├── SubmissionError (+ RuntimeError)       .submit/.map with nowhere to send the work
    ├── MappingError (+ ValueError)            .map got arguments it cannot map over
    │   ├── MappingLengthMismatch              iterables of different lengths
    │   └── MappingMissingIterable             no iterable argument at all
    ├── SerializationError (+ TypeError)       a task, argument or result cannot be pickled
    ├── SelfDependencyError (+ ValueError)     a task run would wait for its own result
    ├── UpstreamTaskError                      an upstream run did not complete
    ├── SettingError (+ ValueError)            a HEADWATER_* variable holds a bad value
    │   └── ConfigurationError                 options that cannot work together
    ├── ScheduleError (+ ValueError)           a cron, interval, rrule or time zone is bad
    ├── DeploymentError (+ ValueError)         a deployment or serve option is bad
    ├── MissingResult                          a completed state carries no data
    ├── RunStateError                          a run's result is not available
    │   ├── UnfinishedRun                      ... because it has not finished
    │   ├── PausedRun                          ... because it is paused
    │   ├── FailedRun                          ... because it failed without an exception
    │   ├── CrashedRun                         ... because it crashed
    │   └── CancelledRun                       ... because it was cancelled
    ├── RunTimeoutError (+ TimeoutError)
    │   ├── TaskRunTimeoutError                a task exceeded `timeout_seconds`
    │   └── FlowRunTimeoutError                a flow exceeded `timeout_seconds`
    ├── StoreError                             the run store cannot do what was asked
    │   ├── StoreUnavailableError              ... it cannot be opened, reached or written
    │   │   └── StoreCorruptError                  ... its database file is damaged
    │   ├── RunNotFoundError (+ LookupError)   ... no run has the given id
    │   ├── RunFinishedError                   ... the run is final: it cannot be cancelled
    │   ├── DeploymentNotFoundError (+ LookupError) ... no deployment has the given name
    │   └── AssetNotFoundError (+ LookupError) ... no asset has the given key
    ├── UnsupportedPrefectFeature (+ ImportError, NotImplementedError)
    │                                          a Prefect feature headwater does not have
    └── CommandError                           a `headwater` command got input it cannot use
        ├── FlowFileNotFoundError              `run file.py:flow` names a missing file
        ├── FlowFileError                      ... or a file that fails to import
        ├── FlowNotFoundError                  ... or a flow the file does not define
        └── ParameterParseError (+ ValueError) a `--param` or duration is malformed

Exceptions that subclass a builtin too can be caught either way: code written for Prefect
that catches `TypeError` or `TimeoutError` keeps working.
"""

from __future__ import annotations

from typing import Any


class HeadwaterError(Exception):
    """The root of every error headwater raises."""


class OptionError(HeadwaterError, ValueError):
    """A decorator option has a value headwater cannot use.

    Attributes:
        option: the option's name, e.g. ``"retries"``.
        value: the value that was given.
    """

    def __init__(self, message: str, *, option: str = "", value: Any = None) -> None:
        super().__init__(message)
        self.option = option
        self.value = value


class InvalidNameError(OptionError):
    """A flow or task name contains a character that is not allowed."""


class RunNameError(OptionError, TypeError):
    """A `flow_run_name` / `task_run_name` template could not be filled in, or its callable
    returned something other than a string."""


class OptionTypeError(OptionError, TypeError):
    """A decorator option was given a value of the wrong type (Prefect raises TypeError)."""


class ReservedArgumentError(HeadwaterError, TypeError):
    """A decorated function uses a parameter name the engine reserves for itself."""


class ParameterBindError(HeadwaterError, TypeError):
    """The arguments of a call do not fit the function's signature."""


class ParameterTypeError(HeadwaterError, TypeError):
    """One or more flow parameters failed validation against their type hints.

    Attributes:
        errors: one dict per problem with ``parameter``, ``expected``, ``value`` and ``message``.
    """

    def __init__(self, message: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


class MissingContextError(HeadwaterError, RuntimeError):
    """An API that needs a running flow or task was called outside one."""


class SubmissionError(HeadwaterError, RuntimeError):
    """Work was submitted where there is no task runner to send it to."""


class MappingError(HeadwaterError, ValueError):
    """`.map` was called with arguments it cannot map over."""


class MappingLengthMismatch(MappingError):
    """The iterables passed to `.map` have different lengths."""


class MappingMissingIterable(MappingError):
    """`.map` was called without any iterable argument."""


class SerializationError(HeadwaterError, TypeError):
    """A task, one of its arguments or its result cannot be sent to another process."""


class SelfDependencyError(HeadwaterError, ValueError):
    """A task run asked to wait for its own result, which would never come.

    Attributes:
        task_run_id: the run that would have waited for itself.
    """

    def __init__(self, message: str, *, task_run_id: Any = None) -> None:
        super().__init__(message)
        self.task_run_id = task_run_id


class UpstreamTaskError(HeadwaterError):
    """A run this one depends on did not reach a Completed state."""


class SettingError(HeadwaterError, ValueError):
    """An environment setting holds a value headwater cannot use."""


class ConfigurationError(SettingError):
    """Options that cannot work together, e.g. a SERIALIZABLE transaction whose store has no
    lock manager (Prefect's `ConfigurationError`)."""


class ScheduleError(HeadwaterError, ValueError):
    """A schedule was given a cron string, interval, rrule or time zone it cannot use.

    Attributes:
        value: the value that was given.
    """

    def __init__(self, message: str, *, value: Any = None) -> None:
        super().__init__(message)
        self.value = value


class DeploymentError(HeadwaterError, ValueError):
    """`flow.serve`, `flow.to_deployment` or `serve` got an option it cannot use.

    Attributes:
        option: the option's name. value: the value that was given.
    """

    def __init__(self, message: str, *, option: str = "", value: Any = None) -> None:
        super().__init__(message)
        self.option = option
        self.value = value


class MissingResult(HeadwaterError):
    """A completed state carries no result data."""


class RunStateError(HeadwaterError):
    """A run's result was asked for, but the run's state does not hold one."""


class UnfinishedRun(RunStateError):
    """The run has not reached a final state yet."""


class PausedRun(RunStateError):
    """The run is paused."""


class FailedRun(RunStateError):
    """The run failed without leaving an exception to re-raise."""


class CrashedRun(RunStateError):
    """The run crashed: the process or thread running it was interrupted."""


class CancelledRun(RunStateError):
    """The run was cancelled."""


class RunTimeoutError(HeadwaterError, TimeoutError):
    """A run exceeded its `timeout_seconds`."""


class TaskRunTimeoutError(RunTimeoutError):
    """A task run exceeded its `timeout_seconds`."""


class FlowRunTimeoutError(RunTimeoutError):
    """A flow run exceeded its `timeout_seconds`."""


class StoreError(HeadwaterError):
    """The run store cannot do what was asked."""


class StoreUnavailableError(StoreError):
    """The run store cannot be opened, reached or written (bad URL, disk full, database down).

    Attributes:
        url: the store's URL, without its password.
    """

    def __init__(self, message: str, *, url: str = "") -> None:
        super().__init__(message)
        self.url = url


class StoreConfigurationError(StoreUnavailableError):
    """The run store is configured in a way no retry can fix (a URL headwater cannot use, a
    missing database driver): writers stop trying at once rather than wait for it to heal."""


class StoreCorruptError(StoreUnavailableError):
    """The run store's database file is damaged: headwater stops rather than write into it.
    `headwater db check` says what is damaged; `headwater db reset` moves the file aside.

    Attributes:
        url: the store's URL, without its password.
        path: the database file.
    """

    def __init__(self, message: str, *, url: str = "", path: str = "") -> None:
        super().__init__(message, url=url)
        self.path = path


class RunNotFoundError(StoreError, LookupError):
    """No run in the store has the id (or id prefix) that was given.

    Attributes:
        run_id: the id as given.
    """

    def __init__(self, message: str, *, run_id: str = "") -> None:
        super().__init__(message)
        self.run_id = run_id


class ResumeError(HeadwaterError):
    """A flow run cannot be resumed (it is running, completed, a subflow, another flow's).

    Attributes:
        run_id: the run's id, as given or found.
    """

    def __init__(self, message: str, *, run_id: str = "") -> None:
        super().__init__(message)
        self.run_id = run_id


class RunFinishedError(StoreError):
    """The run is already in a final state, so it cannot be cancelled.

    Attributes:
        run_id: the run's id. state: the name of its final state.
    """

    def __init__(self, message: str, *, run_id: str = "", state: str = "") -> None:
        super().__init__(message)
        self.run_id = run_id
        self.state = state


class DeploymentNotFoundError(StoreError, LookupError):
    """No deployment in the store has the name (`flow/deployment`) or id that was given.

    Attributes:
        name: the name as given.
    """

    def __init__(self, message: str, *, name: str = "") -> None:
        super().__init__(message)
        self.name = name


class AssetNotFoundError(StoreError, LookupError):
    """No asset in the store has the key that was given.

    Attributes:
        key: the key as given.
        suggestions: stored keys close to it, best first (may be empty).
    """

    def __init__(self, message: str, *, key: str = "", suggestions: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.key = key
        self.suggestions = suggestions


class UnsupportedPrefectFeature(HeadwaterError, ImportError, NotImplementedError):
    """A Prefect name, module or method that headwater does not provide; the message says
    what to use instead.

    An ImportError, so `from prefect import x` shows this message instead of Python's generic
    "cannot import name"; a NotImplementedError, for the methods that exist only to say so
    (`flow.deploy(...)`, `task.delay(...)`).
    """


class CommandError(HeadwaterError):
    """A `headwater` command was given input it cannot use; the message says what to fix."""


class FlowFileNotFoundError(CommandError):
    """`headwater run path.py:flow` names a file that does not exist."""


class FlowFileError(CommandError):
    """`headwater run path.py:flow` names a file whose import raised; the message holds the
    user's own traceback.

    Attributes:
        path: the file.
    """

    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(message)
        self.path = path


class FlowNotFoundError(CommandError):
    """`headwater run path.py:flow` names a flow the file does not define."""


class ParameterParseError(CommandError, ValueError):
    """A `--param key=value` or a duration such as `30d` is malformed."""
