"""Cold import time of headwater's public API, measured in fresh interpreters.

Each repeat starts a new `python` process that times, with `time.perf_counter`, only the
import statement itself and counts the modules it added to `sys.modules`. The baseline is
`import concurrent.futures` (what a bare thread pool costs); Prefect is measured too when it is
importable in this interpreter, or in another one given with `--prefect-python`.

    python benchmarks/bench_import.py                 # 20 repeats
    python benchmarks/bench_import.py --repeat 50
    python benchmarks/bench_import.py --prefect-python /path/to/prefect-venv/bin/python
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
from dataclasses import dataclass, field

PROBE = """
import json, sys, time
before = set(sys.modules)
start = time.perf_counter()
{statement}
elapsed = time.perf_counter() - start
print(json.dumps({{"seconds": elapsed, "modules": len(set(sys.modules) - before)}}))
"""


def compile_bytecode(package: str = "headwater") -> None:
    """Write `package`'s bytecode files before fresh interpreters are timed importing it.

    pip writes them when it installs a package; a checkout installed in editable mode gets them
    at its first import, unless PYTHONDONTWRITEBYTECODE is set: then every interpreter compiles
    every module again, and the figure measures the compiler (123 ms instead of 64 ms for
    `from headwater import flow, task`, measured on one machine). Nothing is written if the
    files are up to date.
    """
    import compileall

    spec = importlib.util.find_spec(package)
    for folder in (spec.submodule_search_locations or []) if spec else []:
        compileall.compile_dir(folder, quiet=1)


@dataclass
class Target:
    label: str
    statement: str
    python: str = sys.executable
    env: dict[str, str] = field(default_factory=dict)  # e.g. PREFECT_HOME, for run_all.py


@dataclass
class Result:
    target: Target
    median_ms: float
    min_ms: float
    modules: int


def measure_once(target: Target) -> tuple[float, int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEADWATER_", "PREFECT_"))}
    env.update(target.env)
    out = subprocess.run(
        [target.python, "-c", PROBE.format(statement=target.statement)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    report = json.loads(out.strip().splitlines()[-1])
    return report["seconds"] * 1000, report["modules"]


def measure(target: Target, repeat: int) -> Result:
    measure_once(target)  # warm the OS file cache and compile any missing .pyc files
    times, modules = [], 0
    for _ in range(repeat):
        ms, modules = measure_once(target)
        times.append(ms)
    return Result(target, statistics.median(times), min(times), modules)


def targets(prefect_python: str | None) -> list[Target]:
    found = [
        Target("import concurrent.futures (baseline)", "import concurrent.futures"),
        Target(
            "import headwater; from headwater import flow, task",
            "import headwater\nfrom headwater import flow, task",
        ),
    ]
    prefect = "import prefect\nfrom prefect import flow, task"
    if prefect_python:
        found.append(Target(f"import prefect ({prefect_python})", prefect, prefect_python))
    elif importlib.util.find_spec("prefect") is not None:
        found.append(Target("import prefect; from prefect import flow, task", prefect))
    return found


def version_of(python: str, module: str) -> str:
    code = f"import importlib.metadata as m; print(m.version({module!r}))"
    try:
        return subprocess.run(
            [python, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()
    except subprocess.CalledProcessError:
        return "not installed"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20, help="fresh processes per target")
    parser.add_argument(
        "--n", type=int, default=None, help="alias of --repeat, for symmetry with other scripts"
    )
    parser.add_argument("--prefect-python", help="an interpreter with prefect installed")
    args = parser.parse_args(argv)
    repeat = args.n or args.repeat

    print(f"python {platform.python_version()} on {platform.platform()}, {os.cpu_count()} CPUs")
    print(f"headwater {version_of(sys.executable, 'headwater')}; {repeat} fresh processes each")
    if args.prefect_python:
        print(f"prefect {version_of(args.prefect_python, 'prefect')} ({args.prefect_python})")
    print()

    compile_bytecode()
    results = [measure(t, repeat) for t in targets(args.prefect_python)]
    baseline = results[0].median_ms
    header = f"{'import':<52} {'median ms':>10} {'min ms':>8} {'modules':>8} {'× baseline':>11}"
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.target.label:<52} {r.median_ms:>10.1f} {r.min_ms:>8.1f} {r.modules:>8d} "
            f"{r.median_ms / baseline:>11.1f}"
        )


if __name__ == "__main__":
    main()
