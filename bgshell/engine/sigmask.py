"""Signals are for the main thread: the threads bgshell starts block them while they wait.

CPython runs signal handlers in the main thread only, but the kernel may hand a
signal sent to the process to any thread that does not block it.  The main thread,
asleep in a C call (``time.sleep``, a lock, a ``__reduce__`` that pickles slowly),
then hears of it only when that call returns: Ctrl-C on it looked ignored (seen
about one time in ten with idle pool threads around).  So each thread bgshell
starts blocks these signals while it waits, and takes the main thread's mask while
it runs the user's code (a thread job, a coroutine's step) or starts a process: the
code, and the processes it starts, get the mask they would get under python3.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator

try:  # the C function: signal.pthread_sigmask turns the old mask into Signals members,
    from _signal import pthread_sigmask as _sigmask  # ~2 us each, 0.15 ms a job with ~60 blocked
except ImportError:  # pragma: no cover - another interpreter
    _sigmask = signal.pthread_sigmask

__all__ = ["ASYNC_SIGNALS", "leave_signals_to_main", "take_main_mask", "as_main_thread"]

#: What a process receives from outside at any time; the signals a fault raises in
#: the very thread that caused it, and those that cannot be blocked, are left alone.
ASYNC_SIGNALS = frozenset(signal.valid_signals()) - {
    signal.SIGKILL, signal.SIGSTOP, signal.SIGSEGV, signal.SIGBUS, signal.SIGFPE, signal.SIGILL,
    signal.SIGTRAP, signal.SIGSYS, signal.SIGABRT,
}


def _main_mask() -> frozenset[int]:
    """The main thread's mask (this module is imported there, before any thread of ours)."""
    if threading.current_thread() is not threading.main_thread():
        return frozenset()
    return frozenset(_sigmask(signal.SIG_BLOCK, []))


_MAIN_MASK = _main_mask()


def leave_signals_to_main() -> None:
    """In a thread of bgshell's: block the asynchronous signals (the kernel then hands
    them to the main thread, whose blocking call they interrupt)."""
    _sigmask(signal.SIG_BLOCK, ASYNC_SIGNALS)


def take_main_mask() -> None:
    """This thread gets the main thread's mask (it is about to run the user's code)."""
    _sigmask(signal.SIG_SETMASK, _MAIN_MASK)


@contextmanager
def as_main_thread() -> Iterator[None]:
    """Inside the block, this thread has the main thread's mask (for the user's code
    and the processes it starts); the thread's own mask comes back after."""
    previous = _sigmask(signal.SIG_SETMASK, _MAIN_MASK)
    try:
        yield
    finally:
        _sigmask(signal.SIG_SETMASK, previous)
