"""Where a deployment's flow lives, and loading it back in the process that runs it.

An entrypoint is `/absolute/path/to/file.py:function` (a file), or `package.module:function`
(an importable module). The process a serve loop starts for a run imports the file as a module
of its own name, so the file's `if __name__ == "__main__":` block does not run; a file that calls
`my_flow.serve(...)` at top level is fine too: inside a served run, `serve` returns at once.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from pathlib import Path
from typing import Any

from headwater.errors import DeploymentError, FlowFileNotFoundError, FlowNotFoundError


def entrypoint_of(flow: Any, *, module_path: bool = False) -> tuple[str, str]:
    """The entrypoint of a flow object, and the folder its runs start in.

    Args:
        flow: a `Flow`.
        module_path: name it by module (`pkg.mod:fn`) rather than by file.

    Raises:
        DeploymentError: the flow's function is not defined in a file (a notebook, `exec`).
    """
    fn = flow.fn
    name = getattr(fn, "__name__", None)
    module = getattr(fn, "__module__", None)
    if module_path and module and module != "__main__" and name:
        return f"{module}:{name}", str(Path.cwd())
    try:
        path = inspect.getsourcefile(fn)
    except TypeError:
        path = None
    if path is None or name is None or not Path(path).is_file() or name == "<lambda>":
        where = path or "an interactive session"
        raise DeploymentError(
            f"Flow {flow.name!r} cannot be served: its function is not defined in a Python "
            f"file a new process can import (it was defined in {where!r}). Move the flow into "
            f"a .py file and serve it from there.",
            option="flow", value=flow,
        )
    return f"{Path(path).resolve()}:{name}", str(Path.cwd())


def load_flow(entrypoint: str) -> Any:
    """Import the flow an entrypoint names.

    Raises:
        FlowFileNotFoundError: the file does not exist.
        FlowNotFoundError: the file or module defines no flow by that name.
    """
    from headwater.core.flows import Flow

    where, sep, name = entrypoint.rpartition(":")
    if not sep or not where or not name:
        raise FlowNotFoundError(
            f"{entrypoint!r} is not an entrypoint. Write path/to/file.py:flow_function or "
            f"package.module:flow_function."
        )
    if where.endswith(".py") or "/" in where or "\\" in where:
        path = Path(where)
        if not path.is_file():
            raise FlowFileNotFoundError(
                f"There is no file {where!r} (looked in {str(Path.cwd())!r}): the deployment's "
                f"flow was moved or deleted. Serve it again from its new place."
            )
        from headwater.compat._detect import install_for_file

        install_for_file(path)  # a served Prefect script gets the shim, as under `headwater run`
        module_name = f"__headwater_deployment__{path.stem}"
        spec = importlib.util.spec_from_file_location(module_name, path.resolve())
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        sys.path.insert(0, str(path.resolve().parent))
        spec.loader.exec_module(module)
    else:
        module = importlib.import_module(where)
    candidate = getattr(module, name, None)
    if isinstance(candidate, Flow):
        return candidate
    # `etl = flow(load)` names the flow differently from its function: find it by function.
    for value in vars(module).values():
        if isinstance(value, Flow) and getattr(value.fn, "__name__", None) == name:
            return value
    flows = sorted(k for k, v in vars(module).items() if isinstance(v, Flow))
    found = f"Flows there: {', '.join(flows)}." if flows else "It defines no @flow."
    raise FlowNotFoundError(f"{name!r} is not a flow in {where!r}. {found}")
