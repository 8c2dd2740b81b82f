"""How a job runs.  A runner is a small object with two methods:

``start(job)``
    arrange for ``job`` to execute and, whatever happens, to call ``job._finish`` once;
``kill(job, force=False) -> bool``
    ask the job to stop (returns False if it is not running); ``force`` is for
    leaving the shell: stop it now, with no grace period.

and a ``kind`` name ("thread", "process", "coroutine").  The manager keeps jobs of every
kind in the same lists and never asks which kind it holds.  Runners are created on
first use, so importing the engine starts no thread and no process.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Protocol

__all__ = ["Runner", "get_runner", "register", "shutdown", "KINDS"]


class Runner(Protocol):
    kind: str

    def start(self, job: Any) -> None: ...

    def kill(self, job: Any, force: bool = False) -> bool: ...


def _thread_runner() -> Runner:
    from bgshell.runners.thread import ThreadRunner

    return ThreadRunner()


def _coroutine_runner() -> Runner:
    from bgshell.runners.coroutine import CoroutineRunner

    return CoroutineRunner()


def _process_runner() -> Runner:
    from bgshell.runners.process import ProcessRunner

    return ProcessRunner()


_FACTORIES: dict[str, Callable[[], Runner]] = {
    "thread": _thread_runner,
    "process": _process_runner,
    "coroutine": _coroutine_runner,
}
_RUNNERS: dict[str, Runner] = {}
_lock = threading.Lock()

#: The kinds a job can be asked to run as.
KINDS: tuple[str, ...] = tuple(_FACTORIES)


def register(kind: str, factory: Callable[[], Runner]) -> None:
    """Make a new kind of job available (used by the process and coroutine runners)."""
    global KINDS
    with _lock:
        _FACTORIES[kind] = factory
        KINDS = tuple(_FACTORIES)


def get_runner(kind: str) -> Runner:
    """The shared runner for *kind*; ValueError names the valid kinds."""
    runner = _RUNNERS.get(kind)
    if runner is not None:
        return runner
    with _lock:
        runner = _RUNNERS.get(kind)
        if runner is None:
            factory = _FACTORIES.get(kind)
            if factory is None:
                raise ValueError(f"unknown job kind {kind!r}; use one of: {', '.join(_FACTORIES)}")
            runner = _RUNNERS[kind] = factory()
        return runner


def shutdown() -> None:
    """Release what runners keep ready for future jobs (a process runner's fork
    server), so nothing of the shell outlives it."""
    for runner in list(_RUNNERS.values()):
        close = getattr(runner, "shutdown", None)
        if close is not None:
            close()
