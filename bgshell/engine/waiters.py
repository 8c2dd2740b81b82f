"""Waiting for a job to end, safely even when the waiter is interrupted.

Each waiter gets a private lock, held until the job ends; the job releases every
waiter's lock then.  A waiter that an exception interrupts at any point (Ctrl-C's
``KeyboardInterrupt`` in the main thread, a kill raised in a job's thread) holds
nothing anyone else needs: one lock shared by all waiters, taken and given back
by each, would stay taken if the interruption fell between the two, and every
later wait for that job would hang.
"""

from __future__ import annotations

import _thread
import time
from typing import Any

__all__ = ["Waiters"]

#: How long a waiter inside a job sleeps between looks (a kill lands in between).
_SLICE = 0.05


class Waiters:
    """The waiters of one job."""

    __slots__ = ("_locks", "_ended")

    def __init__(self) -> None:
        self._locks: list[Any] = []
        self._ended = False

    def release_all(self) -> None:
        """The job has ended: every waiter, now and later, goes on."""
        self._ended = True
        for lock in list(self._locks):
            try:
                lock.release()
            except RuntimeError:
                pass  # released already

    def wait(self, timeout: float | None, *, in_slices: bool) -> bool:
        """Block until ``release_all``; True if it came.  *in_slices*: wake up every
        few hundredths of a second, so that an exception raised in this thread
        (a kill of the job that waits) takes effect."""
        if self._ended:
            return True
        lock = _thread.allocate_lock()
        lock.acquire()
        self._locks.append(lock)  # (list.append is atomic: no lock to be caught holding)
        try:
            if self._ended:
                return True
            if in_slices:
                return _acquire_in_slices(lock, timeout)
            return lock.acquire(timeout=-1 if timeout is None else max(timeout, 0.0))
        finally:
            try:
                self._locks.remove(lock)
            except ValueError:
                pass


def _acquire_in_slices(lock: Any, timeout: float | None) -> bool:
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        left = _SLICE if deadline is None else min(_SLICE, deadline - time.monotonic())
        if lock.acquire(timeout=max(left, 0.0)):
            return True
        if deadline is not None and time.monotonic() >= deadline:
            return False
