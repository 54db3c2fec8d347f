"""@flow and @task: decorator forms, wrapped-function metadata, options, with_options, errors.

Reference: Prefect 3 behaviour for decorators, option tables, with_options and hooks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import inspect
from pathlib import Path
from typing import Any

import pytest

from headwater import Flow, Task, flow, task
from headwater.errors import InvalidNameError, OptionError, ReservedArgumentError
from headwater.events.memory import MemorySink
from headwater.tasks import exponential_backoff


# -- helpers ------------------------------------------------------------------------------------
def first_hook(*args: Any) -> None:
    """A state-change hook that does nothing."""


def second_hook(*args: Any) -> None:
    """Another state-change hook that does nothing."""


def my_hook(*args: Any) -> None:
    """A hook passed bare instead of in a list."""


class InlineRunner:
    """A user-supplied task runner: the least an object needs to be accepted as one."""

    def submit(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError

    def __enter__(self) -> InlineRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def plain(x: int, y: str = "y") -> str:
    """Add things up.

    A second paragraph.
    """
    return f"{x}{y}"


def undocumented() -> None:
    pass


# -- decorator forms ----------------------------------------------------------------------------
def test_a_flow_without_parentheses_is_a_flow_object() -> None:
    @flow
    def hello() -> str:
        return "hi"

    assert isinstance(hello, Flow)
    assert hello() == "hi"


def test_a_flow_with_empty_parentheses_is_a_flow_object() -> None:
    @flow()
    def hello() -> str:
        return "hi"

    assert isinstance(hello, Flow)
    assert hello() == "hi"


def test_a_flow_with_options_in_parentheses_is_a_flow_object_with_those_options() -> None:
    @flow(name="greeter", retries=2)
    def hello() -> str:
        return "hi"

    assert isinstance(hello, Flow)
    assert (hello.name, hello.retries) == ("greeter", 2)
    assert hello() == "hi"


def test_a_task_without_parentheses_is_a_task_object() -> None:
    @task
    def double(x: int) -> int:
        return 2 * x

    assert isinstance(double, Task)
    assert double(4) == 8


def test_a_task_with_empty_parentheses_is_a_task_object() -> None:
    @task()
    def double(x: int) -> int:
        return 2 * x

    assert isinstance(double, Task)
    assert double(4) == 8


def test_a_task_with_options_in_parentheses_is_a_task_object_with_those_options() -> None:
    @task(name="doubler", tags=["math"])
    def double(x: int) -> int:
        return 2 * x

    assert isinstance(double, Task)
    assert (double.name, double.tags) == ("doubler", {"math"})
    assert double(4) == 8


def test_flow_and_task_can_be_called_as_plain_functions_on_an_existing_function() -> None:
    as_flow = flow(plain)
    as_task = task(plain)

    assert isinstance(as_flow, Flow)
    assert isinstance(as_task, Task)
    assert as_flow(1, "a") == "1a"
    assert as_flow(1) == "1y"
    assert as_task(2) == "2y"


def test_the_flow_and_task_classes_can_be_constructed_directly() -> None:
    built_flow = Flow(plain, name="direct")
    built_task = Task(plain, name="direct")

    assert built_flow.name == "direct"
    assert built_task.name == "direct"
    assert built_flow(3, "b") == "3b"
    assert built_task(3) == "3y"


def test_an_async_function_makes_an_async_flow_and_an_async_task() -> None:
    async def fetch() -> int:
        return 1

    assert flow(fetch).isasync is True
    assert task(fetch).isasync is True
    assert flow(plain).isasync is False
    assert task(plain).isasync is False


# -- wrapped-function metadata ------------------------------------------------------------------
@pytest.mark.parametrize("decorate", [flow, task], ids=["flow", "task"])
def test_a_decorated_function_keeps_its_name_docstring_module_and_qualname(decorate: Any) -> None:
    wrapped = decorate(plain)

    assert wrapped.__name__ == "plain"
    assert wrapped.__doc__ == plain.__doc__
    assert wrapped.__module__ == plain.__module__
    assert wrapped.__qualname__ == plain.__qualname__


@pytest.mark.parametrize("decorate", [flow, task], ids=["flow", "task"])
def test_a_decorated_function_keeps_the_original_as_wrapped_and_as_fn(decorate: Any) -> None:
    wrapped = decorate(plain)

    assert wrapped.__wrapped__ is plain
    assert wrapped.fn is plain


@pytest.mark.parametrize("decorate", [flow, task], ids=["flow", "task"])
def test_a_decorated_function_keeps_its_signature_for_inspect(decorate: Any) -> None:
    def typed(a: int, b: str = "x", *rest: float, c: bool = False, **extra: Any) -> list[int]:
        return []

    assert inspect.signature(decorate(typed)) == inspect.signature(typed)


def test_a_flow_without_parentheses_keeps_its_docstring() -> None:
    @flow
    def documented() -> None:
        """Load the data."""

    assert documented.__doc__ == "Load the data."


def test_a_task_with_options_keeps_its_docstring() -> None:
    @task(retries=1)
    def documented() -> None:
        """Load the data."""

    assert documented.__doc__ == "Load the data."


# -- .description --------------------------------------------------------------------------------
@pytest.mark.parametrize("decorate", [flow, task], ids=["flow", "task"])
def test_the_description_falls_back_to_the_cleaned_docstring(decorate: Any) -> None:
    assert decorate(plain).description == "Add things up.\n\nA second paragraph."


@pytest.mark.parametrize("decorate", [flow, task], ids=["flow", "task"])
def test_an_explicit_description_wins_over_the_docstring(decorate: Any) -> None:
    assert decorate(description="Explicit.")(plain).description == "Explicit."


@pytest.mark.parametrize("decorate", [flow, task], ids=["flow", "task"])
def test_a_function_without_a_docstring_has_no_description(decorate: Any) -> None:
    assert decorate(undocumented).description is None


# -- .version ------------------------------------------------------------------------------------
def test_a_flow_version_defaults_to_the_md5_of_its_source_file() -> None:
    @flow
    def versioned() -> None:
        pass

    expected = hashlib.md5(Path(__file__).read_bytes()).hexdigest()
    assert versioned.version == expected


def test_an_explicit_flow_version_is_kept() -> None:
    @flow(version="2024.1")
    def versioned() -> None:
        pass

    assert versioned.version == "2024.1"


def test_a_flow_whose_source_file_cannot_be_found_has_no_version() -> None:
    namespace: dict[str, Any] = {}
    exec(compile("def generated():\n    return 1\n", "<generated>", "exec"), namespace)

    assert flow(namespace["generated"]).version is None


def test_a_task_has_no_version_unless_one_is_given() -> None:
    assert task(plain).version is None
    assert task(version="v3")(plain).version == "v3"


def test_the_flow_version_is_recorded_on_its_runs(events: MemorySink) -> None:
    @flow(version="7")
    def versioned() -> None:
        pass

    versioned()

    [run] = events.flow_runs()
    assert run.flow_version == "7"


# -- .tags ---------------------------------------------------------------------------------------
def test_task_tags_are_stored_as_a_set() -> None:
    @task(tags=["io", "db", "io"])
    def load() -> None:
        pass

    assert isinstance(load.tags, set)
    assert load.tags == {"io", "db"}


def test_task_tags_accept_any_iterable_of_strings() -> None:
    assert task(tags=("a", "b"))(plain).tags == {"a", "b"}
    assert task(tags={"c"})(plain).tags == {"c"}


def test_a_task_without_tags_has_an_empty_tag_set() -> None:
    assert task(plain).tags == set()


def test_task_tags_reach_the_task_run(events: MemorySink) -> None:
    @task(tags=["nightly"])
    def load() -> None:
        pass

    load()

    [run] = events.task_runs()
    assert "nightly" in run.tags


# -- default names --------------------------------------------------------------------------------
def test_a_flow_is_named_after_its_function_with_underscores_turned_into_dashes() -> None:
    @flow
    def load_daily_sales_report() -> None:
        pass

    assert load_daily_sales_report.name == "load-daily-sales-report"


def test_a_flow_made_from_a_lambda_is_named_unknown_lambda() -> None:
    assert flow(lambda: 1).name == "unknown-lambda"


def test_a_task_is_named_after_its_function_unchanged() -> None:
    @task
    def load_daily_sales_report() -> None:
        pass

    assert load_daily_sales_report.name == "load_daily_sales_report"


def test_a_task_made_from_a_lambda_is_named_after_the_lambda_and_runs() -> None:
    # Prefect: a task's default name is fn.__name__ unchanged, with no character check, so
    # task(lambda ...) works and is called '<lambda>'.
    add_one = task(lambda x: x + 1)

    assert add_one.name == "<lambda>"
    assert add_one(1) == 2


def test_a_task_made_from_a_callable_object_is_named_after_its_class() -> None:
    class Multiplier:
        def __call__(self, x: int) -> int:
            return 3 * x

    triple = task(Multiplier())

    assert triple.name == "Multiplier"
    assert triple(2) == 6


def test_an_explicit_name_replaces_the_default_for_flows_and_tasks() -> None:
    assert flow(name="Nightly ETL")(plain).name == "Nightly ETL"
    assert task(name="fetch page")(plain).name == "fetch page"


def test_the_flow_name_is_recorded_on_its_runs(events: MemorySink) -> None:
    @flow
    def sales_report() -> None:
        pass

    sales_report()

    [run] = events.flow_runs()
    assert run.flow_name == "sales-report"


# -- every option is accepted and stored ---------------------------------------------------------
FLOW_OPTIONS: list[tuple[str, Any, str, Any]] = [
    # (option, value given, attribute, value stored)
    ("name", "custom", "name", "custom"),
    ("description", "Explains it.", "description", "Explains it."),
    ("version", "1.2.3", "version", "1.2.3"),
    ("flow_run_name", "run-{x}", "flow_run_name", "run-{x}"),
    ("retries", 3, "retries", 3),
    ("retry_delay_seconds", 5, "retry_delay_seconds", 5),
    ("retry_delay_seconds", 2.5, "retry_delay_seconds", 2.5),
    ("timeout_seconds", 30, "timeout_seconds", 30.0),
    ("timeout_seconds", 0, "timeout_seconds", None),
    ("validate_parameters", False, "validate_parameters", False),
    ("persist_result", True, "persist_result", True),
    ("persist_result", False, "persist_result", False),
    ("result_storage", "results-folder", "result_storage", "results-folder"),
    ("result_serializer", "json", "result_serializer", "json"),
    ("cache_result_in_memory", False, "cache_result_in_memory", False),
    ("log_prints", True, "log_prints", True),
    ("log_prints", False, "log_prints", False),
    ("on_completion", [first_hook], "on_completion_hooks", [first_hook]),
    ("on_failure", [first_hook, second_hook], "on_failure_hooks", [first_hook, second_hook]),
    ("on_cancellation", [first_hook], "on_cancellation_hooks", [first_hook]),
    ("on_crashed", [first_hook], "on_crashed_hooks", [first_hook]),
    ("on_running", (first_hook,), "on_running_hooks", [first_hook]),
]


@pytest.mark.parametrize(
    ("option", "given", "attribute", "stored"),
    FLOW_OPTIONS,
    ids=[f"{row[0]}={row[1]!r}" for row in FLOW_OPTIONS],
)
def test_every_flow_option_is_accepted_and_stored(
    option: str, given: Any, attribute: str, stored: Any
) -> None:
    decorated = flow(**{option: given})(plain)

    assert getattr(decorated, attribute) == stored


def test_flow_defaults_match_prefect() -> None:
    decorated = flow(plain)

    assert decorated.retries == 0
    assert decorated.retry_delay_seconds == 0
    assert decorated.timeout_seconds is None
    assert decorated.validate_parameters is True
    assert decorated.persist_result is None
    assert decorated.cache_result_in_memory is True
    assert decorated.log_prints is None
    assert decorated.flow_run_name is None
    for kind in ("completion", "failure", "cancellation", "crashed", "running"):
        assert getattr(decorated, f"on_{kind}_hooks") == []


def test_a_flow_run_name_may_be_a_callable() -> None:
    def namer() -> str:
        return "named"

    assert flow(flow_run_name=namer)(plain).flow_run_name is namer


def test_a_flow_task_runner_instance_is_kept_as_given() -> None:
    runner = InlineRunner()

    assert flow(task_runner=runner)(plain).task_runner is runner


def test_a_flow_task_runner_class_is_instantiated() -> None:
    assert isinstance(flow(task_runner=InlineRunner)(plain).task_runner, InlineRunner)


def test_a_flow_persists_results_when_it_is_given_a_result_storage_or_serializer() -> None:
    assert flow(result_storage="results-folder")(plain).persist_result is True
    assert flow(result_serializer="pickle")(plain).persist_result is True
    assert flow(result_storage="other-folder", persist_result=False)(plain).persist_result is False


TASK_OPTIONS: list[tuple[str, Any, str, Any]] = [
    ("name", "custom", "name", "custom"),
    ("description", "Explains it.", "description", "Explains it."),
    ("tags", ["a", "b"], "tags", {"a", "b"}),
    ("version", "9", "version", "9"),
    ("cache_expiration", dt.timedelta(hours=1), "cache_expiration", dt.timedelta(hours=1)),
    ("task_run_name", "t-{x}", "task_run_name", "t-{x}"),
    ("retries", 4, "retries", 4),
    ("retry_delay_seconds", 3, "retry_delay_seconds", 3),
    ("retry_jitter_factor", 0.5, "retry_jitter_factor", 0.5),
    ("retry_jitter_factor", 0, "retry_jitter_factor", 0),
    ("persist_result", True, "persist_result", True),
    ("result_storage", "results-folder", "result_storage", "results-folder"),
    ("result_serializer", "json", "result_serializer", "json"),
    ("result_storage_key", "key-{x}", "result_storage_key", "key-{x}"),
    ("cache_result_in_memory", False, "cache_result_in_memory", False),
    ("timeout_seconds", 1.5, "timeout_seconds", 1.5),
    ("timeout_seconds", 0, "timeout_seconds", None),
    ("log_prints", True, "log_prints", True),
    ("refresh_cache", True, "refresh_cache", True),
    ("on_completion", [first_hook], "on_completion_hooks", [first_hook]),
    ("on_failure", [first_hook], "on_failure_hooks", [first_hook]),
    ("on_running", [first_hook, second_hook], "on_running_hooks", [first_hook, second_hook]),
    ("viz_return_value", 42, "viz_return_value", 42),
]


@pytest.mark.parametrize(
    ("option", "given", "attribute", "stored"),
    TASK_OPTIONS,
    ids=[f"{row[0]}={row[1]!r}" for row in TASK_OPTIONS],
)
def test_every_task_option_is_accepted_and_stored(
    option: str, given: Any, attribute: str, stored: Any
) -> None:
    decorated = task(**{option: given})(plain)

    assert getattr(decorated, attribute) == stored


def test_task_defaults_match_prefect() -> None:
    decorated = task(plain)

    assert decorated.retries == 0
    assert decorated.retry_delay_seconds == 0
    assert decorated.retry_jitter_factor is None
    assert decorated.retry_condition_fn is None
    assert decorated.timeout_seconds is None
    assert decorated.cache_key_fn is None
    assert decorated.cache_expiration is None
    assert decorated.cache_result_in_memory is True
    assert decorated.log_prints is None
    assert decorated.refresh_cache is None
    assert decorated.task_run_name is None
    assert decorated.asset_deps == []
    for kind in ("completion", "failure", "running"):
        assert getattr(decorated, f"on_{kind}_hooks") == []


def test_a_task_keeps_its_cache_policy_cache_key_fn_and_retry_condition_fn() -> None:
    from headwater.cache_policies import INPUTS, TASK_SOURCE

    policy = INPUTS + TASK_SOURCE

    def key_fn(context: Any, parameters: dict[str, Any]) -> str:
        return "k"

    def retry_if(task: Any, task_run: Any, state: Any) -> bool:
        return True

    decorated = task(cache_policy=policy, cache_key_fn=key_fn, retry_condition_fn=retry_if)(plain)

    # As in Prefect, the key function wins, and the task shows it as its policy.
    assert decorated.cache_policy.cache_key_fn is key_fn  # type: ignore[attr-defined]
    assert task(cache_policy=policy)(plain).cache_policy is policy
    assert decorated.cache_key_fn is key_fn
    assert decorated.retry_condition_fn is retry_if


def test_a_task_run_name_may_be_a_callable() -> None:
    def namer(parameters: dict[str, Any]) -> str:
        return "named"

    assert task(task_run_name=namer)(plain).task_run_name is namer


def test_a_task_keeps_its_asset_deps_as_a_list() -> None:
    decorated = task(asset_deps=("s3://bucket/raw", "s3://bucket/lookup"))(plain)

    assert len(decorated.asset_deps) == 2
    assert isinstance(decorated.asset_deps, list)


def test_a_task_delay_list_is_kept_per_retry() -> None:
    assert task(retries=3, retry_delay_seconds=[1, 2, 4])(plain).retry_delay_seconds == [1, 2, 4]


def test_a_task_persists_results_when_a_result_option_is_given() -> None:
    # Prefect (§1.3): persist_result is set to True if cache_key_fn, result_storage_key,
    # result_storage or result_serializer is given.
    assert task(result_storage_key="k-{x}")(plain).persist_result is True
    assert task(result_storage="results-folder")(plain).persist_result is True
    assert task(result_serializer="json")(plain).persist_result is True
    assert task(cache_key_fn=lambda ctx, params: "k")(plain).persist_result is True
    assert task(result_storage="other-folder", persist_result=False)(plain).persist_result is False


# -- retry_delay_seconds callables ----------------------------------------------------------------
def test_exponential_backoff_is_evaluated_at_decoration_with_the_task_retries() -> None:
    @task(retries=4, retry_delay_seconds=exponential_backoff(10))
    def flaky() -> None:
        pass

    assert flaky.retry_delay_seconds == [10, 20, 40, 80]


def test_a_retry_delay_callable_is_called_once_with_the_number_of_retries() -> None:
    seen: list[int] = []

    def delays(retries: int) -> list[float]:
        seen.append(retries)
        return [0.5] * retries

    @task(retries=3, retry_delay_seconds=delays)
    def flaky() -> None:
        pass

    assert seen == [3]
    assert flaky.retry_delay_seconds == [0.5, 0.5, 0.5]


def test_a_retry_delay_callable_that_raises_is_reported_as_an_option_error() -> None:
    def broken(retries: int) -> list[float]:
        raise ZeroDivisionError("nope")

    with pytest.raises(OptionError, match="retry_delay_seconds") as caught:
        task(retries=1, retry_delay_seconds=broken)(plain)
    assert caught.value.option == "retry_delay_seconds"


# -- with_options --------------------------------------------------------------------------------
def test_flow_with_options_returns_a_new_flow_and_leaves_the_original_untouched() -> None:
    @flow(name="original", retries=1, timeout_seconds=10)
    def etl() -> None:
        """Docs."""

    changed = etl.with_options(name="changed", retries=5)

    assert isinstance(changed, Flow)
    assert changed is not etl
    assert (changed.name, changed.retries, changed.timeout_seconds) == ("changed", 5, 10.0)
    assert (etl.name, etl.retries, etl.timeout_seconds) == ("original", 1, 10.0)
    assert changed.fn is etl.fn
    assert changed.description == "Docs."


def test_task_with_options_returns_a_new_task_and_leaves_the_original_untouched() -> None:
    @task(name="original", tags=["a"], retries=2)
    def load() -> None:
        pass

    changed = load.with_options(name="changed", retries=0)

    assert isinstance(changed, Task)
    assert changed is not load
    assert (changed.name, changed.retries, changed.tags) == ("changed", 0, {"a"})
    assert (load.name, load.retries, load.tags) == ("original", 2, {"a"})
    assert changed.fn is load.fn


@pytest.mark.parametrize("decorate", [flow, task], ids=["flow", "task"])
def test_with_options_given_none_keeps_the_current_value(decorate: Any) -> None:
    original = decorate(name="kept", retries=3, timeout_seconds=7, description="D.")(plain)

    same = original.with_options(name=None, retries=None, timeout_seconds=None, description=None)

    assert (same.name, same.retries, same.timeout_seconds, same.description) == (
        "kept", 3, 7.0, "D.",
    )


@pytest.mark.parametrize("decorate", [flow, task], ids=["flow", "task"])
def test_with_options_timeout_zero_removes_the_timeout(decorate: Any) -> None:
    original = decorate(timeout_seconds=7)(plain)

    assert original.with_options(timeout_seconds=0).timeout_seconds is None
    assert original.timeout_seconds == 7.0


def test_with_options_keeps_options_that_were_not_changed() -> None:
    @flow(
        version="3",
        flow_run_name="run-{x}",
        retries=2,
        retry_delay_seconds=4,
        validate_parameters=False,
        log_prints=True,
        persist_result=True,
        on_completion=[first_hook],
    )
    def etl(x: int) -> int:
        return x

    changed = etl.with_options(name="other")

    assert changed.version == "3"
    assert changed.flow_run_name == "run-{x}"
    assert (changed.retries, changed.retry_delay_seconds) == (2, 4)
    assert changed.validate_parameters is False
    assert changed.log_prints is True
    assert changed.persist_result is True
    assert changed.on_completion_hooks == [first_hook]


def test_task_with_options_replaces_the_tags_instead_of_merging_them() -> None:
    load = task(tags=["a", "b"])(plain)

    assert load.with_options(tags=["c"]).tags == {"c"}
    assert load.tags == {"a", "b"}


def test_with_options_replaces_hooks_that_are_given() -> None:
    etl = flow(on_failure=[first_hook])(plain)

    assert etl.with_options(on_failure=[second_hook]).on_failure_hooks == [second_hook]
    assert etl.on_failure_hooks == [first_hook]


def test_with_options_keeps_hooks_registered_with_the_decorator_form() -> None:
    # Prefect's with_options passes `on_completion or self.on_completion_hooks`, so hooks added
    # with @my_flow.on_completion survive a with_options call.
    @flow
    def etl() -> None:
        pass

    @etl.on_completion
    def notify(*args: Any) -> None:
        pass

    @task(on_failure=[first_hook])
    def load() -> None:
        pass

    @load.on_failure
    def alert(*args: Any) -> None:
        pass

    assert etl.with_options(name="renamed").on_completion_hooks == [notify]
    assert load.with_options(retries=1).on_failure_hooks == [first_hook, alert]


def test_with_options_checks_the_new_values_like_the_decorator_does() -> None:
    load = task(plain)

    with pytest.raises(OptionError, match="-1"):
        load.with_options(retries=-1)
    with pytest.raises(OptionError, match="retry_delay_seconds"):
        flow(plain).with_options(retry_delay_seconds=[1, 2])


def test_a_flow_made_with_with_options_runs_under_its_new_name(events: MemorySink) -> None:
    @flow
    def etl() -> int:
        return 7

    assert etl.with_options(name="etl-nightly")() == 7

    [run] = events.flow_runs()
    assert run.flow_name == "etl-nightly"


def test_a_task_made_with_with_options_runs_with_its_new_name_and_tags(events: MemorySink) -> None:
    @task
    def load() -> int:
        return 1

    assert load.with_options(name="load-eu", tags=["eu"])() == 1

    [run] = events.task_runs()
    assert run.task_name == "load-eu"
    assert "eu" in run.tags


# -- unknown option names ------------------------------------------------------------------------
def test_an_unknown_task_option_raises_an_option_error_naming_it() -> None:
    with pytest.raises(OptionError) as caught:
        task(retires=2)

    assert caught.value.option == "retires"
    assert "'retires'" in str(caught.value)
    assert "retries" in str(caught.value).split("'retires'", 1)[1]  # the valid names follow


def test_an_unknown_flow_option_raises_an_option_error_naming_it() -> None:
    with pytest.raises(OptionError) as caught:
        flow(timeout=5)

    assert caught.value.option == "timeout"
    assert "'timeout'" in str(caught.value)
    assert "timeout_seconds" in str(caught.value)


def test_flows_have_no_tags_option() -> None:
    with pytest.raises(OptionError, match="'tags'"):
        flow(tags=["a"])


def test_tasks_have_no_on_crashed_or_on_cancellation_option() -> None:
    with pytest.raises(OptionError, match="'on_crashed'"):
        task(on_crashed=[first_hook])
    with pytest.raises(OptionError, match="'on_cancellation'"):
        task(on_cancellation=[first_hook])


@pytest.mark.parametrize("decorate", [flow, task], ids=["flow", "task"])
def test_with_options_rejects_an_unknown_option_and_names_it(decorate: Any) -> None:
    original = decorate(plain)

    with pytest.raises(OptionError) as caught:
        original.with_options(retry_count=3)

    assert caught.value.option == "retry_count"
    assert "'retry_count'" in str(caught.value)
    assert "retries" in str(caught.value)


# -- bad values fail at decoration time -----------------------------------------------------------
BAD_VALUES: list[tuple[Any, str, Any, str, str]] = [
    # (decorator, option, bad value, text quoting the value, hint text)
    (flow, "retries", -1, "-1", "0"),
    (task, "retries", -1, "-1", "0"),
    (task, "retries", "2", "'2'", ">= 0"),
    (flow, "retries", 1.5, "1.5", "whole number"),
    (task, "retry_delay_seconds", -1, "-1", ">= 0"),
    (flow, "retry_delay_seconds", -1, "-1", ">= 0"),
    (task, "retry_delay_seconds", [1.0] * 51, "51", "50"),
    (task, "retry_delay_seconds", "5", "'5'", "seconds"),
    (flow, "retry_delay_seconds", [1, 2], "[1, 2]", "task"),
    (task, "timeout_seconds", -5, "-5", "None"),
    (flow, "timeout_seconds", -5, "-5", "None"),
    (task, "retry_jitter_factor", -1, "-1", ">= 0"),
    (task, "tags", "a", "'a'", "tags=['a']"),
    (task, "tags", ["a", 1], "1", "strings"),
    (flow, "on_completion", my_hook, "my_hook", "on_completion=[my_hook]"),
    (task, "on_completion", my_hook, "my_hook", "on_completion=[my_hook]"),
    (flow, "on_failure", [1], "1", "callable"),
    (task, "on_failure", [first_hook, "x"], "'x'", "callable"),
    (flow, "name", 123, "123", "string"),
    (task, "name", 123, "123", "string"),
    (task, "task_run_name", 5, "5", "template"),
    (flow, "flow_run_name", 5, "5", "template"),
    (task, "cache_expiration", 5, "5", "timedelta"),
    (task, "retry_condition_fn", "always", "'always'", "callable"),
    (task, "cache_key_fn", "inputs", "'inputs'", "callable"),
    (flow, "validate_parameters", "yes", "'yes'", "True"),
    (flow, "task_runner", "threads", "'threads'", "task runner"),
]


@pytest.mark.parametrize(
    ("decorate", "option", "value", "quoted", "hint"),
    BAD_VALUES,
    ids=[f"{row[0].__name__}-{row[1]}={row[2]!r}"[:60] for row in BAD_VALUES],
)
def test_a_bad_option_value_raises_an_option_error_at_decoration_quoting_the_value(
    decorate: Any, option: str, value: Any, quoted: str, hint: str
) -> None:
    with pytest.raises(OptionError) as caught:
        decorate(**{option: value})(plain)

    message = str(caught.value)
    assert caught.value.option == option
    assert caught.value.value is value
    assert option in message
    assert quoted in message
    assert hint in message


def test_a_negative_delay_inside_a_delay_list_is_rejected_and_quoted() -> None:
    with pytest.raises(OptionError) as caught:
        task(retries=2, retry_delay_seconds=[1, -2])(plain)

    assert caught.value.option == "retry_delay_seconds"
    assert "-2" in str(caught.value)
    assert ">= 0" in str(caught.value)


def test_a_bad_option_value_fails_before_the_function_is_ever_called() -> None:
    calls: list[int] = []

    with pytest.raises(OptionError):

        @task(retries=-1)
        def never() -> None:
            calls.append(1)

    assert calls == []


def test_option_errors_are_value_errors_so_generic_handlers_still_catch_them() -> None:
    with pytest.raises(ValueError, match="-1"):
        task(retries=-1)(plain)


@pytest.mark.parametrize("bad", ["a/b", "a%b", "a&b", "a>b", "a<b"])
def test_a_flow_name_with_a_forbidden_character_raises_an_invalid_name_error(bad: str) -> None:
    with pytest.raises(InvalidNameError) as caught:
        flow(name=bad)(plain)

    assert repr(bad) in str(caught.value)
    assert caught.value.option == "name"
    assert isinstance(caught.value, OptionError)


def test_a_forbidden_character_error_suggests_a_usable_name() -> None:
    with pytest.raises(InvalidNameError, match="'daily-load'"):
        flow(name="daily/load")(plain)


def test_a_callable_passed_as_a_name_gets_a_hint_to_call_it() -> None:
    def make_name() -> str:
        return "n"

    with pytest.raises(OptionError, match="Perhaps you meant to call it"):
        flow(name=make_name)(plain)


def test_a_bare_hook_error_shows_how_to_write_the_list() -> None:
    with pytest.raises(OptionError) as caught:
        flow(on_completion=my_hook)(plain)

    assert "on_completion=[my_hook]" in str(caught.value)


# -- reserved parameter names and non-callables ---------------------------------------------------
@pytest.mark.parametrize("decorate", [flow, task], ids=["flow", "task"])
@pytest.mark.parametrize("reserved", ["return_state", "wait_for"])
def test_a_reserved_parameter_name_raises_a_reserved_argument_error(
    decorate: Any, reserved: str
) -> None:
    namespace: dict[str, Any] = {}
    exec(f"def uses_reserved(x, {reserved}=None):\n    return x\n", namespace)

    with pytest.raises(ReservedArgumentError) as caught:
        decorate(namespace["uses_reserved"])

    assert repr(reserved) in str(caught.value)
    assert "Rename" in str(caught.value)


def test_a_reserved_parameter_name_is_rejected_with_options_too() -> None:
    with pytest.raises(ReservedArgumentError, match="'wait_for'"):

        @task(retries=1)
        def waits(wait_for: list[int]) -> None:
            pass


def test_reserved_argument_errors_are_type_errors_as_in_prefect() -> None:
    def bad(return_state: bool) -> None:
        pass

    with pytest.raises(TypeError):
        flow(bad)


@pytest.mark.parametrize("decorate", [flow, task], ids=["flow", "task"])
@pytest.mark.parametrize("thing", [5, "load", [1, 2]], ids=["int", "str", "list"])
def test_decorating_something_that_is_not_callable_raises_a_type_error(
    decorate: Any, thing: Any
) -> None:
    with pytest.raises(TypeError) as caught:
        decorate(thing)

    assert repr(thing) in str(caught.value)


# -- hook registration ----------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["completion", "failure", "cancellation", "crashed", "running"])
def test_flow_hook_registration_decorators_append_and_return_the_hook(kind: str) -> None:
    etl = flow(**{f"on_{kind}": [first_hook]})(plain)

    register = getattr(etl, f"on_{kind}")

    @register
    def added(*args: Any) -> None:
        pass

    assert added.__name__ == "added"  # the decorator hands the function back
    assert getattr(etl, f"on_{kind}_hooks") == [first_hook, added]


@pytest.mark.parametrize("kind", ["completion", "failure", "running"])
def test_task_hook_registration_decorators_append_and_return_the_hook(kind: str) -> None:
    load = task(plain)

    register = getattr(load, f"on_{kind}")
    returned = register(first_hook)
    register(second_hook)

    assert returned is first_hook
    assert getattr(load, f"on_{kind}_hooks") == [first_hook, second_hook]


def test_tasks_offer_transaction_hook_registration_for_commit_and_rollback() -> None:
    # Prefect §1.2: tasks have .on_completion, .on_failure, .on_running, .on_commit, .on_rollback.
    load = task(plain)

    assert load.on_commit(first_hook) is first_hook
    assert load.on_rollback(second_hook) is second_hook
    assert load.on_commit_hooks == [first_hook]
    assert load.on_rollback_hooks == [second_hook]


def test_registering_something_that_is_not_callable_as_a_hook_raises() -> None:
    etl = flow(plain)

    with pytest.raises(OptionError, match="on_failure"):
        etl.on_failure("not a function")  # type: ignore[arg-type]


def test_a_hook_registered_with_the_decorator_form_runs_when_the_flow_completes(
    events: MemorySink,
) -> None:
    seen: list[tuple[str, str]] = []

    @flow
    def etl() -> int:
        return 1

    @etl.on_completion
    def record(flow_obj: Any, run: Any, state: Any) -> None:
        seen.append((flow_obj.name, state.name))

    etl()

    assert seen == [("etl", "Completed")]


def test_registering_a_hook_on_one_flow_does_not_change_a_copy_made_earlier() -> None:
    etl = flow(plain)
    copy = etl.with_options(name="copy")

    etl.on_completion(first_hook)

    assert copy.on_completion_hooks == []


def test_a_task_in_a_transaction_commits_with_the_block_and_rolls_back_when_it_raises() -> None:
    from headwater.core.transactions import transaction

    seen: list[str] = []

    @task(on_commit=[lambda txn: seen.append(f"commit {txn.state.name}")],
          on_rollback=[lambda txn: seen.append(f"rollback {txn.state.name}")])
    def write(x: int) -> int:
        return x

    @flow
    def etl() -> None:
        with transaction():
            write(1)
            assert seen == []  # decided when the block ends
        with pytest.raises(KeyError), transaction():
            write(2)
            raise KeyError("stop")

    etl()
    assert seen == ["commit STAGED", "rollback STAGED"]  # hooks run before the decision


def test_decorating_a_task_loads_neither_the_cache_policies_nor_openssl() -> None:
    # A short script's first flow call starts its run store's writer; what decorating loads
    # delays that start, so the default policy is found only when first read.
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from headwater import task\n"
        "@task\n"
        "def hi(): return 'hi'\n"
        "print(sorted(m for m in ('headwater.core.cache_policies', '_hashlib') "
        "if m in sys.modules))\n"
        "from headwater.cache_policies import DEFAULT\n"
        "print(hi.cache_policy is DEFAULT)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["[]", "True"]


def test_the_default_cache_policy_can_be_replaced_on_a_task() -> None:
    from headwater.cache_policies import DEFAULT, INPUTS

    @task
    def plain(x: int) -> int:
        return x

    assert plain.cache_policy is DEFAULT
    plain.cache_policy = INPUTS
    assert plain.cache_policy is INPUTS
    assert plain.with_options(name="again").cache_policy is DEFAULT  # options, not attributes


def test_a_task_copied_or_pickled_before_its_cache_policy_is_read_keeps_the_default() -> None:
    import copy
    import pickle

    import cloudpickle

    from headwater.cache_policies import DEFAULT

    def make() -> Any:
        @task
        def local(x: int) -> int:
            return x

        return local

    for again in (copy.copy, copy.deepcopy, lambda t: cloudpickle.loads(cloudpickle.dumps(t)),
                  lambda t: pickle.loads(cloudpickle.dumps(t))):
        assert again(make()).cache_policy is DEFAULT
