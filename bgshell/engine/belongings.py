"""What a job has besides its state: its output, its input, and the processes it
started.  Kept apart from the state machine (``job``), which they do not change.
"""

from __future__ import annotations

import signal
import subprocess
import threading
from typing import Any, Callable

from bgshell.engine.capture import JobOutput
from bgshell.engine.children import start_time, stop_group, stop_popen
from bgshell.engine.jobinput import JobInput
from bgshell.engine.states import JobState

__all__ = ["JobBelongings"]


class JobBelongings:
    """A job's output (``output``), its stdin (``input``) and its processes."""

    _lock: threading.Lock
    _state: JobState

    def _init_belongings(self) -> None:
        #: What the job wrote to stdout/stderr (see ``bgshell.engine.capture``).
        self.output = JobOutput()
        self._input: JobInput | None = None  # made when the job first reads stdin
        self._waiting_hooks: list[Callable[[Any], None]] = []
        self._popens: list[subprocess.Popen] = []
        self._groups: list[tuple[int, int | None]] = []

    @property
    def input(self) -> JobInput:
        """What the job reads as its stdin (see ``bgshell.engine.jobinput``)."""
        if self._input is None:
            with self._lock:
                if self._input is None:
                    channel = JobInput()
                    channel.on_wait = self._now_waiting
                    self._input = channel
        return self._input

    @property
    def waiting_for_input(self) -> bool:
        """True while the job is blocked reading its stdin."""
        channel = self._input
        return channel is not None and channel.waiting and not self._state.finished

    def add_waiting_hook(self, hook: Callable[[Any], None]) -> None:
        """Call *hook(job)* (from the job's thread) each time the job starts waiting
        for input."""
        self._waiting_hooks.append(hook)

    def remove_waiting_hook(self, hook: Callable[[Any], None]) -> None:
        try:
            self._waiting_hooks.remove(hook)
        except ValueError:
            pass

    def _now_waiting(self) -> None:
        for hook in list(self._waiting_hooks):
            hook(self)

    # -- processes ------------------------------------------------------------------
    def add_process(self, popen: subprocess.Popen) -> None:
        """A subprocess the job's code started (see ``bgshell.engine.children``)."""
        self._popens.append(popen)

    def add_process_group(self, group: int) -> None:
        """The process group the job runs in (a process job's own)."""
        self._groups.append((group, start_time(group)))

    @property
    def has_processes(self) -> bool:
        """True if the job started subprocesses or runs in a process group of its own."""
        return bool(self._popens or self._groups)

    def stop_processes(self, signum: int = signal.SIGTERM) -> None:
        """Send *signum* to the job's subprocesses that still run (and what they
        started), and to what is left of its process group."""
        for popen in list(self._popens):
            stop_popen(popen, signum)
        for group, started in list(self._groups):
            stop_group(group, started, signum)
