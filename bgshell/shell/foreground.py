"""What runs in the foreground, in which thread, and sending it to the background.

Each input the shell runs in the foreground (Python code or a builtin) is a ``Run``,
registered under the thread that runs it.  Ctrl-Z (``detach``) turns the foreground
run into a job without stopping it: Python code goes on in the same thread as a
thread job (``BackgroundJobAdopted``), its output and input now the job's, its value
or exception the job's outcome; a builtin that waits (``fg``, ``output -f``,
``wait``) is told to stop waiting (``DetachRequest``).  Ctrl-C typed afterwards
reaches only what is still the foreground: ``interruptible`` says whether a run is.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from bgshell.engine.jobcontext import adopt_thread, release_thread
from bgshell.engine.jobtypes import BackgroundJobAdopted
from bgshell.engine.manager import BackgroundJobManager
from bgshell.engine.runners.thread import end_adopted, raise_in_thread

__all__ = ["Run", "Foreground", "DetachRequest"]


class DetachRequest(BaseException):
    """Raised in a builtin that waits (``fg``, ``output -f``, ``wait``): Ctrl-Z sent
    it back, it stops waiting.  A ``BaseException``, so ``except Exception`` in the
    way cannot keep it."""


class Run:
    """One input running in the foreground."""

    __slots__ = ("text", "label", "thread_id", "builtin", "starting", "job", "value", "error", "finished", "_wake",
                 "_pending", "started")

    def __init__(self, text: str, label: str, builtin: bool, starting: bool = False) -> None:
        self.text = text
        self.label = label
        self.thread_id = threading.get_ident()
        self.started = time.monotonic()
        self.builtin = builtin
        #: Starting a job (``CODE &``): Ctrl-C may stop it, Ctrl-Z has nothing to send back.
        self.starting = starting
        #: The job it became (Ctrl-Z), or None while it is the foreground.
        self.job: Any = None
        self.value: Any = None
        self.error: BaseException | None = None
        self.finished = False
        self._wake: tuple[int, int] | None = None
        self._pending = b""  # woken before anyone watched

    @property
    def wake_fd(self) -> int:
        """A descriptor that becomes readable when the run is sent to the background
        (a builtin reading the terminal selects on it too)."""
        if self._wake is None:
            self._wake = os.pipe()
            if self._pending:
                os.write(self._wake[1], self._pending)
        return self._wake[0]

    def wake(self, why: bytes = b"z") -> None:
        """Make ``wake_fd`` readable: ``b"z"``, sent back by Ctrl-Z; ``b"c"``, Ctrl-C
        for a builtin waiting in a helper thread (see ``follow``)."""
        if self._wake is not None:
            os.write(self._wake[1], why)
        else:
            self._pending += why

    def close(self) -> None:
        if self._wake is not None:
            for fd in self._wake:
                os.close(fd)
            self._wake = None


class Foreground:
    """The runs in the foreground now (more than one only when Ctrl-Z left one of
    them running in the main thread and the next input runs in a helper)."""

    def __init__(self, jobs: BackgroundJobManager) -> None:
        self._jobs = jobs
        self._lock = threading.Lock()
        self._runs: dict[int, Run] = {}
        self._newest: Run | None = None

    def begin(self, text: str, label: str, *, builtin: bool = False, starting: bool = False) -> Run:
        """*text* starts running in this thread, in the foreground."""
        run = Run(text, label, builtin, starting)
        with self._lock:
            self._runs[run.thread_id] = run
            self._newest = run
        return run

    def here(self) -> Run | None:
        """The run of the calling thread, if any."""
        return self._runs.get(threading.get_ident())

    def current(self) -> Run | None:
        """The run that is the foreground now: the newest one not sent back."""
        run = self._newest
        return run if run is not None and run.job is None and not run.finished else None

    def of_thread(self, thread_id: int) -> Run | None:
        return self._runs.get(thread_id)

    def interruptible(self, thread_id: int) -> bool:
        """True if Ctrl-C may interrupt what thread *thread_id* runs: its foreground
        input, not code that Ctrl-Z sent to the background."""
        run = self._runs.get(thread_id)
        return run is not None and run.job is None and not run.finished

    def detach(self, run: Run) -> Any:
        """Ctrl-Z: Python code becomes a thread job, which is returned; a waiting
        builtin is told to stop waiting (None is returned)."""
        with self._lock:
            if run.finished or run.job is not None or run.starting:
                return None
            if run.builtin:
                run.wake()
                if run.thread_id != threading.main_thread().ident:
                    raise_in_thread(run.thread_id, DetachRequest)
                return None
            job = BackgroundJobAdopted(run.label)
            job.daemon = True
            run.job = job
            adopt_thread(run.thread_id, job)
            self._jobs.adopt(job, run.thread_id, run.started)
        run.wake()
        return job

    def keep_value(self, value: Any) -> bool:
        """The code of this thread's run showed *value*: if the run became a job, it is
        the job's result instead (True)."""
        run = self.here()
        if run is None or run.job is None:
            return False
        run.value = value
        return True

    def keep_error(self, error: BaseException) -> bool:
        """Likewise for an exception: a job's, not shown, if the run became one."""
        run = self.here()
        if run is None or run.job is None:
            return False
        run.error = error
        return True

    def end(self, run: Run) -> None:
        """*run* has returned; if it became a job, the job ends with its outcome."""
        with self._lock:
            run.finished = True
            self._runs.pop(run.thread_id, None)
            if self._newest is run:
                self._newest = None
            job = run.job
        run.close()
        if job is not None:
            release_thread(run.thread_id)
            end_adopted(job, run.value, run.error)
