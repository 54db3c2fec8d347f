"""Cache policies: what a task's cache key is made of.

    @task(cache_policy=INPUTS + TASK_SOURCE, cache_expiration=timedelta(hours=1))

`compute_key(task_ctx, inputs, flow_parameters)` returns a key, or None for "do not cache".
Policies combine with `+` (a key made of all of theirs); `INPUTS - "x"` leaves input x out.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from headwater.core.hashing import HashError, hash_objects
from headwater.errors import OptionError

ISOLATION_LEVELS = ("READ_COMMITTED", "SERIALIZABLE")


@dataclass
class CachePolicy:
    """Base class. Subclasses implement `compute_key`.

    Attributes:
        key_storage: where keys live if not beside results (kept for compatibility).
        isolation_level: "READ_COMMITTED" (default) or "SERIALIZABLE" (one computation per key
            at a time; needs a lock manager).
        lock_manager: e.g. `FileSystemLockManager(lock_files_directory=...)`.
    """

    key_storage: Any = None
    isolation_level: Any = None  # "READ_COMMITTED", "SERIALIZABLE" or an IsolationLevel
    lock_manager: Any = None

    is_no_cache = False

    @classmethod
    def from_cache_key_fn(cls, cache_key_fn: Callable[..., str | None]) -> CacheKeyFnPolicy:
        """A policy whose key is `cache_key_fn(task_ctx, inputs)`."""
        return CacheKeyFnPolicy(cache_key_fn=cache_key_fn)

    @property
    def isolation(self) -> str | None:
        """The isolation level as a name ("SERIALIZABLE"), whichever way it was given."""
        level = self.isolation_level
        return None if level is None else str(getattr(level, "value", level)).upper()

    def compute_key(
        self, task_ctx: Any, inputs: dict[str, Any], flow_parameters: dict[str, Any],
        **kwargs: Any,
    ) -> str | None:
        """The cache key for one call, or None to skip caching."""
        raise NotImplementedError

    def configure(
        self, key_storage: Any = None, lock_manager: Any = None, isolation_level: Any = None
    ) -> CachePolicy:
        """A copy with storage, locking or isolation changed (the isolation level is kept as
        given: a name or an `IsolationLevel`).

        Raises:
            OptionError: an isolation level other than READ_COMMITTED / SERIALIZABLE.
        """
        new = copy.deepcopy(self) if lock_manager is None else copy.copy(self)
        if key_storage is not None:
            new.key_storage = key_storage
        if lock_manager is not None:
            new.lock_manager = lock_manager
        if isolation_level is not None:
            level = str(getattr(isolation_level, "value", isolation_level)).upper()
            if level not in ISOLATION_LEVELS:
                raise OptionError(
                    f"isolation_level={isolation_level!r} is not one of {ISOLATION_LEVELS}.",
                    option="isolation_level",
                    value=isolation_level,
                )
            new.isolation_level = isolation_level
        return new

    def __add__(self, other: CachePolicy) -> CachePolicy:
        if not isinstance(other, CachePolicy):
            return NotImplemented
        if other.is_no_cache:
            return self
        self._check_addable(other)
        return CompoundCachePolicy(
            policies=[self, other],
            key_storage=self.key_storage or other.key_storage,
            isolation_level=self.isolation_level or other.isolation_level,
            lock_manager=self.lock_manager or other.lock_manager,
        )

    def _check_addable(self, other: CachePolicy) -> None:
        for attr, what in (("key_storage", "storage locations"),
                           ("isolation_level", "isolation levels"),
                           ("lock_manager", "lock implementations")):
            mine, theirs = getattr(self, attr), getattr(other, attr)
            if mine is not None and theirs is not None and mine != theirs:
                raise ValueError(f"Cannot add CachePolicies with different {what}.")

    def __sub__(self, name: str) -> CachePolicy:
        if not isinstance(name, str):
            raise TypeError("Can only subtract strings from key policies.")
        return self


@dataclass
class _None(CachePolicy):
    """Never cache."""

    is_no_cache = True

    def compute_key(self, task_ctx: Any, inputs: dict[str, Any],
                    flow_parameters: dict[str, Any], **kwargs: Any) -> str | None:
        return None

    def __add__(self, other: CachePolicy) -> CachePolicy:
        return other


@dataclass
class Inputs(CachePolicy):
    """The task's inputs, except those named in `exclude`."""

    exclude: list[str] = field(default_factory=list)

    def compute_key(self, task_ctx: Any, inputs: dict[str, Any],
                    flow_parameters: dict[str, Any], **kwargs: Any) -> str | None:
        if not inputs:
            return None
        hashed = {k: v for k, v in inputs.items() if k not in self.exclude}
        key = hash_objects(hashed)
        if key is not None:
            return key
        for name, value in hashed.items():  # find the culprit, to name it
            if hash_objects(value) is None:
                raise HashError(
                    f"Cannot compute a cache key: input {name!r} ({type(value).__name__} "
                    f"{value!r:.60}) cannot be hashed. This often happens with locks, open files "
                    f"or connections. Leave it out with cache_policy=INPUTS - {name!r}, write a "
                    "cache_key_fn, or pass cache_policy=NO_CACHE."
                )
        raise HashError("Cannot compute a cache key from the task's inputs.")

    def __sub__(self, name: str) -> CachePolicy:
        super().__sub__(name)
        return Inputs(exclude=[*self.exclude, name], key_storage=self.key_storage,
                      isolation_level=self.isolation_level, lock_manager=self.lock_manager)


@dataclass
class TaskSource(CachePolicy):
    """The task function's source code: editing the task invalidates its cache."""

    def compute_key(self, task_ctx: Any, inputs: dict[str, Any],
                    flow_parameters: dict[str, Any], **kwargs: Any) -> str | None:
        task = getattr(task_ctx, "task", None)
        if task is None:
            return None
        return hash_objects(source_of(task.fn))


@dataclass
class RunId(CachePolicy):
    """The flow run's id (the task run's own outside flows): a cache per flow run."""

    def compute_key(self, task_ctx: Any, inputs: dict[str, Any],
                    flow_parameters: dict[str, Any], **kwargs: Any) -> str | None:
        run = getattr(task_ctx, "task_run", None)
        if run is None:
            return None
        return str(run.flow_run_id or run.id)


@dataclass
class FlowParameters(CachePolicy):
    """The parameters of the flow run the task belongs to."""

    def compute_key(self, task_ctx: Any, inputs: dict[str, Any],
                    flow_parameters: dict[str, Any], **kwargs: Any) -> str | None:
        return hash_objects(flow_parameters) if flow_parameters else None


@dataclass
class CacheKeyFnPolicy(CachePolicy):
    """A user function `cache_key_fn(task_ctx, inputs) -> str | None`."""

    cache_key_fn: Callable[..., str | None] | None = None

    def compute_key(self, task_ctx: Any, inputs: dict[str, Any],
                    flow_parameters: dict[str, Any], **kwargs: Any) -> str | None:
        if self.cache_key_fn is None:
            return None
        return self.cache_key_fn(task_ctx, inputs)


@dataclass
class CompoundCachePolicy(CachePolicy):
    """Several policies; the key combines all of theirs (None if every part is None)."""

    policies: list[CachePolicy] = field(default_factory=list)

    def __post_init__(self) -> None:
        flat: list[CachePolicy] = []
        inputs: list[Inputs] = []
        for policy in self.policies:
            parts = policy.policies if isinstance(policy, CompoundCachePolicy) else [policy]
            for part in parts:
                (inputs if isinstance(part, Inputs) else flat).append(part)  # type: ignore[arg-type]
        if inputs:  # all Inputs merge into one, placed last, with the union of exclusions
            excluded = sorted({name for part in inputs for name in part.exclude})
            flat.append(Inputs(exclude=excluded))
        self.policies = flat

    def compute_key(self, task_ctx: Any, inputs: dict[str, Any],
                    flow_parameters: dict[str, Any], **kwargs: Any) -> str | None:
        keys = [p.compute_key(task_ctx, inputs, flow_parameters, **kwargs) for p in self.policies]
        keys = [k for k in keys if k is not None]
        return hash_objects(*keys) if keys else None

    def __add__(self, other: CachePolicy) -> CachePolicy:
        if not isinstance(other, CachePolicy):
            return NotImplemented
        # As Prefect: the parts are kept, NO_CACHE included (its key is None, so the key is
        # the same as without it).
        self._check_addable(other)
        return CompoundCachePolicy(
            policies=[*self.policies, *(other.policies if isinstance(other, CompoundCachePolicy)
                                        else [other])],
            key_storage=self.key_storage or other.key_storage,
            isolation_level=self.isolation_level or other.isolation_level,
            lock_manager=self.lock_manager or other.lock_manager,
        )

    def __sub__(self, name: str) -> CachePolicy:
        super().__sub__(name)
        return CompoundCachePolicy(
            policies=[p - name if isinstance(p, Inputs) else p for p in self.policies],
            key_storage=self.key_storage, isolation_level=self.isolation_level,
            lock_manager=self.lock_manager,
        )


_SOURCES: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def source_of(fn: Any) -> str:
    """The source of `fn`, or its bytecode when the source is not available (e.g. a REPL).
    Read once per function: the code a function object runs does not change."""
    try:
        return _SOURCES[fn]
    except (KeyError, TypeError):
        pass
    try:
        source = inspect.getsource(fn)
    except (OSError, TypeError):
        code = getattr(fn, "__code__", None)
        source = code.co_code.hex() if code is not None else repr(fn)
    with contextlib.suppress(TypeError):  # not every callable can be weakly referenced
        _SOURCES[fn] = source
    return source


NO_CACHE = _None()
NONE = _None()
INPUTS = Inputs()
TASK_SOURCE = TaskSource()
RUN_ID = RunId()
FLOW_PARAMETERS = FlowParameters()
DEFAULT = INPUTS + TASK_SOURCE + RUN_ID
