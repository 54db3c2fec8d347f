"""Import boundaries and the import budget: what `import headwater` may load, and which layers
each layer may never import (arrows point down: see the README's Layout).

Each import check runs in a fresh interpreter: this test process has imported far too much
already to tell anything about a cold import.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "headwater"

# Top-level packages `from headwater import flow, task` must not pull in.
HEAVY = (
    "pydantic",
    "sqlalchemy",
    "alembic",
    "psycopg",
    "click",
    "fastapi",
    "starlette",
    "rich",
    "dask",
    "distributed",
    "cloudpickle",
    "asyncio",
    "croniter",  # schedules of deployments: loaded when a schedule is built
    "dateutil",
)
# headwater packages core/ must never import (it sees only the base seams).
FORBIDDEN_FOR_CORE = ("headwater.cli", "headwater.server", "headwater.store")
# Per layer, what its modules may never import, lazily or not (TYPE_CHECKING aside).
_ABOVE_THE_ENGINE = ("headwater.cli", "headwater.server", "headwater.deployments",
                     "headwater.compat", "headwater.store")
_OPTIONAL_DRIVERS = ("dask", "distributed", "ray", "headwater.runners.dask",
                     "headwater.runners.ray", "psycopg", "sqlalchemy", "alembic", "fastapi")
FORBIDDEN = {
    # The model: the engine reaches it through core/seam.py, never the other way round.
    "core": (*_ABOVE_THE_ENGINE, "headwater.engine", "headwater.events"),
    "engine": (*_ABOVE_THE_ENGINE, *_OPTIONAL_DRIVERS),
    # A runner moves requests and outcomes: what it needs comes with the request.
    "runners": (*_ABOVE_THE_ENGINE, "headwater.engine", "headwater.events"),
    "events": ("headwater.engine", "headwater.runners", "headwater.cli", "headwater.server",
               "headwater.deployments"),
    "store": ("headwater.engine", "headwater.events", "headwater.runners", "headwater.core",
              "headwater.cli", "headwater.server", "headwater.deployments"),
}


def run_fresh(source: str, **extra_env: str) -> dict[str, object]:
    """Run `source` in a new interpreter; it prints one JSON object, which is returned."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    env.update(extra_env)
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(source)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def loaded_top_level_packages_after(statement: str, **extra_env: str) -> set[str]:
    report = run_fresh(
        f"""
        import json, sys
        {statement}
        print(json.dumps(sorted({{name.partition(".")[0] for name in sys.modules}})))
        """,
        **extra_env,
    )
    return set(report)  # type: ignore[arg-type]


def test_importing_flow_and_task_loads_no_heavy_dependency() -> None:
    loaded = loaded_top_level_packages_after("from headwater import flow, task")

    assert "headwater" in loaded  # the probe works
    assert sorted(loaded & set(HEAVY)) == []


def test_importing_the_package_alone_loads_no_heavy_dependency() -> None:
    loaded = loaded_top_level_packages_after("import headwater")

    assert sorted(loaded & set(HEAVY)) == []


def test_running_a_flow_without_annotations_loads_no_heavy_dependency() -> None:
    loaded = loaded_top_level_packages_after(
        "from headwater import flow, task\n"
        "        @task\n"
        "        def add(x, y): return x + y\n"
        "        @flow\n"
        "        def f(): return add(1, 2)\n"
        "        assert f() == 3",
        # The default store's writer thread loads SQLAlchemy off the hot path; this test is
        # about what the engine itself needs.
        HEADWATER_STORE="memory",
    )

    # pydantic is only for flows that validate annotated parameters; asyncio only for async.
    assert sorted(loaded & set(HEAVY)) == []


def test_importing_flow_and_task_loads_no_cli_server_or_store_module() -> None:
    report = run_fresh(
        """
        import json, sys
        from headwater import flow, task
        print(json.dumps(sorted(sys.modules)))
        """
    )
    forbidden = [
        name
        for name in report  # type: ignore[attr-defined]
        if any(name == pkg or name.startswith(pkg + ".") for pkg in FORBIDDEN_FOR_CORE)
    ]
    assert forbidden == []


# Standard-library modules `from headwater import flow, task` leaves for later: each is loaded
# where it is first needed (decorating a function loads inspect, running a flow the rest).
LATER_STDLIB = (
    "inspect",  # with ast, dis and tokenize
    "logging",  # with traceback, string and textwrap
    "concurrent.futures",
    "uuid",  # with platform
    "platform",
    "pathlib",  # with urllib.parse and ipaddress
    "datetime",
    "dataclasses",
    "numbers",
    "copy",
)


def test_importing_flow_and_task_leaves_costly_stdlib_modules_for_later() -> None:
    report = run_fresh(
        f"""
        import json, sys
        from headwater import flow, task
        print(json.dumps(sorted(name for name in {LATER_STDLIB!r} if name in sys.modules)))
        """
    )
    assert report == []


def test_importing_flow_and_task_loads_a_bounded_number_of_modules() -> None:
    # Import time is measured by benchmarks/bench_import.py, not asserted here: a busy CI
    # machine makes any time bound flaky. What makes it slow is what it loads, and that is
    # the same on any machine: about 80 modules today, standard library included.
    report = run_fresh(
        """
        import json, sys
        before = set(sys.modules)
        from headwater import flow, task
        print(json.dumps({"added": sorted(set(sys.modules) - before)}))
        """
    )
    added = report["added"]
    assert isinstance(added, list)
    assert len(added) <= 120, f"importing flow and task loads {len(added)} modules: {added}"


def core_modules() -> list[Path]:
    return sorted((SRC / "core").rglob("*.py"))


def imported_names(source: str, package: str) -> list[tuple[int, str]]:
    """Every module an import statement in `source` names (at any depth, but not under
    `if TYPE_CHECKING:`), with its line.

    Args:
        source: a module's text.
        package: the package the module lives in, to resolve relative imports.
    """
    names: list[tuple[int, str]] = []
    tree = ast.parse(source)
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(inner) for inner in ast.walk(node))
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the module's package
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            names.append((node.lineno, module))
            # `from headwater import store` names the submodule too
            names.extend((node.lineno, f"{module}.{alias.name}") for alias in node.names)
    return names


def forbidden_imports(
    source: str, package: str, forbidden: tuple[str, ...] = FORBIDDEN_FOR_CORE
) -> list[str]:
    return [
        f"line {line}: {name}"
        for line, name in sorted(imported_names(source, package))
        if any(name == pkg or name.startswith(pkg + ".") for pkg in forbidden)
    ]


def layer_modules() -> list[tuple[str, Path]]:
    return [(layer, path) for layer in FORBIDDEN for path in sorted((SRC / layer).rglob("*.py"))]


@pytest.mark.parametrize(
    ("layer", "path"), layer_modules(), ids=lambda v: v if isinstance(v, str) else v.name
)
def test_no_module_imports_a_layer_above_its_own(layer: str, path: Path) -> None:
    package = ".".join(("headwater", *path.relative_to(SRC).parent.parts))

    assert forbidden_imports(path.read_text(encoding="utf-8"), package, FORBIDDEN[layer]) == []


def test_the_static_import_check_sees_core_modules() -> None:
    paths = [p.name for p in core_modules()]
    assert "flows.py" in paths and "tasks.py" in paths


def test_the_static_import_check_catches_every_spelling_of_a_forbidden_import() -> None:
    # The checker must work, or the test above passes vacuously.
    source = textwrap.dedent(
        """
        import headwater.cli.main
        from headwater import store
        from headwater.server.app import create_app
        from ..store import base
        def lazy():
            import headwater.store.sql
        from headwater import settings
        from headwater.events import base as events_base
        from typing import TYPE_CHECKING
        if TYPE_CHECKING:
            from headwater.store.base import RunStore
        """
    )

    assert forbidden_imports(source, "headwater.core") == [
        "line 2: headwater.cli.main",
        "line 3: headwater.store",
        "line 4: headwater.server.app",
        "line 4: headwater.server.app.create_app",
        "line 5: headwater.store",
        "line 5: headwater.store.base",
        "line 7: headwater.store.sql",
    ]
