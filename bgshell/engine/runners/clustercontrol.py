"""Stopping cluster jobs: one thread per cluster link that does the waiting.

A runner's ``deliver`` runs under the job's lock and must not block, while everything
that reaches a worker is a round trip; and the news that a worker died arrives on
dask's event loop, which must not block either.  Both only queue a request here.

* ``kill N`` of a running job: ``clusterworker.interrupt`` on its worker raises
  ``JobKilled`` in the job's thread (dask's own ``cancel`` only stops waiting for the
  task: the worker runs it to its end, dask/distributed#4694).  The job stays Killing
  until its worker reports it ended; a job still running a second later is blocked in
  C code, and its ``where`` says so (``jobs -l``).
* ``kill N`` of a queued job: every worker is told never to start it (so a start
  racing the kill is caught wherever it happens), then its future is cancelled.
* ``kill -9 N``: the job's worker process is ended at once and its nanny starts a new
  one; every job on that worker ends, and dask is kept from running them again.
* A worker that died under jobs (``remove-worker``): they end Dead, and their futures
  are cancelled, since dask would run them again elsewhere.  On a scheduler that
  allows retries (dask's default; a cluster bgshell starts allows none) the second
  run may have started in the milliseconds before the news came: every worker is
  told to stop it and never to start it.
"""

from __future__ import annotations

import pickle
import queue
import signal
import threading
import time
from collections import defaultdict
from typing import Any

from bgshell.engine.runners import clustership
from bgshell.engine.runners.clustertask import ClusterTask, WorkerLost

__all__ = ["Control", "STUCK_SECONDS"]

#: A killed job still running this long after its worker was told is blocked in C code.
STUCK_SECONDS = 1.0
#: Longest wait for workers to answer (a worker that does not is probably gone).
ANSWER_SECONDS = 10.0


class Control:
    """The requests of one link's jobs to stop, carried out in order in one thread;
    requests that queue up meanwhile are carried out together (one round trip)."""

    def __init__(self, link: Any) -> None:
        #: The ``clusterlink.Link`` whose jobs these are (its client, tasks, pending list).
        self.link = link
        self._requests: queue.SimpleQueue[tuple[str, tuple[Any, ...]] | None] = queue.SimpleQueue()
        self._checks: list[tuple[float, ClusterTask]] = []  # (when, killed task) to look at again
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- requests (from any thread, never blocking) -------------------------------------------
    def signal(self, task: ClusterTask, signum: int) -> None:
        """Stop (SIGTERM), stop by restarting its worker (SIGKILL) or interrupt (SIGINT)."""
        self._put("signal", task, signum)

    def stop_stray(self, worker: str, job_id: str) -> None:
        """A job that must not run started on *worker* (dask ran it again): stop it."""
        self._put("stray", worker, job_id)

    def worker_died(self, worker: str, tasks: list[ClusterTask]) -> None:
        self._put("died", worker, tasks)

    def stop(self) -> None:
        self._requests.put(None)

    def _put(self, what: str, *args: Any) -> None:
        self._requests.put((what, args))
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="bgshell-cluster-control", daemon=True)
                self._thread.start()

    # -- the thread ----------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            try:
                self._carry_out(batch)
            except Exception:  # a client closing under us: the link ends the jobs
                pass
            self._look_again()

    def _next_batch(self) -> list[tuple[str, tuple[Any, ...]]] | None:
        """The requests waiting (at least one, unless a look again is due first)."""
        wait = None if not self._checks else max(0.0, min(when for when, _ in self._checks) - time.monotonic())
        batch = []
        try:
            batch.append(self._requests.get(timeout=wait))
        except queue.Empty:
            return []
        while not self._requests.empty():
            batch.append(self._requests.get())
        return None if None in batch else batch  # type: ignore[return-value]

    def _carry_out(self, batch: list[tuple[str, tuple[Any, ...]]]) -> None:
        stop: list[ClusterTask] = []
        interrupt: list[ClusterTask] = []
        for what, args in batch:
            if what == "signal":
                task, signum = args
                if signum == signal.SIGKILL:
                    self._restart(task)
                else:
                    (interrupt if signum == signal.SIGINT else stop).append(task)
            elif what == "died":
                self._worker_died(*args)
            elif what == "stray":
                self._run("interrupt", [args[1]], "kill", workers=[args[0]])
        if stop:
            self._kill(stop)
        started = [task.id for task in interrupt if task.worker is not None and not task.job.state.finished]
        if started:
            self._run("interrupt", started, "interrupt")

    def _run(self, function: str, *args: Any, workers: list[str] | None = None) -> dict[str, Any]:
        """``clusterworker.<function>(*args)`` on *workers* (all when None): answers by worker."""
        client = self.link.client
        if client is None:
            return {}
        return client.run(pickle.loads, clustership.blob(function, *args), workers=workers, on_error="return",
                          callback_timeout=ANSWER_SECONDS)

    # -- kill ------------------------------------------------------------------------------
    def _kill(self, tasks: list[ClusterTask]) -> None:
        """Every worker is told to stop these jobs, and never to start them (so a start
        racing the kill is caught wherever it happens).  A job that no worker runs or
        has just finished, and that never said it started, is then withdrawn."""
        live = []
        for task in dict.fromkeys(tasks):
            if task.job.state.finished:
                continue
            if self.link.take_pending(task) or task.future is None:
                task.killed("killed before it started")
            else:
                live.append(task)
        if not live:
            return
        answers: dict[str, set[str]] = defaultdict(set)
        for reply in self._run("interrupt", [task.id for task in live], "kill").values():
            for job_id, answer in (reply.items() if isinstance(reply, dict) else ()):
                answers[job_id].add(answer)
        withdraw = []
        for task in live:
            if "sent" in answers[task.id]:
                self._checks.append((time.monotonic() + STUCK_SECONDS, task))
            elif task.worker is None and "over" not in answers[task.id]:
                task.stopping = "kill"
                withdraw.append(task)
        if withdraw:
            self.link.client.cancel([task.future for task in withdraw], force=True)
        for task in withdraw:
            task.killed("killed before it started")

    def _look_again(self) -> None:
        """Killed jobs still running after ``STUCK_SECONDS``: say where and why."""
        now = time.monotonic()
        due = [task for when, task in self._checks if when <= now]
        self._checks = [(when, task) for when, task in self._checks if when > now]
        for task in due:
            if not task.job.state.finished:
                note = f"{task.worker}: still running after kill, blocked in C code? kill -9 {task.job.num} restarts that worker"
                task.job.set_handle(task, where=note)

    # -- kill -9 -----------------------------------------------------------------------------
    def _restart(self, task: ClusterTask) -> None:
        """End the job's worker process (its nanny starts another); every job there ends."""
        worker = task.worker
        if worker is None or worker.startswith("inproc://"):  # queued; or a thread of this process
            self._kill([task])
            return
        victims = [t for t in list(self.link.tasks.values()) if t.worker == worker and not t.job.state.finished]
        for victim in victims:
            victim.stopping = "restart"
        self.link.client.cancel([v.future for v in victims if v.future is not None], force=True)
        self._run("exit_process", workers=[worker])  # answered by a closed connection
        for victim in victims:
            if victim is task:
                victim.killed(f"killed: its worker {worker} was restarted (kill -9)")
            else:
                victim.fail(WorkerLost(f"its worker {worker} was restarted by kill -9 {task.job.num}"))

    # -- news from the cluster ------------------------------------------------------------------
    def _worker_died(self, worker: str, tasks: list[ClusterTask]) -> None:
        died = [task for task in tasks if not task.job.state.finished and task.stopping is None]
        for task in died:
            task.stopping = "died"
            if task.worker == worker:
                task.fail(WorkerLost(f"its worker {worker} died while running it"))
            else:
                task.fail(WorkerLost(f"its worker {worker} died as it was given the job (it may have started; "
                                     "it is not run again)"))
        futures = [task.future for task in died if task.future is not None]
        if futures:  # dask would run them again elsewhere (a scheduler that allows retries may have)
            self.link.client.cancel(futures, force=True)
            self._run("interrupt", [task.id for task in died], "kill")
