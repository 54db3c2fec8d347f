# behaviour: names imported from prefect's top level exist
import prefect

for name in ("flow", "task", "Flow", "Task", "State", "tags", "unmapped", "allow_failure",
             "get_run_logger", "serve", "runtime"):
    print(name, hasattr(prefect, name))
