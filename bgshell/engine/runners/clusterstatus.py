"""What the ``cluster`` builtin shows of the session's cluster: a snapshot, asked of
the scheduler when it is shown."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ClusterStatus", "WorkerStatus", "status_of"]


@dataclass
class WorkerStatus:
    """One worker as the ``cluster`` builtin shows it."""

    address: str
    threads: int
    memory: int  # bytes the worker process uses
    memory_limit: int  # bytes it may use (0: no limit)
    tasks: int  # tasks running or waiting there, anyone's
    jobs: list[int] = field(default_factory=list)  # this session's jobs running there


@dataclass
class ClusterStatus:
    """The session's cluster, for the ``cluster`` builtin."""

    spec: str  # what the user asked for ("local:2", "tcp://...", "" for the default)
    state: str  # starting, ready, failed, lost, closed
    owned: bool  # started by this session (closing it stops it)
    address: str | None
    dashboard: str | None
    problem: str | None
    log: Path | None
    workers: list[WorkerStatus] = field(default_factory=list)
    queued: list[int] = field(default_factory=list)  # jobs waiting for a worker


def status_of(link: Any) -> ClusterStatus:
    """The state of *link* (a ``clusterlink.Link``) and, when it is up, its workers."""
    status = ClusterStatus(
        spec="" if link.spec is None else str(link.spec), state=link.state, owned=link.owned,
        address=link.address, dashboard=link.dashboard, problem=link.problem, log=link.log,
    )
    tasks = [task for task in list(link.tasks.values()) if not task.job.state.finished]
    status.queued = sorted(task.job.num for task in tasks if task.worker is None and task.job.num is not None)
    if link.state == "ready" and link.client.status != "running":  # no job has noticed yet
        status.state, status.problem = "lost", f"lost contact with the scheduler at {link.address}"
    elif link.state == "ready":
        status.workers = _workers(link.client, tasks)
    return status


def _workers(client: Any, tasks: list[Any]) -> list[WorkerStatus]:
    try:
        info = client.scheduler_info(n_workers=-1).get("workers", {})
    except TypeError:  # dask before 2025 lists every worker without being asked
        info = client.scheduler_info().get("workers", {})
    busy = client.processing()
    found = []
    for address, worker in sorted(info.items()):
        metrics = worker.get("metrics", {})
        found.append(WorkerStatus(
            address=address, threads=worker.get("nthreads", 0), memory=metrics.get("memory", 0),
            memory_limit=worker.get("memory_limit") or 0, tasks=len(busy.get(address, ())),
            jobs=sorted(t.job.num for t in tasks if t.worker == address and t.job.num is not None),
        ))
    return found
