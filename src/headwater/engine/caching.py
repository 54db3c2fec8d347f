"""Deciding, per task run, whether and where its result is cached and persisted.

Prefect's rules: results are persisted only when asked (`persist_result`, a cache policy or
`cache_key_fn`, result storage options, or `HEADWATER_RESULTS_PERSIST_BY_DEFAULT`), and only
persisted results are cached. The default policy is INPUTS + TASK_SOURCE + RUN_ID: a cache per
flow run; drop RUN_ID (e.g. `cache_policy=INPUTS`) to share results across runs and processes.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from headwater.core.cache_policies import DEFAULT, NO_CACHE, CacheKeyFnPolicy, CachePolicy
from headwater.core.options import NotSet

if TYPE_CHECKING:
    from headwater.core.context import FlowRunContext, TaskRunContext
    from headwater.core.tasks import Task
    from headwater.results.records import ResultRecord
    from headwater.results.store import ResultStore


class CachePlan:
    """What one task run does about its result: the key, the store, locking, expiry."""

    __slots__ = ("expiration", "key", "lock_manager", "refresh", "store")

    def __init__(self, key: str | None, store: ResultStore, refresh: bool,
                 expiration: datetime | None, lock_manager: Any) -> None:
        self.key = key
        self.store = store
        self.refresh = refresh
        self.expiration = expiration
        self.lock_manager = lock_manager  # set only for SERIALIZABLE isolation

    def lookup(self, logger: logging.LoggerAdapter) -> tuple[bool, Any]:  # type: ignore[type-arg]
        """(True, value) on a hit; (False, None) on a miss, an expired or unreadable record."""
        if self.key is None or self.refresh:
            return False, None
        record: ResultRecord | None = self.store.read(self.key)
        if record is None:
            return False, None
        try:
            return True, record.value()
        except Exception as exc:
            logger.warning("Could not read the cached result %r (%r); running the task.",
                           self.key, exc)
            return False, None

    def save(self, value: Any, logger: logging.LoggerAdapter) -> None:  # type: ignore[type-arg]
        try:
            self.store.write(self.key, value, self.expiration)
        except Exception as exc:
            logger.warning(
                "The task completed, but its result could not be persisted to %s: %s",
                self.store.storage.location(self.key or "<new key>"), exc,
            )


def should_persist(task: Task[..., Any], flow_ctx: FlowRunContext | None) -> bool:
    if task.persist_result is not None:
        return task.persist_result
    if flow_ctx is not None:
        if getattr(flow_ctx.flow, "persist_result", None) is not None:
            return bool(flow_ctx.flow.persist_result)
        # Read the setting once per flow run, not once per task run.
        if flow_ctx.persist_by_default is None:
            flow_ctx.persist_by_default = _persist_by_default()
        return flow_ctx.persist_by_default
    return _persist_by_default()


def _persist_by_default() -> bool:
    from headwater import settings

    return settings.get_bool("HEADWATER_RESULTS_PERSIST_BY_DEFAULT", False)


def task_policy(task: Task[..., Any]) -> CachePolicy:
    """The policy a task caches with (before persistence is taken into account)."""
    if task.cache_key_fn is not None:
        return CacheKeyFnPolicy(cache_key_fn=task.cache_key_fn)
    if task.cache_policy is NotSet or task.cache_policy is None:
        return DEFAULT
    policy: CachePolicy = task.cache_policy
    return policy


def plan_caching(
    task: Task[..., Any], ctx: TaskRunContext, flow_ctx: FlowRunContext | None,
    logger: logging.LoggerAdapter,  # type: ignore[type-arg]
) -> CachePlan | None:
    """The cache plan of a run whose result is persisted (`should_persist` said so where the
    flow runs), or None when its cache key cannot be computed."""
    from headwater.results.serializers import get_serializer
    from headwater.results.storage import get_storage
    from headwater.results.store import ResultStore

    flow = flow_ctx.flow if flow_ctx is not None else None
    storage = get_storage(task.result_storage or getattr(flow, "result_storage", None))
    serializer = get_serializer(
        task.result_serializer or getattr(flow, "result_serializer", None)
    )
    policy = task_policy(task)
    key: str | None = None
    if task.result_storage_key is not None:
        key = task.result_storage_key.format(parameters=ctx.parameters, **ctx.parameters)
    elif policy is not NO_CACHE and not policy.is_no_cache:
        try:
            key = policy.compute_key(
                ctx, ctx.parameters, flow_ctx.parameters if flow_ctx is not None else {}
            )
        except Exception as exc:
            logger.error(
                "Error encountered when computing cache key - result will not be persisted. %s",
                exc, exc_info=(type(exc), exc, exc.__traceback__),
            )
            return None
    expiration = None
    if task.cache_expiration is not None:
        expiration = datetime.now(timezone.utc) + task.cache_expiration
    lock_manager = None
    if getattr(policy, "isolation", None) == "SERIALIZABLE" and key is not None:
        lock_manager = policy.lock_manager
        if lock_manager is None:
            from headwater.errors import OptionError

            raise OptionError(
                f"Task {task.name!r} asks for SERIALIZABLE caching but has no lock manager. "
                "Use cache_policy.configure(isolation_level='SERIALIZABLE', "
                "lock_manager=FileSystemLockManager(lock_files_directory=...)).",
                option="cache_policy",
                value=policy,
            )
    return CachePlan(key, ResultStore(storage, serializer), bool(task.refresh_cache),
                     expiration, lock_manager)
