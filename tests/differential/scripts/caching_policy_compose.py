# behaviour: cache policies compose with + and are objects
from prefect.cache_policies import DEFAULT, INPUTS, NO_CACHE, RUN_ID, TASK_SOURCE

combined = INPUTS + TASK_SOURCE
print(type(combined).__name__, type(NO_CACHE).__name__, type(INPUTS).__name__)
print(type(DEFAULT).__name__, type(RUN_ID).__name__)
print(type(INPUTS - "x").__name__)
