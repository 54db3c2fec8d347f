# behaviour: prefect.cache_policies names, reprs and equality (DEFAULT is TaskSource + RunId +
#   Inputs; NO_CACHE and NONE are equal _None instances)
# behaviour: combining policies with + and - (adding NO_CACHE, merging Inputs, excluding inputs,
#   subtracting a non-string raises TypeError) as Prefect does
# behaviour: configure() keeps the isolation level as given; + refuses different storages or
#   isolation levels with ValueError
# behaviour: compute_key shapes: from_cache_key_fn, empty inputs, all inputs excluded, missing
#   context, unhashable inputs (ValueError), the base class (NotImplementedError)
# behaviour: a task's cache_policy is DEFAULT by default, NO_CACHE with persist_result=False and
#   a CacheKeyFnPolicy with cache_key_fn
import threading

from prefect import task
from prefect.cache_policies import (
    DEFAULT,
    FLOW_PARAMETERS,
    INPUTS,
    NO_CACHE,
    NONE,
    RUN_ID,
    TASK_SOURCE,
    CacheKeyFnPolicy,
    CachePolicy,
    CompoundCachePolicy,
    _None,
)
from prefect.transactions import IsolationLevel

print(DEFAULT)
print(NO_CACHE, NO_CACHE == NONE, NO_CACHE is NONE, isinstance(NO_CACHE, _None))
print(DEFAULT + NO_CACHE == DEFAULT, (NO_CACHE + INPUTS) is INPUTS, (DEFAULT + NO_CACHE) is DEFAULT)
p = INPUTS + INPUTS
print(p)
print(INPUTS - "x", (INPUTS - "x") - "y")
print((DEFAULT - "x").policies[-1])
print((TASK_SOURCE + RUN_ID) - "x" == TASK_SOURCE + RUN_ID)
try:
    INPUTS - 1
except TypeError as e:
    print("TypeError", e)
c = INPUTS.configure(isolation_level="SERIALIZABLE")
print(c.isolation_level, INPUTS.isolation_level, type(c).__name__)
c2 = INPUTS.configure(isolation_level=IsolationLevel.SERIALIZABLE)
print(c2.isolation_level)
try:
    INPUTS.configure(key_storage="/a") + TASK_SOURCE.configure(key_storage="/b")
except ValueError as e:
    print("ValueError", e)
try:
    c + TASK_SOURCE.configure(isolation_level="READ_COMMITTED")
except ValueError as e:
    print("ValueError", e)
print((c + TASK_SOURCE).isolation_level)
f = CachePolicy.from_cache_key_fn(lambda ctx, inputs: "k")
print(type(f).__name__, f.compute_key(None, {}, {}))
print(INPUTS.compute_key(None, {}, {}), type(INPUTS.compute_key(None, {"a": 1}, {})).__name__)
print((INPUTS - "a").compute_key(None, {"a": 1}, {}) is None)
print(FLOW_PARAMETERS.compute_key(None, {}, {}), TASK_SOURCE.compute_key(None, {}, {}),
      RUN_ID.compute_key(None, {}, {}))
print(CompoundCachePolicy(policies=[]).compute_key(None, {}, {}))
print(CacheKeyFnPolicy().compute_key(None, {}, {}))

try:
    INPUTS.compute_key(None, {"lock": threading.Lock()}, {})
except Exception as e:
    print("unhashable:", isinstance(e, ValueError))
try:
    CachePolicy().compute_key(None, {}, {})
except NotImplementedError:
    print("NotImplementedError")
@task
def t(x): return x
@task(cache_policy=INPUTS)
def u(x): return x
@task(persist_result=False)
def v(x): return x
@task(cache_key_fn=lambda c, i: "k")
def w(x): return x
print(t.cache_policy, u.cache_policy)
print(v.cache_policy, type(w.cache_policy).__name__)
