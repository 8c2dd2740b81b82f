"""The one table of job kinds, and the registry that makes their runners.

Everything that lists kinds derives from ``KINDS``: the shell's ``&:KIND`` suffix, Tab
completion, ``--kind``, the ``kind`` builtin, ``help`` and the manual page's test.
Adding a kind is one runner module plus one row here.

A runner is made the first time a job of its kind starts, so importing the engine
starts no thread and no process.  A ``Runners`` registry owns the runners it made;
a manager uses the shared default one unless it is given its own (tests and
embedders supply runners that way).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, Mapping

from bgshell.engine.runners import Runner

__all__ = ["Kind", "KINDS", "USER_KINDS", "Runners", "DEFAULT_RUNNERS"]


def _thread_runner() -> Runner:
    from bgshell.engine.runners.thread import ThreadRunner

    return ThreadRunner()


def _process_runner() -> Runner:
    from bgshell.engine.runners.process import ProcessRunner

    return ProcessRunner()


def _cluster_runner() -> Runner:
    from bgshell.engine.runners.cluster import ClusterRunner

    return ClusterRunner()


def _coroutine_runner() -> Runner:
    from bgshell.engine.runners.coroutine import CoroutineRunner

    return CoroutineRunner()


@dataclass(frozen=True)
class Kind:
    """One kind of job: its name, what it is, and how its runner is made."""

    name: str
    summary: str
    make_runner: Callable[[], Runner]
    #: May the user ask for it by name (``&:KIND``, ``--kind``, ``kind``)?  A coroutine
    #: job is not asked for: an input that yields an awaitable becomes one.
    chosen_by_user: bool = True


KINDS: tuple[Kind, ...] = (
    Kind("thread", "a thread of the shell: shares its namespace; killed at its next Python instruction",
         _thread_runner),
    Kind("process", "a process of its own: no shared GIL, all output captured; killed with SIGTERM, then SIGKILL",
         _process_runner),
    Kind("cluster", "a task on a dask.distributed cluster (see the cluster builtin); killed like a thread, on its worker",
         _cluster_runner),
    Kind("coroutine", "a task on the shell's asyncio loop (an input whose value is awaitable)",
         _coroutine_runner, chosen_by_user=False),
)

#: The kinds a user may name, in the table's order (the first is the default).
USER_KINDS: tuple[str, ...] = tuple(kind.name for kind in KINDS if kind.chosen_by_user)

_BY_NAME = {kind.name: kind for kind in KINDS}


class Runners:
    """The runners of one manager (or of many), one per kind, each made on first use.

    *given* runners are used for their kinds instead of the table's (a kind that
    is not in the table may be given too).
    """

    def __init__(self, given: Mapping[str, Runner] | None = None) -> None:
        self._runners: dict[str, Runner] = dict(given or {})
        self._lock = threading.Lock()

    def get(self, kind: str) -> Runner:
        """The runner for *kind*; ValueError names the valid kinds."""
        runner = self._runners.get(kind)
        if runner is not None:
            return runner
        with self._lock:
            runner = self._runners.get(kind)
            if runner is None:
                row = _BY_NAME.get(kind)
                if row is None:
                    names = ", ".join(dict.fromkeys([*_BY_NAME, *self._runners]))
                    raise ValueError(f"unknown job kind {kind!r}; use one of: {names}")
                runner = self._runners[kind] = row.make_runner()
            return runner

    def shutdown(self) -> None:
        """Release what the runners keep ready for future jobs (a process runner's
        fork server), so nothing of the shell outlives it."""
        with self._lock:
            made = list(self._runners.values())
        for runner in made:
            close = getattr(runner, "shutdown", None)
            if close is not None:
                close()


#: The registry every manager shares unless it was given its own.
DEFAULT_RUNNERS = Runners()
