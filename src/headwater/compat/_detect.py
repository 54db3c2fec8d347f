"""Install the shim for a file that imports Prefect: `headwater run` and serve children use it.

A Prefect script run with `headwater run etl.py:etl` (or served) should work as it does under
`python -m headwater.compat`. Whether it imports `prefect`, `prefect_dask` or `prefect_ray` is
read from its source (top-level and nested imports alike), without running it.
"""

from __future__ import annotations

import ast
from pathlib import Path

from headwater.compat._finder import ROOTS, install


def imports_prefect(source: str) -> bool:
    """Whether Python `source` imports a module the shim serves. False if it does not parse
    (the import then reports the syntax error itself)."""
    if not any(root in source for root in ROOTS):
        return False  # the common case, without parsing
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        if any(name.split(".")[0] in ROOTS for name in names):
            return True
    return False


def install_for_file(path: Path) -> bool:
    """Install the shim if the Python file at `path` imports Prefect; return whether it did."""
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    if imports_prefect(source):
        install()
        return True
    return False
