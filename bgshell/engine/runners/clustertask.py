"""A cluster job's handle: what the shell knows of the dask task that runs the job,
and how the job ends from what comes back.

The job moves only through its own methods: ``set_queued`` when the task is handed
to the cluster, ``set_running`` when the worker's *started* event arrives (dask's
own view cannot tell a task waiting in a worker's queue from one that runs), then
``set_result``/``set_exception`` from the outcome the worker sent, or from what
went wrong on the way (the worker died, the scheduler was lost).
"""

from __future__ import annotations

import itertools
import os
import threading
from typing import Any

from bgshell.engine.runners import payload
from bgshell.engine.states import JobKilled, JobState
from bgshell.engine.tracebacks import describe_exception

__all__ = ["ClusterTask", "ClusterJobError", "RemoteError", "WorkerLost", "ContactLost"]

#: Longest wait for output the worker sent before the job's outcome (it normally
#: arrives first: both come through the scheduler).
OUTPUT_WAIT_SECONDS = 2.0

_numbers = itertools.count(1)


class ClusterJobError(RuntimeError):
    """A cluster job ended without an outcome from its worker; the message says why."""


class RemoteError(ClusterJobError):
    """Stands in for an exception a cluster job raised that the shell cannot rebuild:
    a class of the same name (made for it), with the same message."""


class WorkerLost(ClusterJobError):
    """The worker running the job died or was restarted: the job is not run again."""


class ContactLost(ClusterJobError):
    """The shell lost its connection to the scheduler while the job was on the cluster."""


class ClusterTask:
    """One job on the cluster: its task key, its future, the worker it started on."""

    def __init__(self, job: Any, packed: bytes, link: Any) -> None:
        self.job = job
        #: The ``clusterlink.Link`` it was sent through (its client, its control thread).
        self.link = link
        #: Unique on a scheduler that many clients share, and in a worker's registry.
        self.id = f"{next(_numbers)}-{os.urandom(8).hex()}"
        self.packed: bytes | None = packed  # until it is sent
        self.future: Any = None
        self.worker: str | None = None
        #: Set when the shell stops the task itself ("kill", "restart"); the shell then
        #: ends the job, not what dask reports about the task.
        self.stopping: str | None = None
        self._arrived: threading.Condition = link.arrived
        self._chunks: dict[int, str] = {}
        self._next_chunk = 1

    @property
    def key(self) -> str:
        return f"bgshell-{self.id}"

    # -- from the worker's events (on the client's event loop: quick, never blocking) -----
    def started(self, worker: str, pid: Any) -> bool:
        """The worker says the job's code starts; False if it must not (the job has ended,
        or started elsewhere before: dask re-ran it), and the caller stops it there."""
        if self.worker is not None or self.job.state.finished:
            return False
        self.worker = worker
        where = f"{worker} (pid {pid})"
        if self.job.state is JobState.KILLING:  # killed while queued: the kill reaches it there
            self.job.set_handle(self, where=where)
        else:
            self.job.set_running(self, where=where)
        return True

    def add_output(self, seq: int, text: str) -> None:
        """Chunk *seq* of what the job printed; chunks reach the job's output in order."""
        self._chunks[seq] = text
        while self._next_chunk in self._chunks:
            self.job.output.write(self._chunks.pop(self._next_chunk))
            self._next_chunk += 1
        with self._arrived:
            self._arrived.notify_all()

    # -- how it ends -------------------------------------------------------------------
    def finish(self, raw: bytes) -> None:
        """End the job from the pickled ``(outcome, chunks)`` its worker returned."""
        import cloudpickle

        try:
            outcome, chunks = cloudpickle.loads(raw)
        except BaseException as exc:
            self.fail(ClusterJobError(f"the job's outcome could not be read in the shell: {describe_exception(exc)}"))
            return
        with self._arrived:
            self._arrived.wait_for(lambda: self._next_chunk > chunks, OUTPUT_WAIT_SECONDS)
        if outcome[0] == "killed":
            where = f"on {self.worker}" if self.worker else "before it started"
            self.job.set_exception(JobKilled(f"killed {where}"))
        else:
            payload.land(self.job, outcome, killed=False, stand_in=RemoteError)

    def fail(self, error: BaseException) -> None:
        """End the job with *error*, shown as one line."""
        self.job.set_exception(error, tb_text=f"{type(error).__name__}: {error}\n")

    def lost(self) -> None:
        """The scheduler is gone: the job's fate cannot be known any more."""
        if self.worker is not None:
            self.fail(ContactLost(f"lost contact with the cluster (may still run on {self.worker})"))
        else:
            self.fail(ContactLost("lost contact with the cluster before the job started"))

    def killed(self, why: str) -> None:
        self.job.set_exception(JobKilled(why))
