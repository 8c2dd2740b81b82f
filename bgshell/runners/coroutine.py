"""Coroutine jobs: awaitables run as tasks on one shared asyncio loop in its own thread.

A job whose code returns a coroutine (``fetch(url) &``, or ``jobs.new(main)`` with an
``async def main``) is handed over here instead of ending with the coroutine as its
value.  One loop serves every coroutine job and foreground ``await``, so tasks,
locks and connections made in one can be used by another, as in ``python -m asyncio``.

The job's state follows the task itself: ``kill`` asks the task to cancel, and the
job shows ``Killing`` until the task has really ended.  A task that catches the
cancellation and returns normally is shown as completed, honestly.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from typing import Any, Awaitable

from bgshell import capture
from bgshell.jobs import JobKilled, JobState

__all__ = ["CoroutineRunner", "shared_loop", "run_foreground", "is_awaitable"]

_loop: asyncio.AbstractEventLoop | None = None
_loop_lock = threading.Lock()


def shared_loop() -> asyncio.AbstractEventLoop:
    """The one event loop, started in a daemon thread on first use."""
    global _loop
    if _loop is not None:
        return _loop
    with _loop_lock:
        if _loop is None:
            loop = asyncio.new_event_loop()
            ready = threading.Event()

            def serve() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                loop.run_forever()

            threading.Thread(target=serve, name="bgshell-asyncio", daemon=True).start()
            ready.wait()
            _loop = loop
    return _loop


def is_awaitable(value: object) -> bool:
    """Cheap test for a coroutine, task, future or any object with ``__await__``."""
    return hasattr(type(value), "__await__")


def run_foreground(awaitable: Awaitable[Any]) -> Any:
    """Run *awaitable* on the shared loop and wait for it (top-level ``await``).

    Ctrl-C cancels the task and raises ``KeyboardInterrupt`` here once it ended.
    """
    loop = shared_loop()
    future = asyncio.run_coroutine_threadsafe(_as_coroutine(awaitable), loop)
    try:
        return future.result()
    except KeyboardInterrupt:
        future.cancel()
        try:
            future.result(timeout=2)
        except BaseException:
            pass
        raise
    except BaseException as exc:
        # Keep only the user's frames: drop concurrent.futures' re-raise and ours.
        raise exc.with_traceback(_from_user_code(exc.__traceback__))


def _from_user_code(tb: Any) -> Any:
    """The part of *tb* after ``_as_coroutine``'s frame: where the user's code starts."""
    start = tb
    while tb is not None:
        if tb.tb_frame.f_code is _as_coroutine.__code__:
            return tb.tb_next
        tb = tb.tb_next
    return start


async def _as_coroutine(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


class CoroutineRunner:
    """Adopts jobs whose code produced an awaitable; ``start`` is for awaitable jobs."""

    kind = "coroutine"

    def start(self, job: Any) -> None:
        """Start a job whose ``call()`` returns the awaitable (from the loop thread)."""
        loop = shared_loop()
        capture.install()

        def begin() -> None:
            if not job._begin(None):
                job._finish(exception=JobKilled("killed before it started"), killed=True)
                return
            try:
                awaitable = contextvars.Context().run(job.call)
            except BaseException as exc:
                job._finish(exception=exc)
                return
            self.adopt(job, awaitable)

        loop.call_soon_threadsafe(begin)

    def adopt(self, job: Any, awaitable: Awaitable[Any]) -> None:
        """Run *awaitable* as the rest of *job* (which is already running)."""
        loop = shared_loop()
        context = contextvars.Context()
        context.run(capture.current_output.set, job.output)

        def schedule() -> None:
            try:
                task = context.run(asyncio.ensure_future, awaitable)
            except BaseException as exc:
                job._finish(exception=exc)
                return
            with job._lock:
                job._handle = task
                cancel_now = job._state is JobState.KILLING
            task.add_done_callback(lambda done: _finish_from_task(job, done))
            if cancel_now:
                task.cancel()

        with job._lock:
            job._runner = self
            job.kind = self.kind
        loop.call_soon_threadsafe(schedule)

    def kill(self, job: Any, force: bool = False) -> bool:
        with job._lock:
            if not job._request_kill():
                return False
            task = job._handle
        if task is not None:
            shared_loop().call_soon_threadsafe(task.cancel)
        return True


def _finish_from_task(job: Any, task: asyncio.Future[Any]) -> None:
    if task.cancelled():
        job._finish(exception=JobKilled("the task was cancelled"), killed=True)
        return
    exc = task.exception()
    if exc is None:
        job._finish(task.result())
    else:
        job._finish(exception=exc)
