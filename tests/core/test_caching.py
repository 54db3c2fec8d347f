"""Cache policies and cached task runs: keys, hits, expiry, refresh, activation rules."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from headwater import flow, task
from headwater.cache_policies import (
    DEFAULT,
    FLOW_PARAMETERS,
    INPUTS,
    NO_CACHE,
    RUN_ID,
    TASK_SOURCE,
    CacheKeyFnPolicy,
    CompoundCachePolicy,
    Inputs,
)
from headwater.core.hashing import hash_objects
from headwater.errors import OptionError
from headwater.events.memory import MemorySink
from headwater.tasks import task_input_hash


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("HEADWATER_HOME", str(tmp_path))
    yield tmp_path


def _final_names(events: MemorySink) -> list[str]:
    return [events.state_names(r.task_run_id)[-1] for r in events.task_runs()]


# -- policies as values --------------------------------------------------------------------------
def test_default_is_inputs_plus_task_source_plus_run_id_with_inputs_last() -> None:
    assert isinstance(DEFAULT, CompoundCachePolicy)
    assert [type(p).__name__ for p in DEFAULT.policies] == ["TaskSource", "RunId", "Inputs"]


def test_adding_no_cache_changes_nothing_and_inputs_merge_into_one() -> None:
    assert NO_CACHE + INPUTS is INPUTS
    assert INPUTS + NO_CACHE is INPUTS
    combined = (INPUTS - "a") + TASK_SOURCE + (INPUTS - "b")
    assert isinstance(combined, CompoundCachePolicy)
    [inputs] = [p for p in combined.policies if isinstance(p, Inputs)]
    assert inputs.exclude == ["a", "b"]
    assert isinstance(combined.policies[-1], Inputs)


def test_subtracting_an_input_leaves_it_out_of_the_key() -> None:
    policy = INPUTS - "noise"
    key1 = policy.compute_key(None, {"x": 1, "noise": 1}, {})
    key2 = policy.compute_key(None, {"x": 1, "noise": 2}, {})
    assert key1 == key2 != INPUTS.compute_key(None, {"x": 1, "noise": 2}, {})
    with pytest.raises(TypeError):
        INPUTS - 3  # type: ignore[operator]


def test_policies_with_different_isolation_levels_cannot_be_added() -> None:
    with pytest.raises(ValueError, match="isolation levels"):
        INPUTS.configure(isolation_level="SERIALIZABLE") + TASK_SOURCE.configure(
            isolation_level="READ_COMMITTED"
        )
    with pytest.raises(OptionError, match="not one of"):
        INPUTS.configure(isolation_level="EVENTUAL")


def test_hashes_are_stable_and_order_independent() -> None:
    assert hash_objects({"a": 1, "b": [1, 2]}) == hash_objects({"b": [1, 2], "a": 1})
    assert hash_objects({1, 2, 3}) == hash_objects({3, 2, 1})
    assert hash_objects(1) != hash_objects("1")


# -- activation rules
def test_nothing_is_cached_by_default(home: Path, events: MemorySink) -> None:
    calls = []

    @task
    def plain(x: int) -> int:
        calls.append(x)
        return x

    @flow
    def twice() -> None:
        plain(1)
        plain(1)

    twice()
    assert calls == [1, 1]
    assert not (home / "storage").exists()


def test_setting_a_policy_turns_persistence_on_and_the_second_call_is_cached(
    home: Path, events: MemorySink
) -> None:
    calls = []

    @task(cache_policy=INPUTS)
    def double(x: int) -> int:
        calls.append(x)
        return x * 2

    @flow
    def twice() -> tuple[int, int]:
        return double(4), double(4)

    assert twice() == (8, 8)
    assert calls == [4]
    assert _final_names(events) == ["Completed", "Cached"]
    [_, cached] = events.task_runs()
    assert events.state_names(cached.task_run_id) == ["Pending", "Running", "Cached"]
    assert "Finished in state Cached(type=COMPLETED)" in events.messages(cached.task_run_id)


def test_the_default_policy_caches_within_one_flow_run_only(home: Path) -> None:
    calls = []

    @task(persist_result=True)
    def work(x: int) -> int:
        calls.append(x)
        return x

    @flow
    def run_twice() -> None:
        work(1)
        work(1)

    run_twice()
    run_twice()
    assert calls == [1, 1]  # once per flow run (RUN_ID is part of DEFAULT)


def test_inputs_policy_caches_across_flow_runs(home: Path) -> None:
    calls = []

    @task(cache_policy=INPUTS)
    def work(x: int) -> int:
        calls.append(x)
        return x

    @flow
    def once(x: int) -> int:
        return work(x)

    assert [once(1), once(1), once(2)] == [1, 1, 2]
    assert calls == [1, 2]


def test_run_id_outside_a_flow_keys_on_the_task_run(home: Path) -> None:
    calls = []

    @task(cache_policy=RUN_ID)
    def solo() -> int:
        calls.append(1)
        return 5

    assert solo() == 5 and solo() == 5
    assert calls == [1, 1]


def test_flow_parameters_policy_keys_on_the_flow_runs_parameters(home: Path) -> None:
    calls = []

    @task(cache_policy=FLOW_PARAMETERS)
    def work() -> int:
        calls.append(1)
        return len(calls)

    @flow
    def outer(day: str) -> int:
        return work()

    assert outer("mon") == 1 and outer("mon") == 1 and outer("tue") == 2


def test_task_source_policy_changes_when_the_code_changes(home: Path) -> None:
    @task(cache_policy=TASK_SOURCE)
    def version_a() -> str:
        return "a"

    @task(cache_policy=TASK_SOURCE)
    def version_b() -> str:
        return "b"

    assert version_a() == "a" and version_b() == "b"


def test_a_cache_key_fn_decides_the_key(home: Path, events: MemorySink) -> None:
    seen: list[Any] = []

    def by_first_letter(ctx: Any, inputs: dict[str, Any]) -> str:
        seen.append((ctx.task.name, dict(inputs)))
        return inputs["word"][0]

    @task(cache_key_fn=by_first_letter)
    def shout(word: str) -> str:
        return word.upper()

    assert shout("apple") == "APPLE"
    assert shout("avocado") == "APPLE"  # same key 'a'
    assert shout("banana") == "BANANA"
    assert seen[0] == ("shout", {"word": "apple"})


def test_task_input_hash_caches_on_the_arguments(home: Path) -> None:
    calls = []

    @task(cache_key_fn=task_input_hash)
    def work(x: int) -> int:
        calls.append(x)
        return x

    work(1), work(1), work(2)
    assert calls == [1, 2]


def test_a_cache_key_fn_returning_none_means_no_caching(home: Path) -> None:
    calls = []

    @task(cache_key_fn=lambda ctx, inputs: None)
    def work() -> int:
        calls.append(1)
        return 1

    work(), work()
    assert calls == [1, 1]


def test_persist_result_false_wins_over_a_policy(home: Path) -> None:
    calls = []

    @task(cache_policy=INPUTS, persist_result=False)
    def work() -> int:
        calls.append(1)
        return 1

    work(), work()
    assert calls == [1, 1]


def test_the_settings_variable_persists_results_by_default(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEADWATER_RESULTS_PERSIST_BY_DEFAULT", "true")
    calls = []

    @task(cache_policy=INPUTS + TASK_SOURCE)
    def work() -> int:
        calls.append(1)
        return 1

    @task
    def persisted_default() -> int:
        return 2

    work(), work(), persisted_default()
    assert calls == [1]
    assert len(list((home / "storage").iterdir())) == 2


# -- expiry and refresh
def test_an_expired_record_is_a_miss(home: Path) -> None:
    calls = []

    @task(cache_policy=INPUTS, cache_expiration=timedelta(seconds=-1))
    def work(x: int) -> int:
        calls.append(x)
        return x

    work(1), work(1)
    assert calls == [1, 1]


def test_inputs_policy_gives_no_key_for_a_task_without_inputs(home: Path) -> None:
    calls = []

    @task(cache_policy=INPUTS)
    def no_inputs() -> int:
        calls.append(1)
        return 1

    no_inputs(), no_inputs()
    assert calls == [1, 1]  # as Prefect: INPUTS of nothing is no key, so no cache


def test_an_unexpired_record_is_a_hit(home: Path) -> None:
    calls = []

    @task(cache_policy=INPUTS, cache_expiration=timedelta(hours=1))
    def work(x: int) -> int:
        calls.append(x)
        return x

    work(1), work(1)
    assert calls == [1]


def test_refresh_cache_runs_the_task_and_rewrites_the_record(home: Path) -> None:
    counter = [0]

    def body(x: str) -> int:
        counter[0] += 1
        return counter[0]

    cached = task(cache_policy=INPUTS)(body)
    refreshing = cached.with_options(refresh_cache=True)
    assert cached("k") == 1
    assert refreshing("k") == 2
    assert cached("k") == 2  # the refreshed value is what the cache now holds


# -- hits and hooks, unhashable inputs
def test_a_cache_hit_still_runs_on_completion_hooks(home: Path) -> None:
    seen = []

    @task(cache_policy=INPUTS, on_completion=[lambda t, r, s: seen.append(s.name)])
    def work(x: int) -> int:
        return x

    work(1), work(1)
    assert seen == ["Completed", "Cached"]


def test_an_unhashable_input_logs_an_error_naming_it_and_the_task_still_runs(
    home: Path, events: MemorySink
) -> None:
    @task(cache_policy=INPUTS)
    def uses_lock(lock: Any, x: int) -> int:
        return x

    @flow
    def holder() -> int:
        return uses_lock(threading.Lock(), 3)

    assert holder() == 3
    text = "\n".join(events.messages())
    assert "Error encountered when computing cache key" in text
    assert "input 'lock'" in text and "INPUTS - 'lock'" in text


def test_a_bad_cache_policy_value_is_rejected_at_decoration() -> None:
    with pytest.raises(OptionError, match="cache policy"):
        task(cache_policy="INPUTS")(lambda: 1)  # type: ignore[arg-type]


def test_a_failed_run_is_not_cached(home: Path) -> None:
    calls = []

    @task(cache_policy=INPUTS)
    def flaky(x: int) -> int:
        calls.append(x)
        if len(calls) == 1:
            raise ValueError("first time")
        return x

    with pytest.raises(ValueError):
        flaky(1)
    assert flaky(1) == 1 and flaky(1) == 1
    assert len(calls) == 2


def test_flow_retries_reuse_persisted_task_results(home: Path) -> None:
    task_calls, flow_calls = [], []

    @task(persist_result=True)
    def expensive() -> int:
        task_calls.append(1)
        return 7

    @flow(retries=1)
    def flaky_flow() -> int:
        value = expensive()
        flow_calls.append(1)
        if len(flow_calls) == 1:
            raise RuntimeError("flow failed after the task")
        return value

    assert flaky_flow() == 7
    assert len(task_calls) == 1 and len(flow_calls) == 2


def test_cache_key_fn_policy_can_be_given_as_a_policy(home: Path) -> None:
    calls = []

    @task(cache_policy=CacheKeyFnPolicy(cache_key_fn=lambda ctx, inputs: "fixed"))
    def work(x: int) -> int:
        calls.append(x)
        return x

    assert work(1) == 1 and work(2) == 1
    assert calls == [1]


def test_cache_policy_shapes_follow_prefect() -> None:
    from headwater.core.cache_policies import (
        DEFAULT,
        INPUTS,
        NO_CACHE,
        TASK_SOURCE,
        CacheKeyFnPolicy,
        CachePolicy,
        CompoundCachePolicy,
        _None,
    )

    # Adding NO_CACHE to a compound keeps it as a part (Prefect does); its key is unchanged.
    with_none = DEFAULT + NO_CACHE
    assert isinstance(with_none, CompoundCachePolicy)
    assert any(isinstance(p, _None) for p in with_none.policies)
    assert (INPUTS + NO_CACHE) is INPUTS and (NO_CACHE + INPUTS) is INPUTS
    # All inputs excluded still gives a key (of no inputs); no inputs at all gives none.
    assert (INPUTS - "a").compute_key(None, {"a": 1}, {}) is not None
    assert INPUTS.compute_key(None, {}, {}) is None
    # configure() keeps the level as given; + refuses mixed levels.
    serial = INPUTS.configure(isolation_level="SERIALIZABLE")
    assert serial.isolation_level == "SERIALIZABLE" and serial.isolation == "SERIALIZABLE"
    with pytest.raises(ValueError, match="isolation levels"):
        serial + TASK_SOURCE.configure(isolation_level="READ_COMMITTED")
    with pytest.raises(TypeError, match="Can only subtract strings"):
        INPUTS - 1  # type: ignore[operator]
    fn_policy = CachePolicy.from_cache_key_fn(lambda ctx, inputs: "k")
    assert isinstance(fn_policy, CacheKeyFnPolicy) and fn_policy.compute_key(None, {}, {}) == "k"


def test_a_task_shows_the_cache_policy_prefect_would() -> None:
    from headwater.core.cache_policies import DEFAULT, INPUTS, NO_CACHE, CacheKeyFnPolicy

    def plain(x: int) -> int:
        return x

    assert task(plain).cache_policy is DEFAULT
    assert task(cache_policy=INPUTS)(plain).cache_policy is INPUTS
    assert task(persist_result=False)(plain).cache_policy is NO_CACHE
    assert isinstance(task(cache_key_fn=lambda c, i: "k")(plain).cache_policy, CacheKeyFnPolicy)
    assert task(result_storage_key="r-{x}")(plain).cache_policy is None
