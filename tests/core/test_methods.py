"""Flows and tasks on instance methods, classmethods and staticmethods.

Reference: Prefect 3 behaviour for methods. Both decorator orders are covered
(`@flow @classmethod` and `@classmethod @flow`, the same for staticmethod and for tasks), sync and
async. Prefect binds by mutating the shared function, so a binding can leak from one instance to
the next; headwater must not (§2, "a compatible engine may behave more sensibly here").
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pydantic
import pytest

from headwater import Flow, Task, flow, task
from headwater.errors import ParameterBindError
from headwater.events.memory import MemorySink

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


# -- flows on instance methods --------------------------------------------------------------------
class Counter:
    def __init__(self, start: int) -> None:
        self.start = start

    @flow
    def total(self, extra: int = 0) -> int:
        return self.start + extra

    @flow
    async def total_async(self, extra: int = 0) -> int:
        await asyncio.sleep(0)
        return self.start + extra

    @flow
    def whoami(self) -> Any:
        return self


def test_an_instance_method_flow_receives_self() -> None:
    assert Counter(5).total() == 5
    assert Counter(5).total(2) == 7
    assert Counter(5).total(extra=3) == 8


def test_an_instance_method_flow_accessed_through_an_instance_is_still_a_flow() -> None:
    assert isinstance(Counter(1).total, Flow)
    assert isinstance(Counter.__dict__["total"], Flow)


def test_an_async_instance_method_flow_receives_self() -> None:
    assert asyncio.run(Counter(4).total_async(1)) == 5


def test_an_async_instance_method_flow_can_be_awaited_from_an_async_caller() -> None:
    async def main() -> list[int]:
        return [await Counter(1).total_async(), await Counter(2).total_async(10)]

    assert asyncio.run(main()) == [1, 12]


def test_the_same_self_object_is_passed_not_a_copy() -> None:
    counter = Counter(0)

    assert counter.whoami() is counter


def test_an_instance_method_flow_is_named_after_the_method() -> None:
    assert Counter(0).total.name == "total"
    assert Counter.total.name == "total"


# -- no binding leaks between instances -----------------------------------------------------------
def test_no_binding_leaks_between_instances_or_into_explicit_calls() -> None:
    # Given two instances, each called through its own binding
    c1, c2 = Counter(1), Counter(2)

    # When they are called in turn, and then the class attribute is called with a third one
    first = c1.total()
    second = c2.total()
    third = Counter.total(Counter(3))

    # Then each call saw its own self (Prefect raises ParameterBindError on the third call)
    assert (first, second, third) == (1, 2, 3)


def test_calling_through_the_class_with_an_explicit_instance_and_arguments_works() -> None:
    Counter(100).total()  # an earlier bound call must not leave anything behind

    assert Counter.total(Counter(3), 4) == 7
    assert Counter.total(Counter(3), extra=5) == 8


def test_a_bound_flow_kept_in_a_variable_stays_bound_to_its_own_instance() -> None:
    bound_to_first = Counter(10).total
    Counter(20).total()
    bound_to_second = Counter(30).total

    assert bound_to_first() == 10
    assert bound_to_second() == 30
    assert bound_to_first() == 10


def test_calling_an_instance_method_flow_through_the_class_without_an_instance_fails() -> None:
    Counter(1).total()  # a stale binding would make this call succeed with the wrong self

    with pytest.raises(ParameterBindError):
        Counter.total()


def test_an_instance_that_is_falsy_is_still_bound_as_self() -> None:
    class Empty:
        def __len__(self) -> int:
            return 0

        @flow
        def me(self) -> Any:
            return self

    empty = Empty()

    assert empty.me() is empty


def test_instances_used_from_many_threads_each_see_their_own_self() -> None:
    instances = [Counter(i) for i in range(16)]
    barrier = threading.Barrier(8)

    def call(counter: Counter) -> int:
        bound = counter.total
        if counter.start < 8:
            barrier.wait(timeout=5)  # make the first eight bind and run at the same time
        return bound()

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(call, instances))

    assert results == list(range(16))


def test_async_method_flows_on_different_instances_do_not_share_a_binding() -> None:
    async def main() -> list[int]:
        return list(await asyncio.gather(*(Counter(i).total_async() for i in range(5))))

    assert asyncio.run(main()) == [0, 1, 2, 3, 4]


def test_with_options_on_a_bound_flow_keeps_its_instance() -> None:
    counter = Counter(9)

    renamed = counter.total.with_options(name="renamed-total")

    assert renamed.name == "renamed-total"
    assert renamed(1) == 10


# -- flows on classmethods, both decorator orders -------------------------------------------------
class Shape:
    sides = 0

    @flow
    @classmethod
    def describe_flow_over_classmethod(cls, scale: int = 1) -> tuple[str, int]:
        return cls.__name__, cls.sides * scale

    @classmethod
    @flow
    def describe_classmethod_over_flow(cls, scale: int = 1) -> tuple[str, int]:
        return cls.__name__, cls.sides * scale

    @flow
    @classmethod
    async def describe_async_flow_over_classmethod(cls) -> str:
        await asyncio.sleep(0)
        return cls.__name__

    @classmethod
    @flow
    async def describe_async_classmethod_over_flow(cls) -> str:
        await asyncio.sleep(0)
        return cls.__name__

    @flow
    @staticmethod
    def area_flow_over_staticmethod(width: int, height: int) -> int:
        return width * height

    @staticmethod
    @flow
    def area_staticmethod_over_flow(width: int, height: int) -> int:
        return width * height

    @flow
    @staticmethod
    async def area_async_flow_over_staticmethod(width: int) -> int:
        await asyncio.sleep(0)
        return width * width

    @staticmethod
    @flow
    async def area_async_staticmethod_over_flow(width: int) -> int:
        await asyncio.sleep(0)
        return width * width


class Square(Shape):
    sides = 4


CLASSMETHOD_FLOWS = ["describe_flow_over_classmethod", "describe_classmethod_over_flow"]
ASYNC_CLASSMETHOD_FLOWS = [
    "describe_async_flow_over_classmethod",
    "describe_async_classmethod_over_flow",
]
STATICMETHOD_FLOWS = ["area_flow_over_staticmethod", "area_staticmethod_over_flow"]
ASYNC_STATICMETHOD_FLOWS = [
    "area_async_flow_over_staticmethod",
    "area_async_staticmethod_over_flow",
]


@pytest.mark.parametrize("method", CLASSMETHOD_FLOWS)
def test_a_classmethod_flow_receives_the_class(method: str) -> None:
    assert getattr(Shape, method)() == ("Shape", 0)
    assert getattr(Square, method)(scale=2) == ("Square", 8)


@pytest.mark.parametrize("method", CLASSMETHOD_FLOWS)
def test_a_classmethod_flow_called_through_an_instance_receives_the_class(method: str) -> None:
    assert getattr(Square(), method)(3) == ("Square", 12)
    assert getattr(Shape(), method)() == ("Shape", 0)


@pytest.mark.parametrize("method", CLASSMETHOD_FLOWS)
def test_a_classmethod_flow_binding_does_not_leak_between_subclasses(method: str) -> None:
    results = [
        getattr(Square, method)(),
        getattr(Shape, method)(),
        getattr(Square(), method)(),
        getattr(Shape(), method)(),
    ]

    assert results == [("Square", 4), ("Shape", 0), ("Square", 4), ("Shape", 0)]


@pytest.mark.parametrize("method", ASYNC_CLASSMETHOD_FLOWS)
def test_an_async_classmethod_flow_receives_the_class(method: str) -> None:
    async def main() -> list[str]:
        return [await getattr(Shape, method)(), await getattr(Square(), method)()]

    assert asyncio.run(main()) == ["Shape", "Square"]


def test_a_flow_over_a_classmethod_is_still_a_flow_on_the_class() -> None:
    assert isinstance(Shape.describe_flow_over_classmethod, Flow)
    assert isinstance(Shape.__dict__["describe_flow_over_classmethod"], Flow)


def test_a_classmethod_over_a_flow_wraps_a_flow() -> None:
    wrapper = Shape.__dict__["describe_classmethod_over_flow"]

    assert isinstance(wrapper, classmethod)
    assert isinstance(wrapper.__func__, Flow)
    if sys.version_info < (3, 13):  # 3.13 stopped chaining classmethod through __get__
        assert isinstance(Shape.describe_classmethod_over_flow, Flow)


@pytest.mark.parametrize("method", CLASSMETHOD_FLOWS)
def test_a_classmethod_flow_is_named_after_the_function(method: str) -> None:
    flow_obj = Shape.__dict__[method]
    flow_obj = flow_obj if isinstance(flow_obj, Flow) else flow_obj.__func__

    assert flow_obj.__name__ == method
    assert flow_obj.name == method.replace("_", "-")


# -- flows on staticmethods, both decorator orders ------------------------------------------------
@pytest.mark.parametrize("method", STATICMETHOD_FLOWS)
def test_a_staticmethod_flow_called_through_the_class_gets_no_self(method: str) -> None:
    assert getattr(Shape, method)(3, 4) == 12
    assert getattr(Square, method)(width=2, height=5) == 10


@pytest.mark.parametrize("method", STATICMETHOD_FLOWS)
def test_a_staticmethod_flow_called_through_an_instance_gets_no_self(method: str) -> None:
    # Prefect raises ParameterBindError here for @flow @staticmethod (it binds the instance).
    assert getattr(Square(), method)(3, 4) == 12
    assert getattr(Shape(), method)(width=1, height=1) == 1


@pytest.mark.parametrize("method", ASYNC_STATICMETHOD_FLOWS)
def test_an_async_staticmethod_flow_works_through_the_class_and_an_instance(method: str) -> None:
    async def main() -> list[int]:
        return [await getattr(Shape, method)(3), await getattr(Square(), method)(4)]

    assert asyncio.run(main()) == [9, 16]


@pytest.mark.parametrize("method", STATICMETHOD_FLOWS)
def test_a_staticmethod_flow_accessed_anywhere_is_a_flow(method: str) -> None:
    assert isinstance(getattr(Shape, method), Flow)
    assert isinstance(getattr(Square(), method), Flow)


# -- parameters recorded for method flows ---------------------------------------------------------
def test_the_parameters_recorded_for_an_instance_method_flow_include_self(
    events: MemorySink,
) -> None:
    counter = Counter(2)

    counter.total(5)

    [run] = events.flow_runs()
    assert list(run.parameters) == ["self", "extra"]
    assert run.parameters["self"] is counter
    assert run.parameters["extra"] == 5


def test_the_parameters_recorded_for_an_explicit_instance_call_include_that_instance(
    events: MemorySink,
) -> None:
    Counter(1).total()
    third = Counter(3)
    Counter.total(third)

    first_run, second_run = events.flow_runs()
    assert first_run.parameters["self"] is not third
    assert second_run.parameters["self"] is third


@pytest.mark.parametrize("method", CLASSMETHOD_FLOWS)
def test_the_parameters_recorded_for_a_classmethod_flow_include_cls(
    method: str, events: MemorySink
) -> None:
    getattr(Square, method)(2)

    [run] = events.flow_runs()
    assert run.parameters == {"cls": Square, "scale": 2}


@pytest.mark.parametrize("method", STATICMETHOD_FLOWS)
def test_the_parameters_recorded_for_a_staticmethod_flow_have_no_self(
    method: str, events: MemorySink
) -> None:
    getattr(Square(), method)(2, 3)

    [run] = events.flow_runs()
    assert run.parameters == {"width": 2, "height": 3}


def test_a_method_flow_run_completes_with_the_usual_states(events: MemorySink) -> None:
    Counter(1).total()

    [run] = events.flow_runs()
    assert events.state_names(run.flow_run_id) == ["Pending", "Running", "Completed"]


def test_a_method_flow_run_name_template_can_use_self(events: MemorySink) -> None:
    class Job:
        def __init__(self, region: str) -> None:
            self.region = region

        @flow(flow_run_name="sync-{self.region}-{day}")
        def sync(self, day: str) -> None:
            pass

    Job("eu").sync("mon")

    [run] = events.flow_runs()
    assert events.run_name(run.flow_run_id) == "sync-eu-mon"


def test_method_flow_parameters_are_validated_but_self_is_left_alone() -> None:
    class Scaler:
        def __init__(self, factor: int) -> None:
            self.factor = factor

        @flow
        def scale(self, value: int) -> int:
            return self.factor * value

        @flow
        @classmethod
        def tag(cls, value: int) -> tuple[str, int]:
            return cls.__name__, value

    assert Scaler(3).scale("4") == 12  # "4" is coerced to 4 by the int hint
    assert Scaler.tag("5") == ("Scaler", 5)


def test_a_method_flow_calling_another_method_flow_makes_a_subflow(events: MemorySink) -> None:
    class Pipeline:
        def __init__(self, size: int) -> None:
            self.size = size

        @flow
        def child(self) -> int:
            return self.size

        @flow
        def parent(self) -> int:
            return self.child() + 1

    assert Pipeline(4).parent() == 5

    parent_run, child_run = events.flow_runs()
    assert child_run.parent_flow_run_id == parent_run.flow_run_id
    assert child_run.parameters["self"] is parent_run.parameters["self"]


# -- pydantic models (Prefect tests these too) ----------------------------------------------------
class Settings(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(ignored_types=(Flow, Task))
    base: int = 1

    @flow
    def plus(self, value: int) -> int:
        return self.base + value

    @classmethod
    @flow
    def kind(cls) -> str:
        return cls.__name__

    @staticmethod
    @flow
    def constant() -> str:
        return "static"


def test_flows_work_as_methods_on_pydantic_models() -> None:
    assert Settings(base=10).plus("5") == 15
    assert Settings().plus(1) == 2
    assert Settings.plus(Settings(base=3), 1) == 4
    assert Settings.kind() == "Settings"
    assert Settings.constant() == "static"
    assert Settings().constant() == "static"


# -- tasks on methods, called inside a flow -------------------------------------------------------
class Worker:
    factor = 10

    def __init__(self, n: int) -> None:
        self.n = n

    @task
    def work(self, x: int) -> int:
        return self.n * x

    @task
    async def work_async(self, x: int) -> int:
        await asyncio.sleep(0)
        return self.n * x

    @task
    @classmethod
    def scaled_task_over_classmethod(cls, x: int) -> tuple[str, int]:
        return cls.__name__, cls.factor * x

    @classmethod
    @task
    def scaled_classmethod_over_task(cls, x: int) -> tuple[str, int]:
        return cls.__name__, cls.factor * x

    @task
    @classmethod
    async def scaled_async_task_over_classmethod(cls, x: int) -> tuple[str, int]:
        await asyncio.sleep(0)
        return cls.__name__, cls.factor * x

    @classmethod
    @task
    async def scaled_async_classmethod_over_task(cls, x: int) -> tuple[str, int]:
        await asyncio.sleep(0)
        return cls.__name__, cls.factor * x

    @task
    @staticmethod
    def add_task_over_staticmethod(a: int, b: int) -> int:
        return a + b

    @staticmethod
    @task
    def add_staticmethod_over_task(a: int, b: int) -> int:
        return a + b

    @task
    @staticmethod
    async def add_async_task_over_staticmethod(a: int, b: int) -> int:
        await asyncio.sleep(0)
        return a + b

    @staticmethod
    @task
    async def add_async_staticmethod_over_task(a: int, b: int) -> int:
        await asyncio.sleep(0)
        return a + b


class BigWorker(Worker):
    factor = 100


CLASSMETHOD_TASKS = ["scaled_task_over_classmethod", "scaled_classmethod_over_task"]
ASYNC_CLASSMETHOD_TASKS = [
    "scaled_async_task_over_classmethod",
    "scaled_async_classmethod_over_task",
]
STATICMETHOD_TASKS = ["add_task_over_staticmethod", "add_staticmethod_over_task"]
ASYNC_STATICMETHOD_TASKS = [
    "add_async_task_over_staticmethod",
    "add_async_staticmethod_over_task",
]


def test_an_instance_method_task_inside_a_flow_receives_self(events: MemorySink) -> None:
    @flow
    def pipeline() -> list[int]:
        return [Worker(2).work(3), Worker(5).work(3)]

    assert pipeline() == [6, 15]
    assert len(events.task_runs()) == 2


def test_an_instance_method_task_also_runs_outside_a_flow() -> None:
    assert Worker(4).work(2) == 8


def test_an_async_instance_method_task_inside_an_async_flow_receives_self() -> None:
    @flow
    async def pipeline() -> list[int]:
        return [await Worker(2).work_async(3), await Worker(7).work_async(1)]

    assert asyncio.run(pipeline()) == [6, 7]


def test_instance_method_tasks_do_not_leak_their_binding_inside_a_flow() -> None:
    @flow
    def pipeline() -> tuple[int, int, int]:
        w1, w2 = Worker(1), Worker(2)
        return w1.work(1), w2.work(1), Worker.work(Worker(3), 1)

    assert pipeline() == (1, 2, 3)


@pytest.mark.parametrize("method", CLASSMETHOD_TASKS)
def test_a_classmethod_task_inside_a_flow_receives_the_class(method: str) -> None:
    @flow
    def pipeline() -> list[tuple[str, int]]:
        return [
            getattr(Worker, method)(1),
            getattr(BigWorker, method)(1),
            getattr(BigWorker(0), method)(2),
        ]

    assert pipeline() == [("Worker", 10), ("BigWorker", 100), ("BigWorker", 200)]


@pytest.mark.parametrize("method", ASYNC_CLASSMETHOD_TASKS)
def test_an_async_classmethod_task_inside_an_async_flow_receives_the_class(method: str) -> None:
    @flow
    async def pipeline() -> list[tuple[str, int]]:
        return [await getattr(Worker, method)(1), await getattr(BigWorker(0), method)(1)]

    assert asyncio.run(pipeline()) == [("Worker", 10), ("BigWorker", 100)]


@pytest.mark.parametrize("method", STATICMETHOD_TASKS)
def test_a_staticmethod_task_inside_a_flow_gets_no_self(method: str) -> None:
    @flow
    def pipeline() -> list[int]:
        return [getattr(Worker, method)(1, 2), getattr(Worker(9), method)(3, 4)]

    assert pipeline() == [3, 7]


@pytest.mark.parametrize("method", ASYNC_STATICMETHOD_TASKS)
def test_an_async_staticmethod_task_inside_an_async_flow_gets_no_self(method: str) -> None:
    @flow
    async def pipeline() -> list[int]:
        return [await getattr(Worker, method)(1, 2), await getattr(Worker(9), method)(3, 4)]

    assert asyncio.run(pipeline()) == [3, 7]


def test_a_sync_method_task_inside_an_async_flow_receives_self() -> None:
    @flow
    async def pipeline() -> int:
        return Worker(3).work(3) + Worker.add_staticmethod_over_task(1, 1)

    assert asyncio.run(pipeline()) == 11


def test_the_parameters_recorded_for_an_instance_method_task_include_self(
    events: MemorySink,
) -> None:
    worker = Worker(2)

    @flow
    def pipeline() -> int:
        return worker.work(x=4)

    pipeline()

    [run] = events.task_runs()
    assert run.parameters == {"self": worker, "x": 4}


@pytest.mark.parametrize("method", CLASSMETHOD_TASKS)
def test_the_parameters_recorded_for_a_classmethod_task_include_cls(
    method: str, events: MemorySink
) -> None:
    @flow
    def pipeline() -> None:
        getattr(BigWorker, method)(1)

    pipeline()

    [run] = events.task_runs()
    assert run.parameters == {"cls": BigWorker, "x": 1}


@pytest.mark.parametrize("method", STATICMETHOD_TASKS)
def test_the_parameters_recorded_for_a_staticmethod_task_have_no_self(
    method: str, events: MemorySink
) -> None:
    @flow
    def pipeline() -> None:
        getattr(Worker(1), method)(1, 2)

    pipeline()

    [run] = events.task_runs()
    assert run.parameters == {"a": 1, "b": 2}


def test_a_method_task_run_name_template_can_use_self(events: MemorySink) -> None:
    class Loader:
        def __init__(self, table: str) -> None:
            self.table = table

        @task(task_run_name="load-{self.table}-{day}")
        def load(self, day: str) -> None:
            pass

    @flow
    def pipeline() -> None:
        Loader("sales").load("mon")
        Loader("users").load("tue")

    pipeline()

    names = [events.run_name(run.task_run_id) for run in events.task_runs()]
    assert names == ["load-sales-mon", "load-users-tue"]


def test_a_method_task_run_belongs_to_the_flow_run_that_called_it(events: MemorySink) -> None:
    class Service:
        @flow
        def run(self) -> int:
            return self.step(1)

        @task
        def step(self, x: int) -> int:
            return x + 1

    assert Service().run() == 2

    [flow_run] = events.flow_runs()
    [task_run] = events.task_runs()
    assert task_run.flow_run_id == flow_run.flow_run_id
    assert events.state_names(task_run.task_run_id) == ["Pending", "Running", "Completed"]


def test_a_failing_method_task_raises_its_own_exception_in_the_flow() -> None:
    class Fragile:
        @task
        def step(self) -> None:
            raise KeyError("missing")

        @flow
        def run(self) -> None:
            self.step()

    with pytest.raises(KeyError, match="missing"):
        Fragile().run()


# -- the seed's class-flows example ---------------------------------------------------------------
def test_the_class_flows_example_prints_its_three_lines() -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "class_flows.py")],
        capture_output=True,
        timeout=60,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        check=False,
    )
    stdout = result.stdout.decode("utf-8")

    assert result.returncode == 0, result.stderr.decode("utf-8", "replace")
    lines = [line for line in stdout.splitlines() if line.strip()]
    expected = ["实例方法流水线", "类方法流水线", "静态方法流水线"]
    assert [line for line in lines if line in expected] == expected
