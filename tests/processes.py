"""Whether a process has ended: for the tests that check nothing outlives the shell.

A process counts as ended once it is a zombie: in a container PID 1 may never reap
an orphan, and a zombie runs nothing and holds no resource the tests look at.
"""

from __future__ import annotations

import os
import time

__all__ = ["process_state", "process_gone", "wait_gone"]


def process_state(pid: int) -> str | None:
    """The state letter of *pid* (R, S, Z...), or None if there is no such process."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def process_gone(pid: int) -> bool:
    """True once *pid* has ended (a zombie nobody reaped counts as ended)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return process_state(pid) in (None, "Z", "X")


def wait_gone(pid: int, timeout: float) -> bool:
    """Poll until *pid* has ended; False if it still runs after *timeout* seconds
    (only a hang guard: the tests assert no timings)."""
    deadline = time.monotonic() + timeout
    while not process_gone(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True
