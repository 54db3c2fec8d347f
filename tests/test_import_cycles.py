"""No import cycles among headwater's own modules, lazy imports (inside functions) included.

Imports under `if TYPE_CHECKING:` are for the type checker only and are left out. A module
importing its own parent package is not a cycle (Python initialises the parent first).
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Iterable
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def modules_under(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package at `root`."""
    found = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(inner) for inner in ast.walk(node))
    return skipped


def imports_of(module: str, source: str, known: Iterable[str], is_package: bool) -> set[str]:
    """The modules among `known` that `module` imports, at any depth of its code."""
    known = set(known)
    tree = ast.parse(source)
    skipped = _type_checking_nodes(tree)
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            submodules = [f"{target}.{alias.name}" for alias in node.names
                          if f"{target}.{alias.name}" in known]
            # `from pkg import sub` imports pkg's __init__ only if it names something else too
            targets = submodules if len(submodules) == len(node.names) else [target, *submodules]
        for target in targets:
            if target in known and target != module and not module.startswith(target + "."):
                found.add(target)
    return found


def import_graph(root: Path) -> dict[str, set[str]]:
    modules = modules_under(root)
    return {
        name: imports_of(name, path.read_text(encoding="utf-8"), modules,
                         path.name == "__init__.py")
        for name, path in modules.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_headwater_has_no_import_cycles_lazy_imports_included() -> None:
    graph = import_graph(SRC / "headwater")
    assert "headwater.engine.execution" in graph  # the walk sees the package

    assert cycles(graph) == []


def test_the_cycle_check_finds_a_cycle_made_of_a_lazy_import(tmp_path: Path) -> None:
    # The check must be able to fail: a package where a function-level import closes a loop,
    # and a TYPE_CHECKING import that must not count.
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.b import thing\n")
    (package / "b.py").write_text(textwrap.dedent("""
        from typing import TYPE_CHECKING
        if TYPE_CHECKING:
            from pkg.c import other
        def thing():
            from pkg import a
    """))
    (package / "c.py").write_text("from pkg.b import thing\n")

    assert cycles(import_graph(package)) == [["pkg.a", "pkg.b"]]
