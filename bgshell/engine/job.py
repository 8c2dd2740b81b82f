"""A background job: a small state machine that every kind of runner drives the same way.

Modelled on ``concurrent.futures.Future``: the job's state changes only inside its own
methods, under its own lock, and a runner only calls them:

* ``set_running(handle)``: the code starts where *handle* says (a thread id, a
  process, a task); False if a kill came first, and then the job has already ended;
* ``set_queued(handle)``: handed to a runner that will start it later;
* ``set_handle(handle)``: the job now runs somewhere else (a thread job whose code
  returned a coroutine goes on as a task); True if a kill is waiting for it there;
* ``release_handle()``: the code has returned, nothing may be sent to it any more;
* ``set_result(value)``, ``set_exception(exc)``: how it ended (once; later calls are
  ignored).

``kill``/``send_signal`` mark the job and, while it has a handle, have its runner
deliver the signal there under the same lock, so a signal never reaches a handle
after ``release_handle`` (the thread may run another job by then).  A job looks like
the ``threading.Thread`` it was in IPython (``start``, ``join``, ``is_alive``,
``daemon``) but is not one: its runner decides where ``call()`` runs.
"""

from __future__ import annotations

import signal
import threading
import time
from typing import Any, Callable

from bgshell.engine.belongings import JobBelongings
from bgshell.engine.jobcontext import running_job
from bgshell.engine.jobface import IPythonJobFace
from bgshell.engine.kinds import DEFAULT_RUNNERS, Runners
from bgshell.engine.states import DIED, NOT_FINISHED, JobKilled, JobState
from bgshell.engine.tracebacks import cap_text, describe_exception, format_exception
from bgshell.engine.waiters import Waiters

__all__ = ["BackgroundJobBase"]

_STARTABLE = (JobState.CREATED, JobState.QUEUED)


class BackgroundJobBase(IPythonJobFace, JobBelongings):
    """The base of every job class.

    A subclass sets ``strform`` (how the job is shown), defines ``call()`` (the work;
    its return value becomes ``result``) and calls ``self._init()`` at the end of its
    own ``__init__``; this one refuses to be called directly.
    """

    strform: str
    num: int | None
    #: A value with ``__await__`` returned by ``call()`` is run to its end on the
    #: shared asyncio loop and its outcome becomes the job's (a coroutine job).
    run_awaitables = True

    def __init__(self) -> None:  # a subclass brings its own, which calls _init
        raise NotImplementedError("This class can not be instantiated directly.")

    def _init(self) -> None:
        """Set up what every job has; a subclass calls it last in its ``__init__``."""
        for attr in ("call", "strform"):
            # Looked up without reading it: a lazy ``strform`` property stays unmade.
            if not hasattr(type(self), attr) and attr not in vars(self):
                raise TypeError(f"a background job class must define {attr!r}")
        self.num = None
        self.daemon = False
        #: The kind of runner that runs this job ("thread", "process", "coroutine").
        self.kind = "thread"
        #: Monotonic clock readings; ``None`` until the job starts / ends.
        self.start_time: float | None = None
        self.end_time: float | None = None
        #: Set once the user has been shown (or has waited for) the job's end.
        self.seen = False
        #: One line naming the exception that ended the job ("" if none), made when
        #: it ended: showing it never calls the exception's code again.
        self.error_summary = ""
        self._state = JobState.CREATED
        self._value: Any = NOT_FINISHED
        self._exception: BaseException | None = None
        self._tb_text: str | None = None
        self._runners: Runners = DEFAULT_RUNNERS
        self._runner: Any = None
        self._handle: Any = None  # where the code runs now; only while it may be signalled
        self._where: str | None = None
        self._lock = threading.Lock()
        self._waiters = Waiters()
        self._ended_hooks: list[Callable[[BackgroundJobBase], None]] = []
        self._init_belongings()
        self._started = False
        #: True once the job has ended *and* its ended hooks ran (the manager filed it).
        self._settled = False

    # -- what a job is now -------------------------------------------------------
    @property
    def state(self) -> JobState:
        return self._state

    @property
    def result(self) -> Any:
        """The value ``call()`` returned; ``NOT_FINISHED`` or ``DIED`` otherwise."""
        return self._value

    @property
    def exception(self) -> BaseException | None:
        """The exception that ended the job, or None."""
        return self._exception

    @property
    def elapsed(self) -> float:
        """Seconds the job has run (so far, or in all once it ended)."""
        if self.start_time is None:
            return 0.0
        end = self.end_time if self.end_time is not None else time.monotonic()
        return end - self.start_time

    @property
    def handle(self) -> Any:
        """Where the job's code runs now (thread id, process, task), or None."""
        return self._handle

    @property
    def where(self) -> str | None:
        """Where the job runs, or ran, in words, when its runner says (a cluster job's
        worker); kept after the job has ended, for ``jobs -l``."""
        return self._where

    @property
    def traceback_text(self) -> str | None:
        """The formatted traceback of a dead job, without the engine's own frames."""
        return self._tb_text

    def describe_work(self) -> tuple:
        """The work as a runner that sends it to another interpreter takes it (see
        ``bgshell.engine.jobtypes.Work``): here, a call of this job's ``call``."""
        return ("call", self.call, (), {})

    # -- thread-like control -----------------------------------------------------
    def attach(self, runners: Runners, kind: str) -> None:
        """Choose where the job will run: the runner of *kind* from *runners*.

        ValueError for an unknown kind, RuntimeError once the job has started.
        """
        runner = runners.get(kind)
        with self._lock:
            if self._started:
                raise RuntimeError(f"{self!r} was started already; a job runs once")
            self._runners, self._runner, self.kind = runners, runner, runner.kind

    def start(self) -> None:
        """Start the job with its runner (a thread unless ``attach`` chose another)."""
        with self._lock:
            if self._started:
                raise RuntimeError("a job can only be started once")
            self._started = True
            if self._runner is None:
                self._runner = self._runners.get(self.kind)
        self._runner.start(self)

    def adopt_running(self, handle: Any, since: float | None = None) -> None:
        """The job's code is already running, at *handle*, since *since* (a
        ``time.monotonic()``): code started as something else that became a job, a
        foreground input sent to the background."""
        with self._lock:
            if self._started:
                raise RuntimeError("a job can only be started once")
            self._started = True
        self.set_running(handle)
        if since is not None:
            self.start_time = since

    def run(self) -> None:
        """Run the job in the calling thread (what a ``Thread`` target would do).

        In a copy of the caller's context, so the job's output routing does not
        outlive the job in the caller.
        """
        import contextvars

        from bgshell.engine.runners.thread import execute

        with self._lock:
            self._started = True
        contextvars.copy_context().run(execute, self)

    def join(self, timeout: float | None = None) -> None:
        """Wait until the job ends, or *timeout* seconds pass.

        Like ``Thread.join``: returns ``None`` either way; check ``is_alive()``.  A
        job the caller has waited for counts as seen, so ``flush`` may drop it.
        """
        if not self._started:
            raise RuntimeError("cannot join a job before it is started")
        if self.wait_done(timeout) and running_job() is None:  # a job's look is not the user's
            self.seen = True

    def wait_done(self, timeout: float | None = None) -> bool:
        """Block until the job ends; True if it has.  Does not mark it seen.

        Inside a job it waits in short slices, so a kill (an exception raised in the
        waiting thread) takes effect: a job waiting for another can be killed.
        """
        if self._settled:
            return True
        return self._waiters.wait(timeout, in_slices=running_job() is not None)

    def is_alive(self) -> bool:
        """True from ``start()`` until the job has ended and been filed."""
        return self._started and not self._settled

    def done(self) -> bool:
        """True once the job has ended (completed, dead or killed) and been filed.

        Later than ``state.finished`` by the time the ended hooks take, so that a
        caller who sees a job done also finds it in its manager's lists.
        """
        return self._settled

    def get(self, timeout: float | None = None) -> Any:
        """Wait for the job and return its value, or raise the exception that ended it.

        Raises ``TimeoutError`` if it does not end within *timeout* seconds.
        """
        if not self.wait_done(timeout):
            raise TimeoutError(f"job #{self.num} has not finished")
        if running_job() is None:
            self.seen = True
        if self._exception is not None:
            raise self._exception
        return self._value

    def kill(self, force: bool = False) -> bool:
        """Stop the job; False if it has already ended.

        ``force`` skips any grace period (a process job gets SIGKILL at once); a
        shell uses it when it leaves, so nothing it started outlives it.
        """
        return self.send_signal(signal.SIGKILL if force else signal.SIGTERM)

    def send_signal(self, signum: int) -> bool:
        """Deliver SIGTERM (stop), SIGKILL (stop now) or SIGINT (interrupt) to the job.

        SIGTERM and SIGKILL mark it ``Killing`` until it has really ended (a job not
        started yet never starts).  SIGINT only interrupts: a thread job gets a
        ``KeyboardInterrupt`` it may catch.  False if the job has ended, or for
        SIGINT when there is nothing running to interrupt yet.
        """
        stopping = signum != signal.SIGINT
        with self._lock:
            state = self._state
            if state.finished or self._runner is None:
                return False
            if stopping:
                self._state = JobState.KILLING
            elif state is JobState.CREATED:
                return False
            if self._handle is not None:
                self._runner.deliver(self, self._handle, signum)
        return True

    def add_ended_hook(self, hook: Callable[[BackgroundJobBase], None]) -> None:
        """Call *hook(job)* when the job ends, before ``join`` returns.

        On a job that has already ended the hook is called at once.
        """
        with self._lock:
            if not self._state.finished:
                self._ended_hooks.append(hook)
                return
        hook(self)

    # -- transitions, for runners ------------------------------------------------
    def set_queued(self, handle: Any = None) -> bool:
        """The runner has taken the job and will start it later (a worker is free).

        False if the job was killed first; it has then already ended.
        """
        with self._lock:
            if self._state is JobState.CREATED:
                self._state, self._handle = JobState.QUEUED, handle
                return True
        self._end_if_killed_before_start()
        return False

    def set_running(self, handle: Any = None, *, where: str | None = None) -> bool:
        """The job's code starts now, at *handle* (*where*: that place in words).

        False if the job was killed before it could start: it has then already ended
        as killed, and the runner must not run it.
        """
        with self._lock:
            if self._state in _STARTABLE:
                self._handle = handle
                self._where = where or self._where
                self._state = JobState.RUNNING
                self.start_time = time.monotonic()
                return True
        self._end_if_killed_before_start()
        return False

    def _end_if_killed_before_start(self) -> None:
        if self._state is JobState.KILLING:
            self.set_exception(JobKilled("killed before it started"))
    def set_handle(self, handle: Any, *, where: str | None = None) -> bool:
        """The job's code runs at *handle* from now on (*where*: that place in words);
        True if a kill is waiting.

        A runner that takes over a running job (a coroutine job adopting the
        awaitable a thread job returned) acts on a kill that came in between; a
        cluster job's code may start while a kill of the queued job is on its way.
        """
        with self._lock:
            if self._state.finished:
                return False
            self._handle = handle
            self._where = where or self._where
            return self._state is JobState.KILLING

    def release_handle(self) -> bool:
        """The job's code has returned: nothing may be delivered to its handle any more.

        True if a kill had been requested (the runner then reports the job killed,
        whatever its code did with the kill).
        """
        with self._lock:
            self._handle = None
            return self._state is JobState.KILLING

    def continue_as(self, kind: str, work: Any) -> None:
        """The job goes on in the runner of another *kind*, which takes over *work*
        (a thread job whose code returned a coroutine goes on as a coroutine job)."""
        runner = self._runners.get(kind)
        with self._lock:
            self._runner, self.kind = runner, runner.kind
        runner.adopt(self, work)

    def set_result(self, value: Any) -> None:
        """The job completed with *value*."""
        self._end(value)

    def set_exception(self, exception: BaseException, *, tb_text: str | None = None, killed: bool = False) -> None:
        """The job ended with *exception*: killed if it is ``JobKilled`` or *killed*
        says so, dead otherwise.  *tb_text*: its traceback, when it was formatted
        elsewhere (in another process)."""
        self._end(None, exception, killed=killed or isinstance(exception, JobKilled), tb_text=tb_text)

    def _end(
        self,
        value: Any,
        exception: BaseException | None = None,
        *,
        killed: bool = False,
        tb_text: str | None = None,
    ) -> None:
        """Record how the job ended, tell the hooks, then wake whoever joins it.

        The traceback is formatted before the state changes, so nobody can see the
        job dead without its traceback.  Only the first call counts.
        """
        summary = ""
        if exception is not None:
            # Both call the exception's __str__: here, in the job's own thread, so a
            # hostile one hangs or fails the job, never the prompt that announces it.
            tb_text = format_exception(exception) if tb_text is None else cap_text(tb_text)
            summary = describe_exception(exception)
        with self._lock:
            if self._state.finished:
                return
            if self.start_time is None:
                self.start_time = time.monotonic()
            self.end_time = time.monotonic()
            if exception is None:
                self._value = value
                self._state = JobState.COMPLETED
            else:
                self._value = DIED
                self._exception = exception
                self._tb_text = tb_text
                self.error_summary = summary
                self._state = JobState.KILLED if killed else JobState.DEAD
            self._handle = None
            hooks, self._ended_hooks = self._ended_hooks, []
        for hook in hooks:
            hook(self)
        self._settled = True
        self._waiters.release_all()
