# behaviour: a task_run_name that is neither str nor callable raises TypeError at decoration
from prefect import task

try:

    @task(task_run_name=5)
    def t():
        pass

except TypeError:
    print("TypeError")
