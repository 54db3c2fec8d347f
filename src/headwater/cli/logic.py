"""What `headwater run` does, as plain functions: find the flow, parse `--param`s, run it.

No click and no printing here: the command in `run.py` parses, calls, and renders.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import sys
from pathlib import Path
from typing import Any

from headwater.errors import (
    FlowFileError,
    FlowFileNotFoundError,
    FlowNotFoundError,
    ParameterParseError,
)


def split_target(target: str) -> tuple[Path, str | None]:
    """`path/to/file.py:flow_name` as (path, flow name); `path/to/file.py` as (path, None).

    Raises:
        FlowNotFoundError: the target is neither.
    """
    path, sep, name = target.rpartition(":")
    if not sep and target.endswith(".py"):
        return Path(target), None
    if not sep or not path or not name:
        raise FlowNotFoundError(
            f"{target!r} does not name a flow. Write the file and the flow's function name, "
            f"separated by a colon, e.g. `headwater run flows/etl.py:pipeline`."
        )
    return Path(path), name


def load_flow(target: str) -> Any:
    """Import the file and return the flow object named in `target` (`file.py:name`).

    The file is imported as a module (its `if __name__ == "__main__":` block does not run),
    with its folder first on `sys.path` so its own imports work. A file that imports
    `prefect` gets headwater's Prefect shim first.

    Raises:
        FlowFileNotFoundError: the file does not exist.
        FlowNotFoundError: the file defines no flow by that name.
    """
    from headwater.core.flows import Flow

    path, name = split_target(target)
    if not path.is_file():
        raise FlowFileNotFoundError(
            f"There is no file {str(path)!r} (looked in {str(Path.cwd())!r}). "
            f"Check the path, e.g. `headwater run examples/hello.py:hello`."
        )
    from headwater.compat._detect import install_for_file

    install_for_file(path)  # a Prefect script runs as under `python -m headwater.compat`
    module_name = f"__headwater_run__{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path.resolve())
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    sys.path.insert(0, str(path.resolve().parent))
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise FlowFileError(user_traceback(exc, path), path=str(path)) from None
    if name is None:
        flows = sorted(k for k, v in vars(module).items() if isinstance(v, Flow))
        if len(flows) != 1:
            found = f"It defines {', '.join(flows)}." if flows else "It defines no @flow."
            raise FlowNotFoundError(
                f"Which flow of {str(path)!r} should run? {found} Name one: "
                f"`headwater run {path}:{flows[0] if flows else 'my_flow'}`."
            )
        name = flows[0]
    candidate = getattr(module, name, None)
    if not isinstance(candidate, Flow):
        flows = sorted(k for k, v in vars(module).items() if isinstance(v, Flow))
        found = f"Flows in that file: {', '.join(flows)}." if flows else (
            "That file defines no @flow."
        )
        what = "is not a flow" if candidate is not None else "is not defined"
        raise FlowNotFoundError(f"{name!r} {what} in {str(path)!r}. {found}")
    return candidate


def user_traceback(exc: BaseException, path: Path) -> str:
    """The error raised while importing the user's file, with only the user's own frames."""
    import traceback

    ours = str(Path(__file__).resolve().parent.parent)
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if not f.filename.startswith(("<frozen", ours))]
    lines = traceback.format_list(frames) + traceback.format_exception_only(type(exc), exc)
    return (f"Importing {str(path)!r} failed; fix the error below and run again.\n"
            f"Traceback (most recent call last):\n{''.join(lines).rstrip()}")


def parse_params(items: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """`key=value` strings as a dict; a value is JSON where it parses (`3`, `true`, `[1, 2]`,
    `{"a": 1}`), else the text as it is. The flow validates the values against its hints.

    Raises:
        ParameterParseError: an item has no `=` or an empty key.
    """
    params: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ParameterParseError(
                f"--param {item!r} is not key=value. Write e.g. --param n=3 or "
                f"--param name=world (values are parsed as JSON where they parse)."
            )
        try:
            params[key] = json.loads(raw)
        except ValueError:
            params[key] = raw
    return params


def check_params(flow: Any, params: dict[str, Any]) -> None:
    """Fail early, with the flow's parameter names, when a key is not one of them.

    Raises:
        ParameterParseError: a key the flow does not take.
        ParameterTypeError: a value that does not fit the parameter's type hint.
    """
    signature = inspect.signature(flow.fn)
    takes_any = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
    unknown = [k for k in params if k not in signature.parameters]
    if unknown and not takes_any:
        names = ", ".join(signature.parameters) or "(none)"
        raise ParameterParseError(
            f"Flow {flow.name!r} has no parameter {unknown[0]!r}. Its parameters: {names}."
        )
    if flow.should_validate_parameters and flow.validator.needed:
        flow.validator.validate(params)  # a bad value fails here, once, before any run


def run_flow(target: str, params: tuple[str, ...] | list[str]) -> Any:
    """Load `target`, run it with the parsed parameters, and return its final `State`."""
    flow = load_flow(target)
    values = parse_params(params)
    check_params(flow, values)
    return run_loaded(flow, values)


def run_loaded(flow: Any, values: dict[str, Any]) -> Any:
    """Run a loaded flow with checked parameters; its final `State`."""
    state = flow(**values, return_state=True)
    if inspect.iscoroutine(state):  # an async flow
        import asyncio

        state = asyncio.run(state)
    return state
