"""The `headwater.store` logger, imported on first use.

The store sink's modules load before the writer process starts, and `logging` (with
`traceback`, `string` and `textwrap`) is a good part of what they would load: it is imported
when something is first logged (or once the writer process is running), not before.
"""

from __future__ import annotations

from typing import Any


class _StoreLogger:
    """Stands for `logging.getLogger("headwater.store")`: every attribute is the logger's."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        import logging

        return getattr(logging.getLogger("headwater.store"), name)


logger: Any = _StoreLogger()


def log(level: int, message: str) -> None:
    """`logger.log(level, message)`: handed to writers as their `report`."""
    logger.log(level, message)
