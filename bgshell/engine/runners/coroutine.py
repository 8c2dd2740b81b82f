"""Coroutine jobs: awaitables run as tasks on the shared asyncio loop (``asyncloop``).

A job whose code returns a coroutine (``fetch(url) &``, or ``jobs.new(main)`` with an
``async def main``) is handed over here instead of ending with the coroutine as its
value.

The job's state follows the task itself: ``kill`` asks the task to cancel, and the
job shows ``Killing`` until the task has really ended.  A task that catches the
cancellation and returns normally is shown as completed, honestly.  A coroutine that
never awaits cannot see a cancellation; if it is still running its code a moment
later, the kill is raised in the loop thread while that coroutine is the one running
there (the ``Stepper`` says when), as a thread job is killed.  Any ``BaseException``
ends only its own job.
"""

from __future__ import annotations

import asyncio
import contextvars
import signal
import threading
from typing import Any, Awaitable

from bgshell.engine import capture, jobcontext
from bgshell.engine.runners.asyncloop import Stepper, call_soon, condemn, thread_of, uncontained
from bgshell.engine.runners.thread import absorb_pending_kill, raise_in_thread
from bgshell.engine.states import JobKilled

__all__ = ["CoroutineRunner", "FORCE_AFTER_SECONDS"]

#: How long a cancelled task may go on running its code (never awaiting) before the
#: kill is raised in the loop thread.
FORCE_AFTER_SECONDS = 0.2


class CoroutineRunner:
    """Runs awaitables as tasks on the shared loop: ``start`` for a job whose ``call()``
    returns one, ``adopt`` for a running job whose code produced one."""

    kind = "coroutine"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._inside: set[Any] = set()  # jobs whose code the loop thread is running now

    def start(self, job: Any) -> None:
        """Start a job whose ``call()`` returns the awaitable (called in the loop thread)."""
        capture.install()
        context = contextvars.Context()
        context.run(jobcontext.enter, job)

        def begin() -> None:
            if not job.set_running(None):
                return
            try:
                awaitable = context.run(job.call)
            except BaseException as exc:
                job.set_exception(exc)
                return
            self.adopt(job, awaitable)

        call_soon(begin)

    def adopt(self, job: Any, awaitable: Awaitable[Any]) -> None:
        """Run *awaitable* as the rest of *job* (which is already running)."""
        context = contextvars.Context()
        context.run(jobcontext.enter, job)
        stepper = Stepper(awaitable, lambda inside: self._stepping(job, inside))

        def schedule() -> None:
            try:
                task = context.run(asyncio.ensure_future, stepper)
            except BaseException as exc:
                job.set_exception(exc)
                return
            cancel_now = job.set_handle(task)
            task.add_done_callback(lambda done: _end_from_task(job, done))
            task.add_done_callback(stepper.close_unstarted)
            if cancel_now:
                task.cancel()

        call_soon(schedule)

    def _stepping(self, job: Any, inside: bool) -> None:
        """The loop thread enters (or leaves) *job*'s code; on leaving, a kill raised
        there a moment too late is absorbed, so it never hits another task."""
        if inside:
            with self._lock:
                self._inside.add(job)
            return
        while True:
            try:
                with self._lock:
                    self._inside.discard(job)
                absorb_pending_kill()
                return
            except JobKilled:
                continue

    def deliver(self, job: Any, handle: Any, signum: int) -> None:
        """Any signal cancels the task; a kill that the task cannot see (it never
        awaits) is raised in the loop thread a moment later."""
        loop = handle.get_loop()
        loop.call_soon_threadsafe(handle.cancel)
        if signum != signal.SIGINT:
            with self._lock:
                if job in self._inside:  # it holds the loop now: others move on
                    condemn(loop)
            timer = threading.Timer(FORCE_AFTER_SECONDS, self._force, args=(job, thread_of(loop)))
            timer.daemon = True
            timer.start()

    def _force(self, job: Any, thread_id: int | None) -> None:
        with self._lock:
            if job in self._inside and not job.state.finished and thread_id is not None:
                raise_in_thread(thread_id, JobKilled)


def _end_from_task(job: Any, task: asyncio.Future[Any]) -> None:
    if task.cancelled():
        job.set_exception(JobKilled("the task was cancelled"))
        return
    exc = task.exception()
    if exc is None:
        job.set_result(task.result())
    else:
        job.set_exception(uncontained(exc))
