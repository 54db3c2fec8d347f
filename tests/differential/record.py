"""Re-record what real Prefect shows for each differential script.

    HEADWATER_PREFECT_PYTHON=venv/bin/python python -m tests.differential.record [NAME...]

Runs each script (all, or those whose name contains one of NAME) with that Python, in parallel,
and writes `recorded/<script>.out`. Prefect starts a temporary API server per process unless
`PREFECT_API_URL` points at a running `prefect server start`; with one running, recording all
scripts takes a minute instead of many. The Python must have `prefect==3.9.1` installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from tests.differential.runner import RECORDED, Script, all_scripts, prefect_command, run

VERSION = "3.9.1"


def prefect_python() -> str:
    python = os.environ.get("HEADWATER_PREFECT_PYTHON")
    if not python:
        sys.exit(
            "HEADWATER_PREFECT_PYTHON is not set. Point it at a Python with prefect=="
            f"{VERSION} installed, e.g. HEADWATER_PREFECT_PYTHON=venv/bin/python."
        )
    found = subprocess.run(
        [python, "-c", "import prefect; print(prefect.__version__)"],
        capture_output=True, text=True, check=False,
    ).stdout.strip()
    if found != VERSION:
        sys.exit(f"{python!r} has prefect {found or 'missing'!r}; the recordings are of {VERSION}.")
    return python


def main(argv: list[str]) -> int:
    python = prefect_python()
    scripts = [s for s in all_scripts() if not argv or any(a in s.name for a in argv)]
    RECORDED.mkdir(exist_ok=True)

    def record(script: Script) -> str:
        output = run(prefect_command(python, script), script)
        script.recorded.write_text(output, encoding="utf-8")
        return f"{script.name}: {len(output.splitlines())} lines"

    with ThreadPoolExecutor(max_workers=int(os.environ.get("RECORD_WORKERS", "4"))) as pool:
        for line in pool.map(record, scripts):
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
