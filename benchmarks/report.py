"""The headline table of benchmarks/README.md, measured and rewritten by one command.

Runs every measurement the issues set a target for, each through its own benchmark script in
fresh processes (see report_rows.py), prints the table, and rewrites it in the README between
the markers `<!-- report:begin -->` and `<!-- report:end -->` (nothing else in the file
changes). Per-task ratios are bench_overhead.py's: headwater and a bare `ThreadPoolExecutor`
interleaved in one process, the median of per-round ratios and their min–max.

    python benchmarks/report.py                                    # everything, ~15 min
    python benchmarks/report.py --prefect-python ~/prefect-venv/bin/python --pin 0
    python benchmarks/report.py --quick                            # small sizes, < 1 min
    python benchmarks/report.py --quick --no-write                 # print only
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import report_rows as rows
from report_rows import Figure

README = Path(__file__).resolve().parent / "README.md"
T = TypeVar("T")
BEGIN, END = "<!-- report:begin -->", "<!-- report:end -->"
TASKS = {
    "direct": ("direct task call", 1.5),
    "submit": ("`.submit` + result", 3.0),
    "map": ("`.map` + result", 3.0),
    "subflow": ("subflow call", 2.0),
}


@dataclass
class Row:
    what: str
    n: str
    ours: Figure
    unit: str  # "×", "µs", "s", "GB", "ms"
    target: float | None
    prefect: Figure | None = None


@dataclass
class Plan:
    sizes: list[int]
    rounds: int | None
    logging_n: int
    logging_rounds: int
    map_n: int
    hello_repeat: int
    import_repeat: int
    memory: tuple[int, int]  # batch, batches
    ray: tuple[int, int] | None  # N, rounds
    cancel_rounds: int | None
    prefect_n: int

    @classmethod
    def make(cls, quick: bool, n_max: int | None) -> Plan:
        def cap(n: int) -> int:
            return n if n_max is None else min(n, n_max)

        if quick:
            return cls([cap(1_000)], 3, cap(1_000), 3, cap(10_000), 2, 5, (cap(2_000), 2),
                       None, None, cap(100))
        return cls(sorted({cap(10_000), cap(100_000)}), None, cap(10_000), 15, cap(1_000_000),
                   5, 20, (cap(100_000), 10), (2_000, 5), 3, cap(1_000))


def fmt(figure: Figure | None, unit: str) -> str:
    if figure is None:
        return ""
    if figure.value is None:
        return figure.note or "not measured"
    digits = {"×": 2, "µs": 1, "s": 2, "GB": 2, "ms": 1}[unit]
    if unit == "×" and figure.value >= 10:
        digits = 0 if figure.value >= 100 else 1

    def one(x: float) -> str:
        return f"{x:,.{digits}f}"

    sep = "" if unit == "×" else " "
    details = []
    if figure.low is not None and figure.high is not None:
        details.append(f"{one(figure.low)}–{one(figure.high)}")
    elif figure.low is not None:
        details.append(f"min {one(figure.low)}")
    details += [figure.note] if figure.note else []
    return f"{one(figure.value)}{sep}{unit}" + (f" ({'; '.join(details)})" if details else "")


def verdict(row: Row) -> str:
    if row.target is None or row.ours.value is None:
        return ""
    return "met" if row.ours.value <= row.target else "missed"


def table(found: list[Row], prefect_label: str | None) -> str:
    head = ["what", "N", "headwater: median (min–max)"]
    head += [prefect_label] if prefect_label else []
    head += ["target", ""]
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join("---:" if h == "N" else "---" for h in head) + "|"]
    for row in found:
        sep = "" if row.unit == "×" else " "
        cells = [row.what, row.n, fmt(row.ours, row.unit)]
        if prefect_label:
            cells.append(fmt(row.prefect, row.unit) if row.prefect else "")
        cells.append("" if row.target is None else f"≤ {row.target:g}{sep}{row.unit}")
        cells.append(verdict(row))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def guarded(fn: Callable[..., T], *args: Any, fallback: T) -> T:
    """`fn(*args)`, or `fallback` when it fails: one broken measurement keeps the others."""
    try:
        return fn(*args)
    except Exception as exc:  # reported in the table, in place of the figure
        print(f"  failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return fallback


def failed(exc_note: str = "failed (see the command's output)") -> Figure:
    return Figure(None, note=exc_note)


def measure(
    plan: Plan, pin: int | None, prefect: str | None, log: Callable[[str], None]
) -> list[Row]:
    def step(name: str) -> None:
        log(f"{time.strftime('%H:%M:%S')} {name} (load {os.getloadavg()[0]:.1f})")

    found: list[Row] = []
    step("per-task overhead")
    overhead = rows.overhead(plan.sizes, plan.rounds, pin)
    theirs: dict[str, Figure] = {}
    if prefect:
        step("Prefect per-task")
        theirs = guarded(rows.prefect_tasks, prefect, plan.prefect_n, pin, fallback={})
    for workload, (label, target) in TASKS.items():
        for n in plan.sizes:
            found.append(Row(f"{label}, × a bare `ThreadPoolExecutor`", f"{n:,}",
                             overhead[(workload, n)], "×", target,
                             theirs.get(workload) if n == plan.sizes[0] else None))
    step("logging")
    found.append(Row("INFO console logging over WARNING, per task run", f"{plan.logging_n:,}",
                     guarded(rows.logging_cost, plan.logging_n, plan.logging_rounds, pin,
                             fallback=failed()), "µs", 5.0))
    step(f"one .map of {plan.map_n:,}")
    seconds, rss = guarded(rows.big_map, plan.map_n, pin, fallback=(failed(), failed()))
    not_attempted = Figure(None, note="not attempted") if prefect else None
    found.append(Row("mapped tasks in one `.map`, recorded: wall", f"{plan.map_n:,}", seconds,
                     "s", 45.0, not_attempted))
    found.append(Row("… and its peak RSS", f"{plan.map_n:,}", rss, "GB", 1.0, not_attempted))
    step("hello world")
    ours, theirs = guarded(rows.hello_world, plan.hello_repeat, prefect,
                           fallback=(failed(), None))
    found.append(Row("hello-world flow, whole process, default store", "", ours, "s", 0.25,
                     theirs))
    step("import")
    found.append(Row("`from headwater import flow, task`", "", guarded(
        rows.import_time, sys.executable, "headwater", plan.import_repeat, fallback=failed()),
        "ms", 50.0, guarded(rows.import_time, prefect, "prefect", min(plan.import_repeat, 5),
                            fallback=failed()) if prefect else None))
    step("memory store")
    batch, batches = plan.memory
    found.append(Row("`HEADWATER_STORE=memory`: µs per task run, last 3 batches ÷ first 3",
                     f"{batch * batches:,}", guarded(rows.memory_store, batch, batches,
                                                     fallback=failed()), "×", 1.2))
    if plan.ray:
        step("Ray")
        found.append(Row("`RayTaskRunner` ÷ bare `ray.remote`", f"{plan.ray[0]:,}",
                         guarded(rows.ray_ratio, *plan.ray, fallback=failed()), "×", 1.5))
    if plan.cancel_rounds:
        step("cancel")
        found.append(Row("cancel: request → `Cancelled` stored (SQLite)", "",
                         guarded(rows.cancel_latency, plan.cancel_rounds, fallback=failed()),
                         "s", 1.0))
    return found


def git(*args: str) -> str:
    done = subprocess.run(["git", *args], capture_output=True, text=True, cwd=README.parent)
    return done.stdout.strip()


def revision() -> str:
    """The commit measured (taken when the run starts), and whether src/ differs from it."""
    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = " plus uncommitted changes" if git("status", "--porcelain", "--", "../src") else ""
    return f"`{commit}`{dirty}"


def machine(
    pin: int | None, load: tuple[float, float], seconds: float, argv: list[str], measured: str
) -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in _cpuinfo()
                if line.startswith("model name")), platform.processor() or "unknown CPU")
    pinned = (f"the flow's process pinned to CPU {pin}, the store's writer process on the "
              f"other CPU{'s' if (os.cpu_count() or 1) > 2 else ''}" if pin is not None
              else "not pinned")
    shown = shown_argv(argv)
    return (f"Measured {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC at commit "
            f"{measured}: {os.cpu_count()} CPUs ({cpu}), Python "
            f"{platform.python_version()}, {platform.system()} {platform.release()}; {pinned}; "
            f"load average {load[0]:.1f} at the start, {load[1]:.1f} at the end; "
            f"{seconds / 60:.0f} min. Command: `python benchmarks/report.py"
            f"{' ' + ' '.join(shown) if shown else ''}`.")


def shown_argv(argv: list[str]) -> list[str]:
    """The command's arguments as the README shows them: where Prefect's interpreter lives on
    the measuring machine is nobody else's business (and differs on theirs)."""
    shown = []
    for i, arg in enumerate(argv):
        if i > 0 and argv[i - 1] == "--prefect-python":
            arg = "PATH"
        elif arg.startswith("--prefect-python="):
            arg = "--prefect-python=PATH"
        shown.append(arg)
    return shown


def _cpuinfo() -> list[str]:
    try:
        return Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return []


def rewrite(readme: Path, text: str) -> None:
    """Replace what is between the markers in `readme` with `text`."""
    old = readme.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.DOTALL)
    if not pattern.search(old):
        raise SystemExit(f"{readme} has no {BEGIN} … {END} markers: add them where the table "
                         f"goes, each on a line of its own.")
    readme.write_text(pattern.sub(lambda _: f"{BEGIN}\n{text}\n{END}", old, count=1),
                      encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, no Ray nor cancel")
    parser.add_argument("--n-max", type=int, metavar="N", help="cap every N at this")
    parser.add_argument("--pin", type=int, metavar="CPU", help="per-task figures on one CPU")
    parser.add_argument("--prefect-python", metavar="PATH", help="an interpreter with prefect")
    parser.add_argument("--readme", type=Path, default=README, help="the file to rewrite")
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    args = parser.parse_args(argv)
    plan = Plan.make(args.quick, args.n_max)
    prefect_label = None
    if args.prefect_python:
        version = rows.json_lines([args.prefect_python, "-c", "import json, prefect; print("
                                   "json.dumps({'v': prefect.__version__}))"],
                                  rows.clean_env(), timeout=300)[0]["v"]
        prefect_label = f"Prefect {version}"

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    started, load, measured = time.perf_counter(), os.getloadavg()[0], revision()
    found = measure(plan, args.pin, args.prefect_python, log)
    meta = machine(args.pin, (load, os.getloadavg()[0]), time.perf_counter() - started,
                   sys.argv[1:] if argv is None else argv, measured)
    text = f"{table(found, prefect_label)}\n\n{meta}"
    print(text)
    if not args.no_write:
        rewrite(args.readme, text)
        print(f"\nrewrote the table in {args.readme}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
