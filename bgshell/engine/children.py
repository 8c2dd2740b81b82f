"""Processes that jobs start, so that killing a job, or leaving the shell, stops them.

A thread job's ``subprocess.run("sleep 300", shell=True)`` is a process of the
shell's own; killing the job's thread would leave it running, orphaned, and so would
leaving the shell.  ``subprocess.Popen`` is taught (once, the first time a job
starts) to tell the job that started it; each job keeps the ids of its processes
(``job.add_process``), and ``job.stop_processes`` ends those still running and
what they started in turn.  A process job's runner records the job's process group
(``job.add_process_group``), whose members a process the job left behind stays in.

Only what goes through ``subprocess`` (``subprocess.run``, ``Popen``, ``os.popen``,
asyncio's subprocesses) is known; ``os.system`` and ``os.fork`` are not.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from typing import Any

from bgshell.engine.jobcontext import running_job
from bgshell.engine.sigmask import as_main_thread

__all__ = ["track_subprocesses", "stop_popen", "stop_group", "start_time", "descendants"]

_installed = False
_lock = threading.Lock()


def track_subprocesses() -> None:
    """Make every ``subprocess.Popen`` made inside a job known to that job, and start
    every one with the main thread's signal mask (once)."""
    global _installed
    if _installed:
        return
    with _lock:
        if _installed:
            return
        original = subprocess.Popen.__init__

        def __init__(self: subprocess.Popen, *args: Any, **kwargs: Any) -> None:
            with as_main_thread():  # whatever thread starts it, the process gets python3's mask
                original(self, *args, **kwargs)
            job = running_job()
            if job is not None and getattr(self, "pid", None):
                job.add_process(self)

        __init__.__doc__ = original.__doc__
        __init__.__wrapped__ = original  # type: ignore[attr-defined]
        subprocess.Popen.__init__ = __init__  # type: ignore[method-assign]
        _installed = True


def _processes() -> list[tuple[int, list[bytes]]]:
    """Every process as (pid, the fields of /proc/PID/stat after its name)."""
    found = []
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    for name in names:
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as handle:
                    found.append((int(name), handle.read().rsplit(b")", 1)[1].split()))
            except (OSError, ValueError, IndexError):
                continue
    return found


def start_time(pid: int) -> int | None:
    """When *pid* started (clock ticks since boot), or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return int(handle.read().rsplit(b")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def descendants(pid: int) -> list[int]:
    """The processes *pid* started, and theirs (from ``/proc``; empty where there is none)."""
    parents: dict[int, list[int]] = {}
    for child, fields in _processes():
        parents.setdefault(int(fields[1]), []).append(child)
    found, pending = [], [pid]
    while pending:
        for child in parents.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def stop_popen(popen: subprocess.Popen, signum: int = signal.SIGTERM) -> None:
    """Send *signum* to a still running subprocess and to everything it started."""
    if popen.poll() is None:  # alive, so its pid is still its own
        for pid in [*descendants(popen.pid), popen.pid]:
            _signal(pid, signum)


def stop_group(group: int, not_before: int | None, signum: int = signal.SIGTERM) -> None:
    """Send *signum* to the members of process group *group* that started no earlier
    than *not_before*: a job's group, never a later group that reuses its number."""
    for pid, fields in _processes():
        try:
            if int(fields[2]) == group and (not_before is None or int(fields[19]) >= not_before):
                _signal(pid, signum)
        except (ValueError, IndexError):
            continue
