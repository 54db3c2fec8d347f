# behaviour: temporary_settings changes a setting for the block only
# behaviour: temporary_settings applies to tasks decorated inside the block
# behaviour: an unknown setting key raises ValueError
from prefect import task
from prefect.settings import (
    PREFECT_RESULTS_PERSIST_BY_DEFAULT,
    PREFECT_TASKS_DEFAULT_RETRIES,
    temporary_settings,
)

print(PREFECT_TASKS_DEFAULT_RETRIES.value())
with temporary_settings({PREFECT_TASKS_DEFAULT_RETRIES: 3,
                         PREFECT_RESULTS_PERSIST_BY_DEFAULT: True}):
    print(PREFECT_TASKS_DEFAULT_RETRIES.value(), PREFECT_RESULTS_PERSIST_BY_DEFAULT.value())

    @task
    def t():
        pass

print(t.retries, PREFECT_TASKS_DEFAULT_RETRIES.value())
try:
    with temporary_settings({"not.a.setting": 1}):
        pass
except ValueError:
    print("ValueError")
