"""What a writer has done so far: kept by the writer, sent up by the writer process with every
acknowledgement, read by the store sink (`StoreSink.stats`), tests and benchmarks.

A module of its own, without the writer: the flow's process keeps the writer process's figures
without loading what writing needs.
"""

from __future__ import annotations

from typing import Any

_FIELDS = ("records", "batches", "dropped", "failures", "max_window", "max_write", "waiting")


class WriterStats:
    """What the writer has done so far (read them in tests and benchmarks).

    Attributes:
        records: records stored. batches: transactions committed. dropped: records lost (a
        record that could not be encoded, or a spill past its bounds). failures: failed
        writes. max_window: the longest a record waited between being made and being
        committed (seconds): commit time minus the timestamp of each batch's first record.
        max_write: the longest one transaction took (seconds). waiting: records in the spill,
        waiting for the store.
    """

    __slots__ = _FIELDS

    def __init__(self, records: int = 0, batches: int = 0, dropped: int = 0, failures: int = 0,
                 max_window: float = 0.0, max_write: float = 0.0, waiting: int = 0) -> None:
        self.records, self.batches, self.dropped, self.failures = (records, batches, dropped,
                                                                   failures)
        self.max_window, self.max_write, self.waiting = max_window, max_write, waiting

    def as_tuple(self) -> tuple[Any, ...]:
        return (self.records, self.batches, self.dropped, self.failures, self.max_window,
                self.max_write, self.waiting)

    def update_from(self, values: tuple[Any, ...]) -> None:
        (self.records, self.batches, self.dropped, self.failures, self.max_window,
         self.max_write, self.waiting) = values

    def __eq__(self, other: object) -> bool:
        return isinstance(other, WriterStats) and self.as_tuple() == other.as_tuple()

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dataclass it was

    def __repr__(self) -> str:
        values = ", ".join(f"{name}={value!r}" for name, value in
                           zip(_FIELDS, self.as_tuple(), strict=True))
        return f"WriterStats({values})"
