"""The import machinery behind the shim: a meta-path finder serving `prefect*` modules."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import logging
import os
import sys
import types
from difflib import get_close_matches
from typing import Any

from headwater.compat._environment import apply_prefect_environment
from headwater.compat._stubs import StandInModule, stand_in
from headwater.compat.table import NAMES, PREFECT_VERSION, STAND_IN_NAMES, stand_in_advice
from headwater.errors import UnsupportedPrefectFeature

ROOTS = ("prefect", "prefect_dask", "prefect_ray")


def _missing(module: str, name: str | None) -> UnsupportedPrefectFeature:
    full = f"{module}.{name}" if name else module
    known = sorted(n for n in NAMES.get(module, {}) if n != "*")
    close = get_close_matches(name or "", known, n=1) if name else []
    hint = f" Did you mean {module}.{close[0]}?" if close else ""
    offered = f" It offers: {', '.join(known)}." if known else ""
    return UnsupportedPrefectFeature(
        f"headwater's Prefect shim has no {full!r}.{hint}{offered} See 'Coming from Prefect' in "
        "headwater's README for what runs unchanged, or import from headwater directly."
    )


def _resolve(target: str) -> Any:
    module, _, attribute = target.partition(":")
    loaded = importlib.import_module(module)
    return getattr(loaded, attribute) if attribute else loaded


class CompatModule(types.ModuleType):
    """A `prefect.*` module whose attributes are headwater objects, looked up on first use."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        table = NAMES.get(self.__name__, {})
        if "*" in table:  # a whole module stands in (prefect.runtime.flow_run)
            return getattr(_resolve(table["*"]), name)
        if name in table:
            value = _resolve(table[name])
            setattr(self, name, value)
            return value
        full = f"{self.__name__}.{name}"
        if full in NAMES or stand_in_advice(full) is not None:
            return importlib.import_module(full)
        if full in STAND_IN_NAMES:
            value = stand_in(full, STAND_IN_NAMES[full])
            setattr(self, name, value)
            return value
        # An AttributeError, so `hasattr(prefect, "x")` and `getattr(prefect, "x", None)`
        # detect features as under Prefect. `from prefect import x` then asks the finder for a
        # submodule `prefect.x`, which raises the ImportError with the same advice.
        raise AttributeError(str(_missing(self.__name__, name)), name=name, obj=self)

    def __dir__(self) -> list[str]:
        table = NAMES.get(self.__name__, {})
        if "*" in table:
            return dir(_resolve(table["*"]))
        prefix = f"{self.__name__}."
        stand_ins = {k[len(prefix):] for k in STAND_IN_NAMES if k.startswith(prefix)}
        return sorted((set(NAMES.get(self.__name__, {})) | stand_ins) - {"*"})


class PrefectShimFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds `prefect`, `prefect_dask`, `prefect_ray` and their submodules before anything else."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname.split(".")[0] not in ROOTS:
            return None
        if fullname not in NAMES and stand_in_advice(fullname) is None:
            parent, _, child = fullname.rpartition(".")
            raise _missing(parent, child) if parent in NAMES else _missing(fullname, None)
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        if spec.name not in NAMES:  # a module headwater does not have: names raise on use
            stand_ins = StandInModule(spec.name)
            stand_ins._instead = stand_in_advice(spec.name) or ""
            stand_ins.__path__ = []
            return stand_ins
        module = CompatModule(spec.name)
        module.__path__ = []  # a package, so `import prefect.x` asks us for children
        if spec.name == "prefect":
            module.__version__ = PREFECT_VERSION  # type: ignore[attr-defined]
            module.__version_info__ = {  # type: ignore[attr-defined]
                "version": PREFECT_VERSION, "date": None, "full-revisionid": None,
                "error": None, "dirty": False,
            }
            # Prefect reads its settings when `prefect` is imported; so does the shim.
            apply_prefect_environment()
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        return None


_finder = PrefectShimFinder()


def install() -> None:
    """Serve `prefect`, `prefect_dask` and `prefect_ray` imports from headwater, in this process.

    Idempotent. The shim goes first on `sys.meta_path`, so it takes precedence over a real
    Prefect installation; modules of a Prefect that was already imported are replaced.
    """
    if _finder in sys.meta_path:
        return
    _reach_child_processes()
    replaced = [name for name in sys.modules if name.split(".")[0] in ROOTS]
    for name in replaced:
        del sys.modules[name]
    sys.meta_path.insert(0, _finder)
    logging.getLogger("headwater.compat").debug(
        "Serving 'prefect', 'prefect_dask' and 'prefect_ray' imports from headwater%s.",
        f" (replacing {len(replaced)} already-imported modules)" if replaced else "",
    )


def uninstall() -> None:
    """Undo `install()`: later imports of `prefect` find the real package again, if any."""
    if _finder in sys.meta_path:
        sys.meta_path.remove(_finder)
    _leave_child_processes()
    for name in [n for n in sys.modules if n.split(".")[0] in ROOTS]:
        if isinstance(sys.modules[name], CompatModule):
            del sys.modules[name]


# -- child processes ------------------------------------------------------------------------------
# Worker processes (Dask nannies and workers, process pools, Ray workers, spawned processes that
# re-import the script as `__mp_main__`) are new interpreters: they must install the shim before
# they import the user's code. `_startup/sitecustomize.py` does that when it is first on the
# path and SHIM_VARIABLE is set; both travel to children in the environment.
SHIM_VARIABLE = "HEADWATER_PREFECT_SHIM"
STARTUP_FOLDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_startup")


def _reach_child_processes() -> None:
    os.environ[SHIM_VARIABLE] = "1"
    entries = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if STARTUP_FOLDER not in entries:
        os.environ["PYTHONPATH"] = os.pathsep.join([STARTUP_FOLDER, *entries])


def _leave_child_processes() -> None:
    os.environ.pop(SHIM_VARIABLE, None)
    entries = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
               if p and p != STARTUP_FOLDER]
    if entries:
        os.environ["PYTHONPATH"] = os.pathsep.join(entries)
    else:
        os.environ.pop("PYTHONPATH", None)
