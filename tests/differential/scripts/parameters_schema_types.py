# behaviour: Flow.parameters describes types, defaults, positions, *args, **kwargs and models
import datetime

import pydantic
from prefect import flow


class M(pydantic.BaseModel):
    a: int


@flow
def f(x: int, name: str = "a", *args, flag: bool = False,
      when: datetime.date | None = None, m: M = None, **kw):
    pass


@flow
def g():
    pass


print(f.parameters.model_dump())
print(g.parameters.model_dump())
print(isinstance(f.parameters, pydantic.BaseModel))
