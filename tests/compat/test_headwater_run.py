"""`headwater run file.py:flow` on a Prefect script: the shim is installed for it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from headwater.compat._detect import imports_prefect


def _run(tmp_path: Path, target: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HEADWATER_STORE": "memory", "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [sys.executable, "-m", "headwater.cli.main", "run", target],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )


def test_headwater_run_runs_a_prefect_script(tmp_path: Path) -> None:
    (tmp_path / "etl.py").write_text(
        "from prefect import flow, task\n\n@task\ndef extract():\n    return [1, 2]\n\n"
        "@flow\ndef etl():\n    print('total', sum(extract()))\n"
    )

    ran = _run(tmp_path, "etl.py:etl")

    assert ran.returncode == 0, ran.stderr
    assert "total 3" in ran.stdout


def test_a_prefect_script_raising_at_import_gives_a_short_error(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text(
        "from prefect import flow\n\nraise RuntimeError('config missing')\n"
    )

    ran = _run(tmp_path, "bad.py:etl")

    assert ran.returncode == 1
    assert "RuntimeError: config missing" in ran.stderr
    assert "No module named 'prefect'" not in ran.stderr
    assert "click" not in ran.stderr and len(ran.stderr.splitlines()) <= 8


def test_prefect_imports_are_found_in_the_source_without_running_it() -> None:
    assert imports_prefect("import prefect\n")
    assert imports_prefect("def f():\n    from prefect_dask import DaskTaskRunner\n")
    assert imports_prefect("from prefect.tasks import task\n")
    assert not imports_prefect("import prefectural\nprint('prefect')\n")
    assert not imports_prefect("from headwater import flow\n")
    assert not imports_prefect("import prefect (\n")  # does not parse: the import says so
