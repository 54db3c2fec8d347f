"""Stand-ins for Prefect features headwater does not have: they import, and raise on use.

A Prefect script often imports more than it uses on a given path (`get_client` for an
optional report, `Secret` in a branch that reads credentials). So the names import without
error, and only using one (calling it, instantiating it, reading an attribute of it) raises
`UnsupportedPrefectFeature`, saying what to use instead. A stand-in is a class, so that
`class MyBlock(Block): ...` still defines a class; instantiating that raises in its turn.
"""

from __future__ import annotations

import types
from typing import Any

from headwater.errors import UnsupportedPrefectFeature


def unsupported(prefect_name: str, instead: str) -> UnsupportedPrefectFeature:
    return UnsupportedPrefectFeature(
        f"{prefect_name!r} is a Prefect feature headwater does not have. Instead: {instead}."
    )


class StandIn(type):
    """The metaclass of stand-ins: calling one, or reading any attribute, raises."""

    _prefect_name: str
    _instead: str

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        raise unsupported(cls._prefect_name, cls._instead)

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):  # probes by copy, pickle, typing
            raise AttributeError(name)
        raise unsupported(f"{cls._prefect_name}.{name}", cls._instead)

    def __repr__(cls) -> str:
        return f"<headwater stand-in for {cls._prefect_name!r}: unsupported>"


def stand_in(prefect_name: str, instead: str) -> type:
    """A stand-in for the Prefect object named `prefect_name` (`module.name`)."""
    module, _, name = prefect_name.rpartition(".")
    return StandIn(name, (), {
        "__module__": module, "__qualname__": name, "__doc__": f"Unsupported: {instead}.",
        "_prefect_name": prefect_name, "_instead": instead,
    })


class StandInModule(types.ModuleType):
    """A Prefect module headwater does not have: every name in it is a stand-in."""

    _instead: str

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        value = stand_in(f"{self.__name__}.{name}", self._instead)
        setattr(self, name, value)
        return value
