"""Which job the running code belongs to: context variables every job sets for its code.

Every thread job runs in a ``contextvars`` context of its own, and a coroutine job's
task has one too, so these tell, from anywhere in a job's code (a function it calls,
a task it creates, a worker thread that copies its context), which job it is.
Output routing (``capture``), input routing (``jobinput``), the ``sys`` guard
(``sysguard``) and the manager (a job never waits for itself) all ask here.
"""

from __future__ import annotations

import contextvars
import threading
from typing import Any

__all__ = ["current_job", "current_output", "own_sys", "own_value", "enter", "running_job", "output_buffer",
           "adopt_thread", "release_thread"]

#: The job whose code runs in this context, if any.
current_job: contextvars.ContextVar[Any] = contextvars.ContextVar("bgshell_current_job", default=None)

#: The output buffer of the job running in this context, if any.
current_output: contextvars.ContextVar[Any] = contextvars.ContextVar("bgshell_current_output", default=None)

#: What the job running in this context assigned to guarded ``sys`` attributes.
own_sys: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("bgshell_sys_own", default=None)


def own_value(name: str) -> Any:
    """What the job running in this context assigned to ``sys.<name>``, or None."""
    values = own_sys.get()
    return None if values is None else values.get(name)


def enter(job: Any) -> None:
    """Mark the current context as *job*'s (its code runs in it from now on)."""
    current_job.set(job)
    current_output.set(job.output)


#: Threads whose code became a job while it ran (the foreground input that Ctrl-Z
#: sent to the background): that code's context cannot be changed from outside, so
#: the thread itself says which job it works for.
_thread_jobs: dict[int, Any] = {}


def adopt_thread(thread_id: int, job: Any) -> None:
    """From now on, what runs in thread *thread_id* is *job*'s code."""
    _thread_jobs[thread_id] = job


def release_thread(thread_id: int) -> None:
    _thread_jobs.pop(thread_id, None)


def output_buffer() -> Any:
    """Where the job running here writes its output (None outside any job)."""
    out = current_output.get()
    if out is None and _thread_jobs:
        job = _thread_jobs.get(threading.get_ident())
        out = None if job is None else job.output
    return out


def running_job() -> Any:
    """The job whose code is running here: by context, or by thread once adopted."""
    job = current_job.get()
    if job is None and _thread_jobs:
        job = _thread_jobs.get(threading.get_ident())
    return job
