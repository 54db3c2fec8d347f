# behaviour: flows and tasks on methods bind self
from prefect import flow, task


class Pipeline:
    def __init__(self, n):
        self.n = n

    @task
    def step(self, x):
        return self.n + x

    @flow
    def run(self, x):
        return self.step(x)


print(Pipeline(10).run(5))
