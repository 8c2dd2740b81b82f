"""Leaving on SIGTERM or SIGHUP (the terminal closed), cleanly and only once.

The handler raises ``Terminated``: foreground code calling ``exit()`` is the user
asking to leave, which the exit guard may question, while a signal is the system
insisting, so the shell tells the two apart.  ``Terminated`` subclasses
``SystemExit`` because asyncio (under prompt_toolkit's prompt) re-raises only
``SystemExit`` and ``KeyboardInterrupt`` from its callbacks and would log anything
else and carry on.  Only the first signal raises: the exit path stops the jobs, and
a second signal (a closed terminal sends SIGHUP more than once) must not cut that
cleanup short and leave a process job behind.  A SIGHUP that was ignored when
bgshell started (``nohup bgshell script.py &``) stays ignored, as in python3.
"""

from __future__ import annotations

import signal
from contextlib import contextmanager
from typing import Iterator

from bgshell.shell import watchdog

__all__ = ["Terminated", "arm_poke", "begin_leaving", "install_handlers", "raise_if_swallowed", "signals_ignored"]

_NAMES = ("SIGTERM", "SIGHUP")


class Terminated(SystemExit):
    """A terminating signal arrived; ``code`` is the exit status (128 + signal)."""

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)


#: Set by the first terminating signal (or ``begin_leaving``): the shell is on its
#: way out, and later signals change nothing.  A closed terminal alone sends SIGHUP
#: more than once (to the session leader and to the foreground group); a second
#: ``Terminated`` raised while the first was being handled would cut the cleanup
#: short and leave process jobs behind.
_leaving = False
#: The signal whose ``Terminated`` was raised, even if the user's code caught it.
_pending: int | None = None


def _terminate(signum: int, frame: object) -> None:
    global _leaving, _pending
    # Delivered once, the signal went back to its default action (see ``watchdog``):
    # this handler takes it again, so that a second one cannot cut the way out short;
    # one-shot again, so that the watchdog can end a shell whose way out is stuck.
    for name in _NAMES:
        other = getattr(signal, name, None)
        if other is not None and signal.getsignal(other) in (signal.SIG_DFL, _terminate):
            signal.signal(other, _terminate)
            watchdog.one_shot(other)
    watchdog.leaving()  # also when the shell was leaving already (its terminal gone)
    if _leaving:
        return
    _leaving = True
    _pending = signum
    raise Terminated(signum)


def _nothing(signum: int, frame: object) -> None:
    """``POKE``: the blocking call it interrupted is resumed, or the pending handlers run."""


def _swallow(signum: int, frame: object) -> None:
    """SIGTERM or SIGHUP inside ``signals_ignored`` with a watchdog: nothing to do but
    take it again (one-shot) and tell the watchdog that the shell is leaving."""
    signal.signal(signum, _swallow)
    watchdog.one_shot(signum)
    watchdog.leaving()


def begin_leaving() -> None:
    """The shell leaves for a reason of its own (its terminal is gone): from now on
    SIGTERM and SIGHUP no longer interrupt it."""
    global _leaving
    _leaving = True


def raise_if_swallowed() -> None:
    """Raise ``Terminated`` again if a signal came while the user's code ran and that
    code caught it (``except BaseException``): the shell still leaves, as python3
    would have, instead of ignoring the signal for good."""
    if _pending is not None:
        raise Terminated(_pending)


def arm_poke() -> None:
    """A handler that does nothing for ``POKE``, which the watchdog and the line editor
    send only to interrupt the main thread's blocking call (its default action would
    end the shell)."""
    signal.signal(watchdog.POKE, _nothing)


def install_handlers() -> None:
    """``_terminate`` for SIGTERM and SIGHUP (unless ignored), and ``arm_poke``."""
    arm_poke()
    for name in _NAMES:
        signum = getattr(signal, name, None)
        if signum is not None and signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, _terminate)


@contextmanager
def signals_ignored() -> Iterator[None]:
    """Ignore SIGTERM, SIGHUP and SIGINT inside the block (the way out is taken).
    With a watchdog, SIGTERM and SIGHUP (unless ignored already) go to a one-shot
    handler that does nothing instead: the watchdog can still end a shell that a C
    call holding the GIL keeps from its way out, with the signal sent twice."""
    saved = {}
    for name in (*_NAMES, "SIGINT"):
        signum = getattr(signal, name, None)
        if signum is None:
            continue
        if name in _NAMES and watchdog.keeps_watch() and signal.getsignal(signum) is not signal.SIG_IGN:
            saved[signum] = signal.signal(signum, _swallow)
            watchdog.one_shot(signum)
        else:
            saved[signum] = signal.signal(signum, signal.SIG_IGN)
    try:
        yield
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)
