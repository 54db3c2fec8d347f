"""Where the run store's writer process runs during a pinned benchmark, and what it costs.

A pinned benchmark (`--pin CPU`) puts the flow's process on one CPU so that the thread pool it
is compared with gets the same, steady conditions. The recorded engine also has a writer
process, started by the first flow; it exists to take recording off the flow's CPU, so by
default these helpers move it to the other CPUs once it runs (as the figures in the issue that
set the targets were taken: the writer on the other CPU). Its CPU time is read from /proc and
reported beside the ratio, so that the cost of recording stays visible. Linux only; elsewhere
these do nothing.

Standard library only: `workloads.py` imports this under an interpreter with only Prefect.
"""

from __future__ import annotations

import os
from glob import glob


def writer_processes() -> list[int]:
    """Process ids of this process's children that run the store writer."""
    found = []
    for children in glob(f"/proc/{os.getpid()}/task/*/children"):
        try:
            with open(children) as f:
                pids = f.read().split()
        except OSError:
            continue
        for pid in pids:
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as c:
                    if b"_writer_process" in c.read():
                        found.append(int(pid))
            except OSError:
                continue
    return found


def other_cpus(pin: int) -> set[int]:
    """Every CPU this machine has but `pin` (or `pin` alone on a one-CPU machine)."""
    return (set(range(os.cpu_count() or 1)) - {pin}) or {pin}


def place_writers(cpus: set[int]) -> int:
    """Move every thread of the writer processes to `cpus`; how many processes were moved."""
    pids = writer_processes()
    for pid in pids:
        for task in glob(f"/proc/{pid}/task/*"):
            try:
                os.sched_setaffinity(int(task.rsplit("/", 1)[1]), cpus)
            except OSError:
                continue
    return len(pids)


def writer_cpu_seconds() -> float:
    """User + system CPU seconds the writer processes have used so far."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0.0
    for pid in writer_processes():
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total
