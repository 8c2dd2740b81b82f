"""The words a job's life is told in: its states, the exception a kill raises inside
it, the error for a job number nobody holds, and the placeholders its ``result``
holds before it has one.

Kept apart from the job itself so that runners, which only need these names, never
import the job class (and the job class can import the runners without a cycle).
"""

from __future__ import annotations

import enum

__all__ = ["JobState", "JobKilled", "NoSuchJob", "NOT_FINISHED", "DIED"]


class JobState(enum.Enum):
    """Where a job is in its life.

    ``QUEUED``: handed to a runner that has not started it yet (a cluster job waiting
    for a worker).  ``KILLING``: asked to stop, its code may still be running.
    """

    CREATED = "Created"
    QUEUED = "Queued"
    RUNNING = "Running"
    KILLING = "Killing"
    COMPLETED = "Completed"
    DEAD = "Dead"
    KILLED = "Killed"

    @property
    def finished(self) -> bool:
        """True once the job has ended, however it ended."""
        return self._finished  # type: ignore[attr-defined]

    @property
    def alive(self) -> bool:
        """True while the job's code may still be running."""
        return self is JobState.RUNNING or self is JobState.KILLING


# Plain attributes, set once: reading them must be cheap (Enum hashing is Python
# code on 3.11) since every listing and announcement asks them of every job.
for _state, _code in (("CREATED", 0), ("QUEUED", 0), ("RUNNING", 1), ("KILLING", 1),
                      ("COMPLETED", 2), ("DEAD", -1), ("KILLED", -1)):
    JobState[_state]._finished = _state in ("COMPLETED", "DEAD", "KILLED")  # type: ignore[attr-defined]
    JobState[_state]._stat_code = _code  # type: ignore[attr-defined]


class JobKilled(BaseException):
    """Raised inside a job that ``kill`` stops.

    A ``BaseException`` rather than an ``Exception``, so the job's own ``except
    Exception:`` cannot swallow the kill.
    """


class NoSuchJob(KeyError):
    """No job has this number (it never existed, or was removed or flushed)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "no such job"


class _Sentinel:
    """A placeholder result that can never be mistaken for a value a job returned."""

    __slots__ = ("_text",)

    def __init__(self, text: str) -> None:
        self._text = text

    def __repr__(self) -> str:
        return self._text

    __str__ = __repr__

    def __bool__(self) -> bool:
        return False


# Shown by their public import path (a traceback reads ``bgshell.jobs.NoSuchJob``),
# which is where users import them from.
for _public in (JobState, JobKilled, NoSuchJob):
    _public.__module__ = "bgshell.jobs"

#: ``job.result`` while a job has not finished.
NOT_FINISHED = _Sentinel("<BackgroundJob has not completed>")
#: ``job.result`` of a job that died or was killed; its exception is ``job.exception``.
DIED = _Sentinel("<BackgroundJob died, call jobs.traceback() for details>")
