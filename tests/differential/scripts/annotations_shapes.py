# behaviour: quote, unmapped, allow_failure, opaque and freeze are one-element tuples with
#   value/unwrap/rewrap, equal only to the same annotation type, with Prefect's repr
# behaviour: freeze needs a JSON-serializable value, unfreeze() gives it back, and a task given
#   freeze(x) receives x; Quote is deprecated; NotSet exists
import warnings

from prefect import flow, task
from prefect.utilities.annotations import (
    BaseAnnotation,
    NotSet,
    Quote,
    allow_failure,
    freeze,
    opaque,
    quote,
    unmapped,
)

for ann in (quote, unmapped, allow_failure, opaque, freeze):
    a = ann([1, 2]) if ann is not freeze else ann({"k": [1, 2]})
    print(repr(a), isinstance(a, tuple), isinstance(a, BaseAnnotation), len(a), tuple(a),
          a.value == a.unwrap(), type(a.rewrap(3)).__name__)
print(quote(1) == quote(1), quote(1) == unmapped(1), quote(1) == (1,), quote(1) == (1,))
print(unmapped(5)[0], unmapped(5)[99], quote([1]).unquote(), freeze(3).unfreeze())
(v,) = quote("x")
print(v)
try:
    freeze(object())
except ValueError as e:
    print("ValueError", e)
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    q = Quote(1)
    print(type(q).__name__, isinstance(q, quote), [type(x.message).__name__ for x in w])
print(NotSet is not None)


@task
def show(x):
    return type(x).__name__, x


@flow
def f():
    return show(freeze(4)), show(quote(freeze(4)))

print(f())
