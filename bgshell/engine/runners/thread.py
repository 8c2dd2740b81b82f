"""Thread jobs, run by a pool of worker threads that wait idle for the next job.

Starting a ``threading.Thread`` costs a few hundred microseconds; handing a job to a
worker that is already waiting costs a lock release.  The pool never queues: a job
goes to an idle worker if there is one, otherwise a new worker is started for it, so
every job runs at once and never waits for another.  A worker idle for
``IDLE_SECONDS`` exits.  Each job runs in a fresh ``contextvars.Context`` (as it would
in a new thread), with its output buffer set for ``bgshell.engine.capture``.

Workers are threads the interpreter does not wait for; what a non-daemon thread
promises (the interpreter does not exit while it runs) is kept per job by a hook
that waits for running non-daemon jobs at interpreter shutdown.

Killing: ``PyThreadState_SetAsyncExc`` raises ``JobKilled`` in the worker at its next
Python instruction.  It is only ever set while the job's own code runs (guarded by
the job's lock), and a request that arrives as the code returns is absorbed by the
worker, so it never hits the worker's loop or the next job.
"""

from __future__ import annotations

import _thread
import contextvars
import ctypes
import linecache
import os
import signal
import sys
import threading
from typing import Any

from bgshell.engine import capture, jobcontext
from bgshell.engine.codesplit import is_awaitable
from bgshell.engine.sigmask import leave_signals_to_main, take_main_mask
from bgshell.engine.states import JobKilled

__all__ = ["ThreadRunner", "execute", "end_adopted", "raise_in_thread", "absorb_pending_kill", "IDLE_SECONDS"]

#: How long an idle worker waits for another job before it exits.
IDLE_SECONDS = 30.0
#: At most this many idle workers are kept; after a burst of jobs the rest exit at
#: once instead of holding stacks (and slowing every futex wake-up) for 30 s.
MAX_IDLE = max(8, 4 * (os.cpu_count() or 1))

_raise_async = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_ulong, ctypes.py_object)(
    ("PyThreadState_SetAsyncExc", ctypes.pythonapi)
)


def raise_in_thread(thread_id: int, exc_type: type[BaseException]) -> None:
    """Raise *exc_type* in the thread *thread_id* at its next Python instruction."""
    _raise_async(thread_id, exc_type)


def where_thread_is(thread_id: int) -> str:
    """Where thread *thread_id* runs Python code now: ``time.sleep(30)`` at
    ``<python-input-3>:1`` (the line's source when known), or ``""``.  Used to say
    why a kill waits: a thread inside a C call takes it when the call returns."""
    frame = sys._current_frames().get(thread_id)
    if frame is None:
        return ""
    source = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    place = f"{frame.f_code.co_filename}:{frame.f_lineno}"
    return f"{source[:60]} at {place}" if source else f"{frame.f_code.co_name} at {place}"


def execute(job: Any) -> None:
    """Run *job* in the calling thread from start to end, recording how it ended.

    Nothing escapes: any ``BaseException`` from the job's code ends the job dead
    (or killed).  Used by the workers, and by ``job.run()``.
    """
    jobcontext.enter(job)
    thread_id = threading.get_ident()
    killed = False
    try:
        try:
            # Inside the try: a kill may land the instant set_running makes it possible.
            if not job.set_running(thread_id):
                return
            value = job.call()
        finally:
            killed = _stop_interrupts(job)
    except JobKilled as exc:
        job.set_exception(exc)
    except BaseException as exc:  # SystemExit, KeyboardInterrupt... end the job only
        job.set_exception(exc, killed=killed)
    else:
        if job.run_awaitables and is_awaitable(value):
            job.continue_as("coroutine", value)  # the task will end the job
        else:
            job.set_result(value)


def end_adopted(job: Any, value: Any = None, exception: BaseException | None = None) -> None:
    """The code of an adopted job (see ``BackgroundJobAdopted``) has returned in this
    thread: accept no more kills, then record how it ended."""
    killed = _stop_interrupts(job)
    if exception is None:
        job.set_result(value)
    else:
        job.set_exception(exception, killed=killed)


def _stop_interrupts(job: Any) -> bool:
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
            requested = job.release_handle()  # from here on nothing is sent to this thread
            if requested:
                absorb_pending_kill()
            return requested
        except JobKilled:
            continue


def absorb_pending_kill() -> None:
    """Let a kill raised in this thread a moment ago land here, where it is caught."""
    try:
        _checkpoint()  # calling a Python function checks for pending exceptions
    except JobKilled:
        pass


def _checkpoint() -> None:
    pass


def _wait_until_running(worker: _Worker, running: Any) -> None:
    """Wait for *worker*'s thread to run (*running* is released then), letting no
    ``KeyboardInterrupt`` out: the job has been handed over, and an exception here
    would make the caller drop a job that runs (seen with a job that sends SIGINT to
    the shell at once).  A Ctrl-C in these microseconds is lost, as one pressed just
    after an input ended.  The interrupt may come after the lock was taken, so the
    worker's own flag says whether to wait again."""
    while True:
        try:
            running.acquire()
            return
        except KeyboardInterrupt:
            if worker.started:
                return


class _Worker:
    """One pool thread.  ``wake`` is held while idle; releasing it hands over a job.

    Started with ``_thread`` rather than ``threading``: a new ``threading.Thread``
    first calls the hooks of ``threading.setprofile``/``settrace``, and a job that
    set a hook that raises would kill every new worker before it ran its job.
    """

    __slots__ = ("runner", "job", "wake", "started")

    def __init__(self, runner: ThreadRunner, job: Any) -> None:
        self.runner = runner
        self.job = job
        self.wake = threading.Lock()
        self.wake.acquire()
        self.started = False

    def start(self) -> Any:
        """Start the thread; returns a lock that is free once it runs (see ``ThreadRunner.start``)."""
        running = _thread.allocate_lock()
        running.acquire()
        _thread.start_new_thread(self.loop, (running,))
        return running

    def loop(self, running: Any) -> None:
        self.started = True
        running.release()
        runner = self.runner
        while True:
            job, self.job = self.job, None
            take_main_mask()  # the job's code (and what it starts) gets what python3 gives
            try:
                contextvars.Context().run(execute, job)
            except JobKilled:  # cannot happen by design; if it does, still end the job
                if not job.done():
                    job.set_exception(JobKilled("killed"))
            job = None  # an idle worker must not keep a flushed job (and its value) alive
            leave_signals_to_main()  # idle: signals go to the main thread
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
            worker = _Worker(self, job)
            try:
                running = worker.start()
            except BaseException:  # "can't start new thread": the job never ran
                self._non_daemon.discard(job)
                raise
            # Wait until the new thread runs, as threading.Thread.start does.  This
            # wait keeps a burst of jobs cheap: blocked here, the caller lets go of
            # the GIL, so workers that finished their jobs get to park and take the
            # next ones.  Without it nearly every job of a burst pays for a new
            # thread (measured: 9,500 threads for 10,000 trivial jobs, against 1,200
            # with the wait, and 4x the time).
            _wait_until_running(worker, running)
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

    def deliver(self, job: Any, handle: Any, signum: int) -> None:
        """SIGINT raises ``KeyboardInterrupt`` in the job's thread; SIGTERM and SIGKILL
        raise ``JobKilled`` (a thread cannot be stopped any harder than that) and go
        to the processes the job started, which would otherwise outlive it."""
        if signum == signal.SIGINT:
            raise_in_thread(handle, KeyboardInterrupt)
            return
        raise_in_thread(handle, JobKilled)
        job.stop_processes(signum)

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
