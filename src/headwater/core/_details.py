"""A state's details and the marker of a state without data: the parts of `core.states` that
need no `State` (kept apart to keep that module readable; `core.states` exports them)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from uuid import UUID


class _NoData:
    """Marks a state that carries no data (a returned None is data). Survives pickling as the
    same singleton, so states sent back from worker processes keep meaning "no data"."""

    __slots__ = ()

    def __reduce__(self) -> str:
        return "_NO_DATA"

    def __repr__(self) -> str:
        return "<no data>"


_NO_DATA: Any = _NoData()


class StateDetails:
    """Links and scheduling facts attached to a state."""

    __slots__ = (
        "cache_expiration",
        "cache_key",
        "flow_run_id",
        "retriable",
        "run_count",
        "scheduled_time",
        "task_run_id",
    )

    def __init__(
        self,
        *,
        flow_run_id: UUID | None = None,
        task_run_id: UUID | None = None,
        scheduled_time: float | None = None,
        cache_key: str | None = None,
        cache_expiration: float | None = None,
        retriable: bool | None = None,
        run_count: int | None = None,
    ) -> None:
        self.flow_run_id = flow_run_id
        self.task_run_id = task_run_id
        self.scheduled_time = scheduled_time
        self.cache_key = cache_key
        self.cache_expiration = cache_expiration
        self.retriable = retriable
        self.run_count = run_count

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{name}={getattr(self, name)!r}"
            for name in self.__slots__
            if getattr(self, name) is not None
        )
        return f"StateDetails({fields})"

    def __reduce__(self) -> tuple[Any, ...]:
        # States travel back from workers with every outcome: a compact, C-built form.
        return (_details, tuple(getattr(self, name) for name in self.__slots__))


def _details(*values: Any) -> StateDetails:
    details = StateDetails.__new__(StateDetails)
    for name, value in zip(StateDetails.__slots__, values, strict=True):
        setattr(details, name, value)
    return details
