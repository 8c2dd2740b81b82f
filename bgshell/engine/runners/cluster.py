"""Cluster jobs: each job runs as one task on a dask.distributed cluster.

Like a process job, the callee and its arguments (or the values of the names the
code uses) are evaluated in the shell and shipped with cloudpickle, so functions
defined at the prompt work, and the names a job binds come back when it ends.  The
workers need no bgshell: the code that runs a job there travels as source
(``clustership``, ``clusterworker``).

The runner holds the session's cluster (a ``clusterlink.Link``): the one the shell
was told to use (``use``: ``--cluster``, ``cluster local``, ``cluster connect``), or
else, at the first cluster job, the one dask's configuration names
(``DASK_SCHEDULER_ADDRESS``), or else a local cluster started for the session.
Choosing another cluster, ``close`` and the shell's exit stop the jobs on the old
one first, as ``kill`` would, and stop a cluster the session started.

States are the worker's word: a job is Queued until its worker reports that its
code starts, then Running; a worker that dies under it, or a lost scheduler, ends
it Dead with the reason (dask would otherwise run it again elsewhere).  Without the
``dask`` extra, making this runner raises ``ClusterUnavailable`` with the one-line
install hint.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from bgshell.engine.runners.clusters import ClusterSpec, require_dask

__all__ = ["ClusterRunner", "RETIRE_SECONDS"]

#: How long jobs on a cluster that is being left get to stop before it is closed.
RETIRE_SECONDS = 1.0


class ClusterRunner:
    """Runs jobs on the session's cluster; ``use``/``close`` choose or leave it.

    Made cheaply (the shell makes it at start for ``--cluster``): the modules that
    talk to a cluster are imported with the first link.
    """

    kind = "cluster"

    def __init__(self) -> None:
        require_dask()
        self._link: Any = None  # the clusterlink.Link in use
        self._wanted: ClusterSpec | None = None  # for the next link made
        self._lock = threading.Lock()

    # -- which cluster -------------------------------------------------------------------------
    def use(self, spec: ClusterSpec | None) -> Any:
        """Use the cluster *spec* names from now on, started or reached in the background
        (the returned ``Link``'s ``started`` is set once it is up or has failed); jobs on
        the one used before are stopped and it is closed."""
        from bgshell.engine.runners.clusterlink import Link

        with self._lock:
            self._wanted = spec
            old, self._link = self._link, Link(spec)
            new = self._link
        if old is not None:
            _retire(old)
        return new

    def use_soon(self, spec: ClusterSpec, delay: float) -> None:
        """Use *spec*, starting it after *delay* seconds, or at once when a job or the
        ``cluster`` builtin asks for it: a shell starting up must not share its
        first second with a cluster's (``--cluster``)."""
        with self._lock:
            self._wanted = spec
        timer = threading.Timer(delay, self._start_if_wanted, args=(spec,))
        timer.daemon = True
        timer.start()

    def _start_if_wanted(self, spec: ClusterSpec) -> None:
        with self._lock:
            wanted = self._link is None and self._wanted is spec  # not closed or replaced since
        if wanted:
            self._current()

    def close(self) -> bool:
        """Stop the jobs on the cluster and leave it (stopping it, if the session started
        it); False if there was none."""
        with self._lock:
            old, self._link, self._wanted = self._link, None, None
        if old is None:
            return False
        _retire(old)
        return True

    @property
    def link(self) -> Any:
        """The ``clusterlink.Link`` in use, or None."""
        return self._link

    def _current(self) -> Any:
        """The link in use, made (and started) now if there is none."""
        with self._lock:
            if self._link is None:
                from bgshell.engine.runners.clusterlink import Link

                self._link = Link(self._wanted)
            return self._link

    # -- the runner's contract ----------------------------------------------------------------
    def start(self, job: Any) -> None:
        """Queue *job* on the cluster.  Work that cannot be pickled fails here, at launch,
        with one line (``PayloadError``)."""
        from bgshell.engine.runners import payload
        from bgshell.engine.runners.clustertask import ClusterTask

        packed = payload.pack(job.describe_work(), "the cluster")
        link = self._current()
        task = ClusterTask(job, packed, link)
        if job.set_queued(task):
            link.submit(task)

    def deliver(self, job: Any, handle: Any, signum: int) -> None:
        """Queue the signal for the link's control thread: reaching a worker takes a round
        trip, and this runs under the job's lock."""
        handle.link.control.signal(handle, signum)

    def shutdown(self) -> None:
        """At the shell's exit: leave the cluster (see ``close``)."""
        self.close()

    def status(self) -> Any:
        """The session's cluster and its workers (``clusterstatus.ClusterStatus``); None
        when there is none and none is wanted."""
        if self._link is None and self._wanted is None:
            return None
        from bgshell.engine.runners.clusterstatus import status_of

        return status_of(self._current())


def _retire(link: Any) -> None:
    """Stop the link's jobs as ``kill`` does, give them ``RETIRE_SECONDS``, then close it
    (the jobs still there end with it)."""
    jobs = [task.job for task in list(link.tasks.values()) if not task.job.state.finished]
    for job in jobs:
        job.kill()
    deadline = time.monotonic() + RETIRE_SECONDS
    for job in jobs:
        job.wait_done(max(0.0, deadline - time.monotonic()))
    link.close()
