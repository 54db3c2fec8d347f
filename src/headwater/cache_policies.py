"""Cache policies for `@task(cache_policy=...)`: INPUTS, TASK_SOURCE, RUN_ID, FLOW_PARAMETERS,
NO_CACHE, DEFAULT (= INPUTS + TASK_SOURCE + RUN_ID), combined with `+`."""

from headwater.core.cache_policies import (
    DEFAULT,
    FLOW_PARAMETERS,
    INPUTS,
    NO_CACHE,
    NONE,
    RUN_ID,
    TASK_SOURCE,
    CacheKeyFnPolicy,
    CachePolicy,
    CompoundCachePolicy,
    FlowParameters,
    Inputs,
    RunId,
    TaskSource,
)

__all__ = [
    "DEFAULT", "FLOW_PARAMETERS", "INPUTS", "NONE", "NO_CACHE", "RUN_ID", "TASK_SOURCE",
    "CacheKeyFnPolicy", "CachePolicy", "CompoundCachePolicy", "FlowParameters", "Inputs",
    "RunId", "TaskSource",
]
