"""Small helpers the benchmark scripts share to print their figures the same way."""

from __future__ import annotations

import os
import time

__all__ = ["ms", "p95", "table", "load_text", "print_ending"]


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
