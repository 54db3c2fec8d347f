"""The record types are named tuples made without `typing.NamedTuple`'s evaluation of their
annotations (see `_RecordType` in events/records.py): they must behave as typing's would."""

from __future__ import annotations

import pickle
from typing import Any, NamedTuple

from headwater.events import records
from headwater.events.records import Event, TaskRunCreated


def test_a_record_has_its_fields_defaults_docstring_and_annotations_as_text() -> None:
    run = TaskRunCreated("id", "inc-1", "inc", "inc-0a1b", None, {}, frozenset(), 1.0)
    assert run.call is None and run._replace(call=3).call == 3
    assert TaskRunCreated._fields[-1] == "call" and TaskRunCreated._field_defaults == {"call": None}
    assert Event._field_defaults["payload"] == {} and Event("e", {}).related == ()
    assert TaskRunCreated.__doc__ is not None and TaskRunCreated.__doc__.startswith("A task run")
    assert TaskRunCreated.__annotations__["flow_run_id"] == "UUID | None"
    assert (TaskRunCreated.__module__, TaskRunCreated.__qualname__) == (
        "headwater.events.records", "TaskRunCreated")
    assert pickle.loads(pickle.dumps(run)) == run


def test_a_record_type_keeps_what_its_body_defines_as_typing_does() -> None:
    base: Any = records.NamedTuple

    class Ours(base):  # type: ignore[misc, valid-type]
        """doc"""

        x: int
        y: str = "y"

        def both(self) -> str:
            return f"{self.x}{self.y}"

    class Theirs(NamedTuple):
        """doc"""

        x: int
        y: str = "y"

        def both(self) -> str:
            return f"{self.x}{self.y}"

    for made in (Ours, Theirs):
        assert made(1).both() == "1y" and made._fields == ("x", "y") and made.__doc__ == "doc"
        assert made.__qualname__.endswith(f"<locals>.{made.__name__}")
        assert isinstance(made(1), tuple)
