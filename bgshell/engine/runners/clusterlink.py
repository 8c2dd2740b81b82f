"""One connection to a cluster for the session's jobs: started in the background,
used by every cluster job while it lasts, and told apart from the next one.

A link starts a local cluster or connects to a scheduler in a thread of its own, so
the shell never waits for it; jobs that come meanwhile are Queued and sent once it
is up (or end Dead with the reason it could not be).  Then three kinds of news come
back, and each goes where it can be handled without blocking dask's event loop:

* the workers' events on the session's topic (the client's id): a job *started*,
  or printed something: handled at once (``ClusterTask``);
* the scheduler's ``remove-worker`` events: a worker died, maybe under a job: the
  link's ``Control`` thread ends those jobs and stops dask from running them again;
* outcomes: a small one comes as an event right after the job's output; a larger
  one is fetched when its future finishes, in batches (one ``gather`` for many
  jobs: one round trip each would halve the rate of small jobs); a thread ends the
  jobs from them, never dask's event loop (unpickling a value runs user code).

When the scheduler is lost, dask cancels every future at once: the link ends every
job it holds (Dead, "lost contact with the cluster"), closes its client in the
background, and refuses new jobs until ``cluster connect`` makes a new link.
"""

from __future__ import annotations

import os
import pickle
import queue
import threading
from typing import Any

from bgshell.engine.runners import clustership
from bgshell.engine.runners.clustercontrol import Control
from bgshell.engine.runners.clusters import (
    ClusterError, ClusterSpec, LocalHost, configured_spec, connect, log_path, quiet_dask, require_dask,
)
from bgshell.engine.runners.clustertask import ClusterJobError, ClusterTask, WorkerLost
from bgshell.engine.tracebacks import describe_exception

__all__ = ["Link"]

#: How long a closing link gives its client to say goodbye.
CLIENT_CLOSE_SECONDS = 2.0


class Link:
    """A cluster the session uses: *spec* names it (None: the one dask's configuration
    names, else a local one).  ``state``: starting, ready, failed, lost or closed."""

    def __init__(self, spec: ClusterSpec | None) -> None:
        self.spec = spec
        self.state = "starting"
        self.problem: str | None = None  # why it failed, or was lost
        self.address: str | None = None
        self.dashboard: str | None = None
        self.log = None
        self.client: Any = None
        self.host: LocalHost | None = None
        self.tasks: dict[str, ClusterTask] = {}
        self.arrived = threading.Condition()  # output came for some job
        self.started = threading.Event()  # set once ready or failed
        self._pending: list[ClusterTask] = []
        self._lock = threading.Lock()
        self._results: queue.SimpleQueue[Any] = queue.SimpleQueue()  # tasks, (task, outcome), None
        self.control = Control(self)
        threading.Thread(target=self._open, name="bgshell-cluster-start", daemon=True).start()

    @property
    def owned(self) -> bool:
        """True for a cluster this link started (closing it stops it)."""
        return self.host is not None or (self.spec is not None and self.spec.address is None)

    # -- starting ---------------------------------------------------------------------------
    def _open(self) -> None:
        try:
            self._connect()
        except BaseException as exc:  # dask missing, a host that died, an address nobody answers
            problem = str(exc) if isinstance(exc, ClusterError) else describe_exception(exc)
            with self._lock:
                if self.state == "starting":
                    self.state, self.problem = "failed", problem
                pending, self._pending = self._pending, []
            for task in pending:
                task.fail(ClusterError(f"the cluster could not be reached: {problem}"))
        else:
            with self._lock:
                self.state = "ready"
                pending, self._pending = self._pending, []
            for task in pending:
                self._send(task)
        finally:
            self.started.set()

    def _connect(self) -> None:
        """Start the local cluster or reach the scheduler; ``ClusterError`` if the link
        was closed meanwhile (what was started then is stopped again)."""
        require_dask()
        self.log = log_path()
        spec = self.spec or configured_spec()
        if spec.address is None:  # the host first: importing dask here would slow the first prompt
            self.host = LocalHost(spec.workers or os.cpu_count() or 1, self.log)
            self._unless_closed()
            info = self.host.wait_started()
            self.address, self.dashboard = info["address"], info.get("dashboard")
        else:
            self.address = spec.address
        import distributed  # noqa: F401  (its import puts a handler on stderr: replaced at once)

        quiet_dask(self.log)
        self.client = connect(self.address)
        self.dashboard = self.dashboard or getattr(self.client, "dashboard_link", None)
        self.client.subscribe_topic(self.client.id, self._on_event)
        self.client.subscribe_topic("all", self._on_cluster_event)
        threading.Thread(target=self._collect, name="bgshell-cluster-results", daemon=True).start()
        self._unless_closed()

    def _unless_closed(self) -> None:
        with self._lock:
            closed = self.state == "closed"
        if closed:
            self._close_client()
            if self.host is not None:
                self.host.stop()
            raise ClusterError("the cluster was closed while it started")

    # -- jobs ------------------------------------------------------------------------------
    def submit(self, task: ClusterTask) -> None:
        """Send the task to the cluster, or hold it until the link is up."""
        task.job.add_ended_hook(lambda job, task_id=task.id: self.tasks.pop(task_id, None))
        with self._lock:
            self.tasks[task.id] = task
            if self.state == "starting":
                self._pending.append(task)
                return
            state = self.state
        if state != "ready":
            task.fail(ClusterError(self.unusable()))
        else:
            self._send(task)

    def unusable(self) -> str:
        """Why no job can be sent through this link, in one line."""
        if self.state == "closed":
            return "the cluster was closed; cluster local or cluster connect ADDRESS starts another"
        return f"{self.problem}; cluster connect ADDRESS or cluster local starts another"

    def _send(self, task: ClusterTask) -> None:
        packed, task.packed = task.packed, None
        try:
            if self.client.status != "running":
                raise ClusterError(f"lost contact with the scheduler at {self.address}")
            task.future = self.client.submit(
                pickle.loads, clustership.blob("run", task.id, packed, self.client.id), pure=False, key=task.key
            )
        except Exception as exc:
            task.fail(ClusterJobError(f"could not send the job to the cluster: {describe_exception(exc)}"))
            return
        task.future.add_done_callback(lambda _future, task=task: self._results.put(task))

    def take_pending(self, task: ClusterTask) -> bool:
        """Withdraw *task* if it is still waiting for the link; True if it was."""
        with self._lock:
            if task in self._pending:
                self._pending.remove(task)
                return True
        return False

    # -- news from the cluster (on the client's event loop: quick, never blocking) -----------
    def _on_event(self, event: tuple[float, Any]) -> None:
        message = event[1]
        if not isinstance(message, dict) or "bgshell" not in message:
            return  # the scheduler's own news about this client
        task = self.tasks.get(message.get("job"))  # type: ignore[arg-type]
        what = message["bgshell"]
        if what == "started":
            if task is None or not task.started(message["worker"], message.get("pid")):
                self.control.stop_stray(message["worker"], message["job"])
        elif what == "out" and task is not None:
            task.add_output(message["seq"], message["t"])
        elif what == "ended" and task is not None:
            self._results.put((task, message["outcome"]))  # ended by the collector, off this loop

    def _on_cluster_event(self, event: tuple[float, Any]) -> None:
        """A worker left: the jobs it ran, or had been given, end (see ``Control``).

        A job it had been given may have started there even if the news of it never
        came (a worker killed right after it started a job has not sent it yet), and
        dask would run it again elsewhere: so it ends too.
        """
        message = event[1]
        if isinstance(message, dict) and message.get("action") == "remove-worker":
            worker, given = message.get("worker"), set(message.get("processing-tasks") or ())
            victims = [task for task in list(self.tasks.values()) if task.stopping is None
                       and (task.worker == worker or (task.worker is None and task.key in given))]
            if victims:
                self.control.worker_died(worker, victims)

    # -- outcomes --------------------------------------------------------------------------
    def _collect(self) -> None:
        """End jobs from the outcomes their workers sent along, or, for larger ones, as
        their futures finish, fetched in batches."""
        while True:
            batch = [self._results.get()]
            while not self._results.empty():
                batch.append(self._results.get())
            if None in batch:
                return
            for task, raw in [item for item in batch if isinstance(item, tuple)]:
                if not task.job.state.finished and task.stopping is None:
                    task.finish(raw)
            done = [task for task in batch
                    if isinstance(task, ClusterTask) and not task.job.state.finished and task.stopping is None]
            finished = [task for task in done if task.future.status == "finished"]
            for task, raw in zip(finished, self._gather(finished)):
                if isinstance(raw, bytes):
                    task.finish(raw)
                else:
                    self._failed(task, raw)
            for task in done:
                if task not in finished:
                    self._failed(task, _failure(task.future))

    def _gather(self, tasks: list[ClusterTask]) -> list[Any]:
        """The outcomes of finished tasks, one round trip for all; a failure stands in
        for the outcome of a task that could not be fetched."""
        if not tasks:
            return []
        try:
            return list(self.client.gather([task.future for task in tasks]))
        except Exception:
            return [_outcome_or_failure(task.future) for task in tasks]

    def _failed(self, task: ClusterTask, error: BaseException) -> None:
        if task.future.status == "cancelled" and getattr(error, "reason", "") == "scheduler-connection-lost":
            self.lose()
        elif type(error).__name__ == "KilledWorker":
            task.fail(WorkerLost(f"its worker {task.worker or 'on the cluster'} died while running it"))
        elif isinstance(error, BaseException):
            task.fail(ClusterJobError(f"the cluster could not run it: {describe_exception(error)}"))

    def lose(self) -> None:
        """The scheduler is gone: every job here ends Dead, and the client is closed."""
        with self._lock:
            if self.state != "ready":
                return
            self.state, self.problem = "lost", f"lost contact with the scheduler at {self.address}"
        for task in list(self.tasks.values()):
            task.lost()
        self._results.put(None)
        threading.Thread(target=self._close_client, name="bgshell-cluster-close", daemon=True).start()

    # -- closing -----------------------------------------------------------------------------
    def close(self) -> None:
        """Stop using the cluster: stop the one this link started, or disconnect.  Jobs
        still on it end Killed (the shell asked them to stop before)."""
        with self._lock:
            self.state = "closed"
        for task in list(self.tasks.values()):
            task.stopping = "closed"
            if task.worker is not None and not self.owned:
                task.killed(f"killed: the shell left the cluster while it ran on {task.worker} (where the kill is pending)")
            else:
                task.killed("killed: the cluster was closed")
        self._close_client()
        if self.host is not None:
            self.host.stop()
        self.control.stop()
        self._results.put(None)

    def _close_client(self) -> None:
        client = self.client
        if client is not None:
            try:
                client.close(timeout=CLIENT_CLOSE_SECONDS)
            except BaseException:  # a client already gone, a loop that stopped: nothing to close
                pass


def _failure(future: Any) -> BaseException:
    """Why a future that did not finish failed (a cancelled one has its reason)."""
    try:
        future.result(timeout=5)
    except BaseException as exc:
        return exc
    return ClusterJobError("the cluster reported no outcome")


def _outcome_or_failure(future: Any) -> Any:
    try:
        return future.result(timeout=5)
    except BaseException as exc:
        return exc
