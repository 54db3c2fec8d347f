# behaviour: ProcessPoolTaskRunner runs tasks of a script in worker processes that import prefect
import os

from prefect import flow, task
from prefect.task_runners import ProcessPoolTaskRunner


@task
def square(x):
    return x * x, os.getpid()


@flow(task_runner=ProcessPoolTaskRunner(max_workers=2))
def f():
    results = square.map([1, 2, 3]).result()
    return [r[0] for r in results], all(r[1] != os.getpid() for r in results)


if __name__ == "__main__":
    print(f())
