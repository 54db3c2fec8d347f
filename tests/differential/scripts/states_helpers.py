# behaviour: prefect.states helpers: raise_state_exception, StateGroup, is_state_iterable
from prefect.states import (
    Completed,
    Failed,
    StateGroup,
    is_state_iterable,
    raise_state_exception,
)

raise_state_exception(Completed())
try:
    raise_state_exception(Failed(data=ValueError("bad")))
except ValueError as exc:
    print("raised", exc)
group = StateGroup([Completed(), Failed(), Completed()])
print(group.fail_count, group.all_completed(), group.any_failed(), group.all_final())
print(is_state_iterable([Completed()]), is_state_iterable(Completed()), is_state_iterable([]))
