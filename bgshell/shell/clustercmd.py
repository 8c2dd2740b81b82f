"""The ``cluster`` builtin, and starting the session's cluster from ``--cluster``.

The cluster itself is the engine's (``bgshell.engine.runners.cluster``): this module
only turns words into calls on the session's cluster runner and its state into
lines.  Without the ``dask`` extra every use says, in one line, how to install it.
"""

from __future__ import annotations

from builtins import print  # bound at import: a job replacing builtins.print cannot silence the shell
import os
import sys
from typing import Any

from bgshell.engine.runners.clusters import ClusterSpec, ClusterUnavailable, cluster
from bgshell.shell.usage import UsageError

__all__ = ["USAGE", "SUMMARY", "cmd_cluster", "start_session_cluster"]

USAGE = "cluster [connect ADDRESS | local [N] | close]"
SUMMARY = "show the cluster (workers, dashboard) or connect to, start or close one"

#: ``--cluster`` starts the cluster this long after the shell (or when a job needs it):
#: its processes would otherwise take CPU from the shell's own start-up.
SESSION_START_DELAY = 0.5
#: How long ``cluster connect`` waits to report that it is connected (Ctrl-C stops it).
CONNECT_WAIT_SECONDS = 30.0


def _runner(shell: Any) -> Any:
    """The session's cluster runner; the install hint as a usage error without dask."""
    try:
        return shell.jobs.runners.get("cluster")
    except ClusterUnavailable as exc:
        raise UsageError(str(exc)) from None


def start_session_cluster(shell: Any, spec: ClusterSpec | None) -> None:
    """``--cluster``: start the local cluster or connect, in the background (the first
    prompt does not wait); without dask, one line on stderr and the session goes on."""
    if spec is None:
        return
    try:
        shell.jobs.runners.get("cluster").use_soon(spec, SESSION_START_DELAY)
    except ClusterUnavailable as exc:
        print(f"bgshell: --cluster {spec}: {exc}", file=sys.stderr)


def cmd_cluster(shell: Any, args: list[str]) -> None:
    if not args:
        _show(_runner(shell))
    elif args[0] == "connect" and len(args) == 2:
        _connect(_runner(shell), args[1])
    elif args[0] == "local" and len(args) <= 2:
        spec = _spec("local" + (f":{args[1]}" if len(args) == 2 else ""))
        _runner(shell).use(spec)
        workers = spec.workers or os.cpu_count() or 1
        print(f"Starting a local cluster of {workers} worker{'s' * (workers != 1)} in the background; "
              "cluster jobs sent meanwhile wait as Queued.")
    elif args == ["close"]:
        runner = _runner(shell)
        link = runner.link
        if link is None or not runner.close():
            print("No cluster to close.")
        else:
            print(f"{'Stopped the local cluster' if link.owned else 'Disconnected from'} {link.address or link.spec}.")
    else:
        raise UsageError(f"usage: {USAGE}")


def _spec(text: str) -> ClusterSpec:
    try:
        return cluster(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _connect(runner: Any, address: str) -> None:
    """Connect (leaving the cluster used before) and wait to say how it went."""
    spec = _spec(address)
    if spec.address is None:
        raise UsageError("cluster connect wants an address (tcp://HOST:PORT); cluster local starts one")
    link = runner.use(spec)
    try:
        link.started.wait(CONNECT_WAIT_SECONDS)
    except KeyboardInterrupt:
        print("\ncluster: still connecting in the background; cluster shows how it goes", file=sys.stderr)
        return
    if link.state != "ready":
        raise UsageError(link.problem or f"still connecting to {address}; cluster shows how it goes")
    status = runner.status()
    workers = len(status.workers) if status else 0
    print(f"Connected to {link.address}: {workers} worker{'s' * (workers != 1)}.")


def _show(runner: Any) -> None:
    status = runner.status()
    if status is None:
        address = os.environ.get("DASK_SCHEDULER_ADDRESS")
        first = f"connects to {address} (DASK_SCHEDULER_ADDRESS)" if address else "starts a local cluster"
        print(f"No cluster yet: the first cluster job {first}; cluster local [N] or cluster connect ADDRESS "
              "chooses one now.")
        return
    for line in status_lines(status):
        print(line)


def status_lines(status: Any) -> list[str]:
    """What ``cluster`` prints: where the cluster is, its dashboard, its workers."""
    name = status.spec or "the default cluster"
    how = "started by this session (stopped at exit)" if status.owned else "connected"
    if status.state == "starting":
        lines = [f"Cluster {name}: starting in the background"]
    elif status.state in ("failed", "lost"):
        lines = [f"Cluster {name}: {status.problem}", "  cluster connect ADDRESS or cluster local starts another"]
    else:
        lines = [f"Cluster {name}: {status.state}, {how}"]
    for label, value in (("scheduler", status.address), ("dashboard", status.dashboard), ("log", status.log)):
        if value and (label != "log" or status.owned):
            lines.append(f"  {label:<10} {value}")
    if status.state == "ready":
        threads = sum(worker.threads for worker in status.workers)
        lines.append(f"  {len(status.workers)} worker{'s' * (len(status.workers) != 1)}, {threads} threads:")
        lines += [f"    {_worker_line(worker)}" for worker in status.workers]
    if status.queued:
        lines.append("  queued: " + " ".join(f"[{num}]" for num in status.queued))
    return lines


def _worker_line(worker: Any) -> str:
    memory = _size(worker.memory) + (f" of {_size(worker.memory_limit)}" if worker.memory_limit else "")
    jobs = " ".join(f"[{num}]" for num in worker.jobs)
    tasks = f"{worker.tasks} task{'s' * (worker.tasks != 1)}" if worker.tasks else "idle"
    return (f"{worker.address}  {worker.threads} thread{'s' * (worker.threads != 1)}  {memory}  {tasks}"
            + (f" (jobs {jobs})" if jobs else ""))


def _size(count: float) -> str:
    """Bytes as ``52 MB``, ``12.6 GB``."""
    for unit in ("B", "kB", "MB", "GB"):
        if count < 1000:
            return f"{count:.0f} {unit}" if unit in ("B", "kB", "MB") else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} TB"
