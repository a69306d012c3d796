"""What a benchmark ran on, and how busy the machine is: on a shared machine that tells a real change from noise."""

import contextlib
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.support.processes import ROOT


@dataclass(frozen=True)
class CpuJiffies:
    """All CPUs' time since boot, in clock ticks, from /proc/stat's first line."""

    busy: int  # user, nice, system, irq, softirq
    idle: int  # idle and iowait
    steal: int  # time the hypervisor gave other guests

    @property
    def total(self) -> int:
        return self.busy + self.idle + self.steal


def cpu_jiffies() -> CpuJiffies:
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    values += [0] * (8 - len(values))
    user, nice, system, idle, iowait, irq, softirq, steal = values
    return CpuJiffies(busy=user + nice + system + irq + softirq, idle=idle + iowait, steal=steal)


def ticks_per_second() -> int:
    return os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time so far of one process (all its threads); 0 once it is gone."""
    with contextlib.suppress(OSError, IndexError, ValueError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks_per_second()  # utime, stime
    return 0.0


def busy_pct(seconds: float = 1.0) -> float:
    """How busy all CPUs were over the next `seconds`, steal included."""
    first = cpu_jiffies()
    time.sleep(seconds)
    second = cpu_jiffies()
    total = second.total - first.total
    return 100 * (total - (second.idle - first.idle)) / total if total else 0.0


def wait_for_quiet(max_wait_s: float, busy_limit_pct: float = 25.0) -> float:
    """Waits, up to `max_wait_s` seconds, until the CPUs are at most `busy_limit_pct` busy; returns the wait.

    Called while the benchmark's own processes are idle, what keeps the machine busy then is someone else's
    work (a test suite, a build), which would take CPU from the processes measured."""
    started = time.monotonic()
    while time.monotonic() - started < max_wait_s:
        if busy_pct() <= busy_limit_pct:
            break
    return round(time.monotonic() - started, 1)


def describe() -> dict[str, Any]:
    """CPUs, CPU model, kernel and Python version."""
    cpu_model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model,
        "kernel": platform.release(),
        "python": sys.version.split()[0],
    }


def revision() -> str:
    """The commit measured, with "+changes" when the work tree differs from it; "unknown" outside git."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        changes = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+changes" if changes else "")
