"""What a job assigns to ``sys`` stays the job's own.

``sys.stdout``, ``sys.stderr``, ``sys.stdin``, ``sys.displayhook`` and
``sys.excepthook`` belong to the whole process.  A thread job that replaced one of
them for a while (``contextlib.redirect_stdout(io.StringIO())``) would silence the
prompt, the foreground's output and every announcement, or hand the user's values
to the job's hook.  So the ``sys`` module's class becomes a subclass of ``ModuleType``
whose ``__setattr__`` keeps such an assignment made inside a job in the job's own
context (a ``ContextVar``): the module attribute keeps the shell's routing stream,
which sends the job's writes where the job asked (``capture.RoutingStream``).
Assigning back the value the attribute holds (what ``redirect_stdout`` does on its
way out) removes the job's own.  Outside any job, assignments are ordinary.

The recursion limit is process-wide too, and the shell's own frames under the user's
code count against it: a job that lowered it to 50 left the prompt unable to show
``6*7``.  So ``sys.setrecursionlimit`` and ``sys.getrecursionlimit`` speak of the
user's frames: the real limit is ``RECURSION_ROOM`` frames higher than the one set
and shown, and the user's code gets the depth python3 would give it.

The shell loads its editor in a thread while the first prompt is already up, and
that import goes some 140 frames deep: a job that lowered the limit meanwhile would
break it.  So while ``recursion_held`` is in force a lower limit waits (and is
shown by ``getrecursionlimit`` at once), and a higher one takes effect at once.

Limits: reading ``sys.stdout`` inside such a job still gives the routing stream
(whose attributes are the job's stream's), and a plain thread a job starts has no
job context, so its assignments are process-wide as usual.
"""

from __future__ import annotations

import contextlib
import importlib
import operator
import sys
import threading
import types
from collections.abc import Iterator
from typing import Any

from bgshell.engine.jobcontext import own_sys, running_job
from bgshell.engine.tracebacks import hide_innermost

__all__ = ["GUARDED", "RECURSION_ROOM", "install_guard", "recursion_held"]

#: The ``sys`` attributes a job cannot change for the rest of the process.
GUARDED = frozenset({"stdout", "stderr", "stdin", "displayhook", "excepthook"})

#: Frames kept for the shell on top of the recursion limit the user sets: its own
#: under the user's code (about 25 at most) and what showing a value or an error takes.
RECURSION_ROOM = 50
_real_setrecursionlimit = sys.setrecursionlimit
_real_getrecursionlimit = sys.getrecursionlimit


_hold_lock = threading.Lock()
_holds = 0
_floor = 0  # the real limit when the first hold began
_wanted: int | None = None  # the real limit asked for while held


def setrecursionlimit(limit: int) -> None:
    """Set the maximum depth of the Python interpreter stack to *limit* (of the
    user's frames; bgshell keeps its own on top)."""
    global _wanted
    limit = operator.index(limit)
    if limit < 1:
        raise ValueError("recursion limit must be greater or equal than 1")
    real = limit + RECURSION_ROOM
    with _hold_lock:
        if _holds:
            _wanted, real = real, max(real, _floor)
        _real_setrecursionlimit(real)


def getrecursionlimit() -> int:
    """The recursion limit as set by ``sys.setrecursionlimit`` (of the user's frames)."""
    wanted = _wanted
    real = _real_getrecursionlimit() if wanted is None else wanted
    return max(real - RECURSION_ROOM, 1)


@contextlib.contextmanager
def recursion_held() -> Iterator[None]:
    """Inside, no job can lower the real recursion limit; what was asked for meanwhile
    takes effect when the last hold ends."""
    global _holds, _floor, _wanted
    with _hold_lock:
        if not _holds:
            _floor = _real_getrecursionlimit()
        _holds += 1
    try:
        yield
    finally:
        with _hold_lock:
            _holds -= 1
            if not _holds and _wanted is not None:
                _real_setrecursionlimit(_wanted)
                _wanted = None


class _GuardedSys(types.ModuleType):
    """The ``sys`` module, with job-local assignments of ``GUARDED`` names."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in GUARDED and running_job() is not None:
            values = dict(own_sys.get() or {})
            if value is self.__dict__.get(name):
                values.pop(name, None)  # put back as it was (redirect_stdout leaving)
            else:
                values[name] = value
            own_sys.set(values)
            return
        super().__setattr__(name, value)

    def __reduce__(self) -> tuple:
        """Pickled as the module it is (a process job may name ``sys``)."""
        return importlib.import_module, (self.__name__,)


def install_guard() -> None:
    """Give ``sys`` the guarding class (once)."""
    if not isinstance(sys, _GuardedSys):
        sys.__class__ = _GuardedSys
        limit = _real_getrecursionlimit()
        sys.setrecursionlimit, sys.getrecursionlimit = setrecursionlimit, getrecursionlimit
        hide_innermost(setrecursionlimit)
        setrecursionlimit(limit)
