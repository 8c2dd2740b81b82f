"""Thread jobs, run by a pool of worker threads that wait idle for the next job.

Starting a ``threading.Thread`` costs a few hundred microseconds; handing a job to a
worker that is already waiting costs a lock release.  The pool never queues: a job
goes to an idle worker if there is one, otherwise a new worker is started for it, so
every job runs at once and never waits for another.  A worker idle for
``IDLE_SECONDS`` exits.  Each job runs in a fresh ``contextvars.Context`` (as it would
in a new thread), with its output buffer set for ``bgshell.capture``.

Workers are daemon threads; what a non-daemon thread promises (the interpreter does
not exit while it runs) is kept per job by a hook that waits for running non-daemon
jobs at interpreter shutdown.

Killing: ``PyThreadState_SetAsyncExc`` raises ``JobKilled`` in the worker at its next
Python instruction.  It is only ever set while the job's own code runs (guarded by
the job's lock), and a request that arrives as the code returns is absorbed by the
worker, so it never hits the worker's loop or the next job.
"""

from __future__ import annotations

import contextvars
import ctypes
import os
import threading
from typing import Any

from bgshell import capture
from bgshell.jobs import JobKilled, JobState

__all__ = ["ThreadRunner", "execute", "IDLE_SECONDS"]

#: How long an idle worker waits for another job before it exits.
IDLE_SECONDS = 30.0
#: At most this many idle workers are kept; after a burst of jobs the rest exit at
#: once instead of holding stacks (and slowing every futex wake-up) for 30 s.
MAX_IDLE = max(8, 4 * (os.cpu_count() or 1))

_raise_async = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_ulong, ctypes.py_object)(
    ("PyThreadState_SetAsyncExc", ctypes.pythonapi)
)


def _raise_in_thread(thread_id: int, exc_type: type[BaseException]) -> None:
    _raise_async(thread_id, exc_type)


def execute(job: Any) -> None:
    """Run *job* in the calling thread from start to end, recording how it ended.

    Nothing escapes: any ``BaseException`` from the job's code ends the job dead
    (or killed).  Used by the workers, and by ``job.run()``.
    """
    capture.current_output.set(job.output)
    thread_id = threading.get_ident()
    killed = False
    try:
        try:
            # Inside the try: a kill may land the instant _begin makes it possible.
            if not job._begin(thread_id):
                if job.state is JobState.KILLING:
                    job._finish(exception=JobKilled("killed before it started"), killed=True)
                return
            value = job.call()
        finally:
            killed = _stop_interrupts(job, thread_id)
    except JobKilled as exc:
        job._finish(exception=exc, killed=True)
    except BaseException as exc:  # SystemExit, KeyboardInterrupt... end the job only
        job._finish(exception=exc, killed=killed)
    else:
        if job.run_awaitables and hasattr(type(value), "__await__"):
            from bgshell.runners import get_runner

            get_runner("coroutine").adopt(job, value)  # the task will finish the job
        else:
            job._finish(value)


def _stop_interrupts(job: Any, thread_id: int) -> bool:
    """The job's code has returned: accept no more kills and absorb a pending one.

    Returns True if a kill was requested.  A kill that is still pending is
    delivered here, to a function that catches it, rather than withdrawn with
    ``PyThreadState_SetAsyncExc(id, NULL)``: on 3.11 withdrawing leaves the
    interpreter's eval breaker set for good, which slows every thread and hangs
    ``sys.settrace`` users (pdb, coverage).  A kill arriving while this runs is
    absorbed by the retry.
    """
    while True:
        try:
            with job._lock:
                job._handle = None  # from here on kill() sends nothing to this thread
                requested = job._state is JobState.KILLING
            if requested:
                _absorb_pending_kill()
            return requested
        except JobKilled:
            continue


def _absorb_pending_kill() -> None:
    try:
        _checkpoint()  # calling a Python function checks for pending exceptions
    except JobKilled:
        pass


def _checkpoint() -> None:
    pass


class _Worker:
    """One pool thread.  ``wake`` is held while idle; releasing it hands over a job."""

    __slots__ = ("runner", "job", "wake", "thread")

    def __init__(self, runner: ThreadRunner, job: Any) -> None:
        self.runner = runner
        self.job = job
        self.wake = threading.Lock()
        self.wake.acquire()
        self.thread = threading.Thread(target=self.loop, name="bgshell-job", daemon=True)

    def loop(self) -> None:
        runner = self.runner
        while True:
            job, self.job = self.job, None
            try:
                contextvars.Context().run(execute, job)
            except JobKilled:  # cannot happen by design; if it does, still end the job
                if not job.done():
                    job._finish(exception=JobKilled("killed"), killed=True)
            job = None  # an idle worker must not keep a flushed job (and its value) alive
            try:
                if not runner._park(self):
                    return
            except JobKilled:  # never leave a parked-then-interrupted worker in the pool
                runner._forget(self)
                return


class ThreadRunner:
    """Runs each job on an idle worker thread, or a new one when none is idle."""

    kind = "thread"

    def __init__(self, idle_seconds: float | None = None, max_idle: int | None = None) -> None:
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._idle_seconds = IDLE_SECONDS if idle_seconds is None else idle_seconds
        self._max_idle = MAX_IDLE if max_idle is None else max_idle
        self._non_daemon: set[Any] = set()
        self._hooked = False

    def start(self, job: Any) -> None:
        capture.install()
        if not job.daemon:
            self._keep_interpreter_for(job)
        with self._lock:
            worker = self._idle.pop() if self._idle else None
        if worker is None:
            try:
                _Worker(self, job).thread.start()
            except BaseException:  # "can't start new thread": the job never ran
                self._non_daemon.discard(job)
                raise
        else:
            worker.job = job
            worker.wake.release()

    def _park(self, worker: _Worker) -> bool:
        """Wait idle for the next job; False when the worker should exit."""
        with self._lock:
            if len(self._idle) >= self._max_idle:
                return False
            self._idle.append(worker)
        if worker.wake.acquire(timeout=self._idle_seconds):
            return True
        with self._lock:
            try:
                self._idle.remove(worker)
                return False
            except ValueError:
                pass  # start() took this worker just now: its job is on the way
        worker.wake.acquire()
        return True

    def _forget(self, worker: _Worker) -> None:
        with self._lock:
            if worker in self._idle:
                self._idle.remove(worker)

    @property
    def idle_workers(self) -> int:
        return len(self._idle)

    def kill(self, job: Any, force: bool = False) -> bool:
        with job._lock:
            if job._state is JobState.CREATED:
                job._state = JobState.KILLING  # _begin will refuse to run it
                return True
            if not job._request_kill():
                return False
            thread_id = job._handle
            if thread_id is not None:
                _raise_in_thread(thread_id, JobKilled)
        return True

    # -- non-daemon jobs keep the interpreter alive, as non-daemon threads do --------
    def _keep_interpreter_for(self, job: Any) -> None:
        with self._lock:
            self._non_daemon.add(job)
            if not self._hooked:
                self._hooked = True
                _at_shutdown(self._wait_non_daemon)
        job.add_ended_hook(self._non_daemon.discard)

    def _wait_non_daemon(self) -> None:
        while True:
            with self._lock:
                pending = next(iter(self._non_daemon), None)
            if pending is None:
                return
            pending.wait_done()
            self._non_daemon.discard(pending)


def _at_shutdown(func: Any) -> None:
    """Run *func* when the interpreter shuts down, before daemon threads are dropped."""
    register = getattr(threading, "_register_atexit", None)
    if register is not None:
        try:
            register(func)
            return
        except RuntimeError:
            pass
    import atexit

    atexit.register(func)
