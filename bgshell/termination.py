"""Leaving on SIGTERM or SIGHUP (the terminal closed), cleanly and only once.

The handler raises ``Terminated``: foreground code calling ``exit()`` is the user
asking to leave, which the exit guard may question, while a signal is the system
insisting, so the shell tells the two apart.  ``Terminated`` subclasses
``SystemExit`` because asyncio (under prompt_toolkit's prompt) re-raises only
``SystemExit`` and ``KeyboardInterrupt`` from its callbacks and would log anything
else and carry on.  The exit path stops the jobs (with signals ignored meanwhile, so a second signal cannot cut the
cleanup short and leave a process job behind).  A SIGHUP that was ignored when
bgshell started (``nohup bgshell script.py &``) stays ignored, as in python3.
"""

from __future__ import annotations

import signal
from contextlib import contextmanager
from typing import Iterator

__all__ = ["Terminated", "install_handlers", "signals_ignored"]

_NAMES = ("SIGTERM", "SIGHUP")


class Terminated(SystemExit):
    """A terminating signal arrived; ``code`` is the exit status (128 + signal)."""

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)


def _terminate(signum: int, frame: object) -> None:
    raise Terminated(signum)


def install_handlers() -> None:
    for name in _NAMES:
        signum = getattr(signal, name, None)
        if signum is not None and signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, _terminate)


@contextmanager
def signals_ignored() -> Iterator[None]:
    """Ignore SIGTERM, SIGHUP and SIGINT inside the block (the way out is taken)."""
    saved = {}
    for name in (*_NAMES, "SIGINT"):
        signum = getattr(signal, name, None)
        if signum is not None:
            saved[signum] = signal.signal(signum, signal.SIG_IGN)
    try:
        yield
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)
