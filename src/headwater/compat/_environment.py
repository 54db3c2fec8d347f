"""Prefect's environment variables, honoured under the shim by mapping them onto headwater's.

When a script imports `prefect` through the shim, each `PREFECT_*` variable below that is set
gives its value to the `HEADWATER_*` variable headwater reads, unless that one is set too (an
explicit headwater setting wins). The mapping is written into `os.environ`, so processes the
run starts (Dask, process-pool and Ray workers, serve children) see it as well.
"""

from __future__ import annotations

import logging
import os

# Prefect variable -> the headwater variable with the same meaning. Prefect accepts some
# settings under an older and a newer name; both are listed, the newer first.
PREFECT_TO_HEADWATER: dict[str, str] = {
    "PREFECT_HOME": "HEADWATER_HOME",
    "PREFECT_RESULTS_LOCAL_STORAGE_PATH": "HEADWATER_LOCAL_STORAGE_PATH",
    "PREFECT_LOCAL_STORAGE_PATH": "HEADWATER_LOCAL_STORAGE_PATH",
    "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "HEADWATER_RESULTS_PERSIST_BY_DEFAULT",
    "PREFECT_LOGGING_LEVEL": "HEADWATER_LOGGING_LEVEL",
    "PREFECT_LOGGING_LOG_PRINTS": "HEADWATER_LOGGING_LOG_PRINTS",
    "PREFECT_FLOWS_DEFAULT_RETRIES": "HEADWATER_FLOW_DEFAULT_RETRIES",
    "PREFECT_FLOW_DEFAULT_RETRIES": "HEADWATER_FLOW_DEFAULT_RETRIES",
    "PREFECT_TASKS_DEFAULT_RETRIES": "HEADWATER_TASK_DEFAULT_RETRIES",
    "PREFECT_TASK_DEFAULT_RETRIES": "HEADWATER_TASK_DEFAULT_RETRIES",
}

_log = logging.getLogger("headwater.compat")


def apply_prefect_environment(environ: dict[str, str] | None = None) -> dict[str, str]:
    """Copy set `PREFECT_*` variables onto their unset `HEADWATER_*` twins.

    Args:
        environ: the environment to update (default: `os.environ`).

    Returns:
        What was set, `{headwater_name: value}`.
    """
    env = os.environ if environ is None else environ
    applied: dict[str, str] = {}
    for prefect_name, headwater_name in PREFECT_TO_HEADWATER.items():
        value = env.get(prefect_name)
        if value is None or headwater_name in applied:
            continue
        if headwater_name in env:
            if env[headwater_name] != value:
                _log.debug("%s=%r is ignored: %s=%r is set and wins.", prefect_name, value,
                           headwater_name, env[headwater_name])
            continue
        env[headwater_name] = value
        applied[headwater_name] = value
    return applied
