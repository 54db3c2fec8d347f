# behaviour: prefect.settings gives Setting objects with name, accessor and value()
# behaviour: an unknown setting name raises AttributeError
# env: PREFECT_HOME={tmp}/home
import os

from prefect.settings import (
    PREFECT_HOME,
    PREFECT_LOCAL_STORAGE_PATH,
    PREFECT_LOGGING_LEVEL,
    PREFECT_RESULTS_PERSIST_BY_DEFAULT,
    PREFECT_TASKS_DEFAULT_RETRIES,
)

home = PREFECT_HOME.value()
print(type(home).__name__, home == type(home)(os.environ["PREFECT_HOME"]))
print(PREFECT_LOCAL_STORAGE_PATH.value() == home / "storage")
for setting in (PREFECT_LOGGING_LEVEL, PREFECT_RESULTS_PERSIST_BY_DEFAULT,
                PREFECT_TASKS_DEFAULT_RETRIES):
    print(setting.name, setting.accessor, repr(setting.value()))
import prefect.settings  # noqa: E402

try:
    prefect.settings.PREFECT_NOT_A_SETTING  # noqa: B018
except AttributeError:
    print("AttributeError")
