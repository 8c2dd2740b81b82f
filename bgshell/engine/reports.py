"""IPython's reports on a manager's jobs: ``jobs()``/``status()``, ``_status_new()`` and
``traceback()``, printed the way IPython prints them.  Kept apart from the manager's
bookkeeping (``manager``), which they only read.
"""

from __future__ import annotations

from builtins import print  # bound at import: a job replacing builtins.print cannot silence the shell
import sys
import threading

from bgshell.engine.job import BackgroundJobBase
from bgshell.engine.jobcontext import running_job
from bgshell.engine.states import JobState

__all__ = ["IPythonReports"]


class IPythonReports:
    """The printing half of IPython's ``BackgroundJobManager`` API."""

    _lock: threading.Lock
    _running: dict[int, BackgroundJobBase]
    _completed: dict[int, BackgroundJobBase]
    _dead: dict[int, BackgroundJobBase]

    def __call__(self) -> None:
        """``jobs()`` prints what ``jobs.status()`` prints, as the shell's ``jobs`` would."""
        return self.status()

    def _group_report(self, group: list[BackgroundJobBase], name: str) -> bool:
        """Print a titled group of jobs; return True if it had any."""
        if not group:
            return False
        print(f"{name} jobs:")
        for job in group:
            print(f"{job.num} : {job}")
        print()
        return True

    def _report_by_state(self, fresh: list[BackgroundJobBase]) -> None:
        done = [job for job in fresh if job.state is JobState.COMPLETED]
        died = [job for job in fresh if job.state is not JobState.COMPLETED]
        self._group_report(done, "Completed")
        self._group_report(died, "Dead, call jobs.traceback() for details")

    def _status_new(self) -> bool:
        """Print the jobs that ended since the last look (IPython's format); True if any.

        Each call reports only what ended since the one before.
        """
        fresh = self.drain_finished()
        self._report_by_state(fresh)
        return bool(fresh)

    def status(self, verbose: int = 0) -> None:
        """Print every job, grouped as running, completed and dead."""
        with self._lock:
            running = list(self._running.values())
            completed = list(self._completed.values())
            dead = list(self._dead.values())
            if running_job() is None:  # a job's look is not the user's
                for job in completed + dead:
                    job.seen = True
        self._group_report(running, "Running")
        self._group_report(completed, "Completed")
        self._group_report(dead, "Dead")

    def traceback(self, job: int | BackgroundJobBase | None = None) -> bool | None:
        """Print the traceback of job N, or of every dead job when no job is given.

        For job N: True, or False (and one line on stderr) for an unknown job.
        """
        if job is None:
            for deadjob in self.dead:
                print(f"Traceback for: {deadjob!r}")
                deadjob.traceback()
                print()
            return None
        found = self.get(job)
        if found is None:
            print(f"traceback: no such job {job.num if isinstance(job, BackgroundJobBase) else job!r}", file=sys.stderr)
            return False
        found.traceback()
        return True
