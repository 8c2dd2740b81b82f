"""Small helpers the benchmark scripts share to print their figures the same way, and
the readings of this process's memory and resources that both soaks take."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import sys
import threading
import time
from typing import Callable

__all__ = ["ms", "p95", "table", "load_text", "print_ending",
           "MB", "mb", "status_kb", "MALLOC_TRIM", "Reading", "children"]

MB = 1024 * 1024


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]


def table(header: list[str], rows: list[list[str]]) -> None:
    """Print an aligned table: the first column left-aligned, the others right."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(cells, widths))
        ).rstrip()

    print("  " + line(header))
    print("  " + "  ".join("-" * w for w in widths))
    for row in rows:
        print("  " + line(row))


def load_text(warn: bool = True) -> str:
    """The 1-minute load average, with a warning when other work shares the CPUs."""
    try:
        one = os.getloadavg()[0]
    except OSError:
        return "unknown"
    busy = warn and one > 0.5 * (os.cpu_count() or 1)
    return f"{one:.2f}" + (" (BUSY machine: other processes compete, numbers are inflated)" if busy else "")


def print_ending(started: float) -> None:
    """The last line of a run: the load now, and the time since *started* (perf_counter)."""
    print(
        f"\nload {load_text(warn=False)} at the end (this benchmark's own work included); "
        f"total time {time.perf_counter() - started:.0f} s"
    )


# ------------------------------------------------------------------------- readings
# Shared by soak.py and soak_hostile.py: one definition of "memory back near the
# baseline" and "no leak", so the two soaks' figures can be compared.


def mb(n: int) -> str:
    return f"{n / MB:7.1f} MB"


def status_kb(field: str) -> int:
    """A ``kB`` field of ``/proc/self/status`` (``VmRSS``, ``VmHWM``), 0 if absent."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, if reachable: without it freed memory may stay in
    RSS, which is not a leak, so the soaks trim before they read."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


MALLOC_TRIM = _malloc_trim()


class Reading:
    """Memory and resources at one moment, after gc (and a trim when available)."""

    def __init__(self, label: str) -> None:
        self.label = label
        for _ in range(3):
            gc.collect()
        self.rss_untrimmed = status_kb("VmRSS") * 1024
        if MALLOC_TRIM is not None:
            MALLOC_TRIM(0)
        self.rss = status_kb("VmRSS") * 1024
        self.blocks = sys.getallocatedblocks()
        self.threads = threading.active_count()
        self.os_threads = len(os.listdir("/proc/self/task"))
        self.fds = len(os.listdir("/proc/self/fd"))
        self.children, self.zombies = children()


def children() -> tuple[int, int]:
    """Processes whose parent is this one, and how many of them are zombies."""
    me = str(os.getpid())
    alive = zombies = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == me:
            if fields[0] == "Z":
                zombies += 1
            else:
                alive += 1
    return alive, zombies
