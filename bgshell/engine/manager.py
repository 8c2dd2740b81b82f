"""The job manager: IPython's ``BackgroundJobManager`` API, with its bugs fixed.

What it keeps from IPython: ``new`` with an expression string or a function,
``jobs[N]``, ``status()`` (and calling the manager), ``result``, ``traceback``,
``remove``, ``flush``, and the ``running``/``completed``/``dead`` lists.  What it
fixes:

* job numbers start at 1 and are never reused;
* ``remove`` really forgets a job, and refuses one that has not finished;
* ``new`` and a job's end are thread safe: a job files itself when it ends, under
  the manager's lock, and queues itself as newly finished, so nothing rescans a
  list (``new`` is O(1), and checking for news costs nothing when there is none);
* ``flush`` never drops a job that ended since the user last looked.

Which kind of runner runs a job is the job's business; the manager never asks.

Error rule: what returns a value (``jobs[N]``, ``result(N)``) raises ``NoSuchJob``
(a ``KeyError``) for an unknown job; what only acts and reports (``remove``,
``traceback``, ``kill``) prints one line on ``sys.stderr`` and returns ``False``.
"""

from __future__ import annotations

from builtins import print  # bound at import: a job replacing builtins.print cannot silence the shell
import contextvars
import sys
import threading
import time
from collections import deque
from typing import Any, Callable, Iterable

from bgshell.engine.job import BackgroundJobBase
from bgshell.engine.jobcontext import running_job
from bgshell.engine.jobtypes import BackgroundJobExpr, BackgroundJobFunc
from bgshell.engine.kinds import DEFAULT_RUNNERS, Runners
from bgshell.engine.reports import IPythonReports
from bgshell.engine.states import JobState, NoSuchJob

__all__ = ["BackgroundJobManager"]

Reporter = Callable[[list[BackgroundJobBase]], None]


def _print_error(message: str) -> None:
    print(message, file=sys.stderr)


class BackgroundJobManager(IPythonReports):
    """Starts jobs, numbers them, and keeps them until the user lets them go.

    ``jobs.new(f, x)`` or ``jobs.new("f(x)")`` starts one; ``jobs[N]`` is job N and
    ``jobs[N].result`` its value; ``jobs()`` or ``jobs.status()`` prints every job by
    state; ``jobs.result(N)``, ``jobs.traceback(N)``, ``jobs.remove(N)`` and
    ``jobs.flush()`` work on them by number, which is handy from Tab completion.
    Beyond IPython: ``kill(N)``, ``wait(...)``, ``newest`` and ``drain_finished()``,
    which a shell calls before each prompt to announce each ended job exactly once.

    *runners*: where jobs run (a ``bgshell.engine.kinds.Runners``); the shared
    default registry if None.
    """

    def __init__(self, *, default_kind: str = "thread", runners: Runners | None = None) -> None:
        self._lock = threading.Lock()
        self._running: dict[int, BackgroundJobBase] = {}
        self._completed: dict[int, BackgroundJobBase] = {}
        self._dead: dict[int, BackgroundJobBase] = {}
        #: Every job the manager holds, by number (finished ones until removed).
        self.all: dict[int, BackgroundJobBase] = {}
        self._finished: deque[BackgroundJobBase] = deque()
        self._waiting: deque[BackgroundJobBase] = deque()
        self._next_num = 1
        self.default_kind = default_kind
        self.runners = DEFAULT_RUNNERS if runners is None else runners
        self._listeners: list[Callable[[], None]] = []

    # -- the lists ---------------------------------------------------------------
    @property
    def running(self) -> list[BackgroundJobBase]:
        """Jobs not finished yet (created, queued, running or being killed), oldest first."""
        with self._lock:
            return list(self._running.values())

    @property
    def completed(self) -> list[BackgroundJobBase]:
        """Jobs that returned a value."""
        with self._lock:
            return list(self._completed.values())

    @property
    def dead(self) -> list[BackgroundJobBase]:
        """Jobs that raised an exception or were killed."""
        with self._lock:
            return list(self._dead.values())

    @property
    def newest(self) -> BackgroundJobBase | None:
        """The job with the highest number still held (bash's ``%+``)."""
        with self._lock:
            return self.all[next(reversed(self.all))] if self.all else None

    def __len__(self) -> int:
        return len(self.all)

    def __iter__(self):
        return iter(list(self.all.values()))

    # -- starting jobs -------------------------------------------------------------
    def new(self, func_or_exp: Callable[..., Any] | str, *args: Any, **kwargs: Any) -> BackgroundJobBase:
        """Start a job and return it: ``new(func, *args, kw={...})`` or ``new("expr")``.

        A function is called with *args*; its keyword arguments go in one dict,
        ``kw=``, so that they can never be mistaken for ``new``'s own keywords, and
        any other keyword is refused rather than dropped.  An expression string is
        evaluated (``eval``, so only what could stand on the right of ``=``) in the
        namespaces given after it (``new("f(x)", glob[, loc])``), or, without them,
        in the caller's globals and locals.  Either way the value ends up in
        ``job.result``.

        ``daemon=True``: the interpreter may exit while the job runs (as with a daemon
        thread); by default it waits for it.  ``kind=``: "thread" (the default),
        "process", or a kind from ``bgshell.engine.kinds``.

        What IPython's version warned about, and how it stands here: a thread job's
        prints go to ``job.output``, not the terminal; the namespace is still shared
        without locks; a thread job in a C call that holds the GIL still stops other
        threads (run it as a process job); ``kill(N)`` stops a thread job that runs
        Python code.
        """
        kw = kwargs.pop("kw", None)
        daemon = kwargs.pop("daemon", False)
        kind = kwargs.pop("kind", None)
        if kwargs:
            names = ", ".join(sorted(kwargs))
            raise TypeError(
                f"new() got unexpected keyword argument(s): {names}; "
                "keyword arguments for the function go in kw=dict(...)"
            )
        job = _make_job(func_or_exp, args, kw)
        job.daemon = bool(daemon)
        return self.submit(job, kind=kind)

    def submit(self, job: BackgroundJobBase, *, kind: str | None = None) -> BackgroundJobBase:
        """Number, register and start a job built elsewhere; return it."""
        self._register(job, kind or self.default_kind)
        try:
            job.start()
        except BaseException:
            with self._lock:
                self._running.pop(job.num, None)
                self.all.pop(job.num, None)
            raise
        return job

    def adopt(self, job: BackgroundJobBase, thread_id: int, since: float | None = None) -> BackgroundJobBase:
        """Number and register code already running in thread *thread_id* (since
        *since*, a ``time.monotonic()``) as a thread job (``BackgroundJobAdopted``); its
        runner can signal and kill it as any other."""
        self._register(job, "thread")
        job.adopt_running(thread_id, since)
        return job

    def _register(self, job: BackgroundJobBase, kind: str) -> None:
        """Give *job* its runner, its hooks and the next number, and list it as running."""
        job.attach(self.runners, kind)
        job.add_ended_hook(self._job_ended)
        job.add_waiting_hook(self._job_waiting)
        with self._lock:
            job.num = self._next_num
            self._next_num += 1
            self._running[job.num] = job
            self.all[job.num] = job

    def _job_ended(self, job: BackgroundJobBase) -> None:
        """A job's own hook: move it to its list and queue it for announcement."""
        num = job.num
        with self._lock:
            if self._running.pop(num, None) is None:  # type: ignore[arg-type]
                return  # removed or flushed while it ran: nothing to announce
            if job.state is JobState.COMPLETED:
                self._completed[num] = job  # type: ignore[index]
            else:
                self._dead[num] = job  # type: ignore[index]
            self._finished.append(job)
        self._tell_listeners()

    def _job_waiting(self, job: BackgroundJobBase) -> None:
        """A job's own hook: it started waiting for input; queue it to be announced."""
        with self._lock:
            self._waiting.append(job)
        self._tell_listeners()

    def _tell_listeners(self) -> None:
        """Call each listener outside the job's context (a listener runs on the shell's
        behalf, and what it schedules must not pass for the job's own doing)."""
        for listener in self._listeners:
            try:
                contextvars.Context().run(listener)
            except Exception:  # a listener's failure must not stop the job
                pass

    def add_finish_listener(self, listener: Callable[[], None]) -> None:
        """Call *listener()* (from the job's thread) whenever a job has ended or has
        started waiting for input.

        A shell uses it to wake its prompt and announce the job at once; the job is
        already in ``drain_finished()`` (or ``drain_waiting()``) when the listener runs.
        """
        self._listeners.append(listener)

    # -- looking jobs up -------------------------------------------------------------
    def __getitem__(self, job_key: int | BackgroundJobBase) -> BackgroundJobBase:
        num = job_key.num if isinstance(job_key, BackgroundJobBase) else job_key
        try:
            job = self.all[num]  # type: ignore[index]
        except (KeyError, TypeError):
            raise NoSuchJob(f"no such job {num!r}") from None
        if isinstance(job_key, BackgroundJobBase) and job is not job_key:
            raise NoSuchJob(f"{job_key!r} belongs to another manager")
        return job

    def get(self, job_key: int | BackgroundJobBase) -> BackgroundJobBase | None:
        """The job, or None when there is no such job."""
        try:
            return self[job_key]
        except NoSuchJob:
            return None

    def __contains__(self, job_key: object) -> bool:
        return self.get(job_key) is not None  # type: ignore[arg-type]

    def result(self, num: int) -> Any:
        """Job *num*'s value: the same as ``jobs[num].result``."""
        return self[num].result

    # -- reporting ---------------------------------------------------------------------
    def drain_finished(self) -> list[BackgroundJobBase]:
        """Jobs that ended since the last call and have not been seen; mark them seen.

        Costs nothing when no job ended: it only pops a queue that the jobs fill
        themselves.  A shell calls it before every prompt.  Called from inside a job
        it returns nothing and takes nothing: what a job looks at is never lost to
        the user.
        """
        if not self._finished or running_job() is not None:
            return []
        fresh = []
        with self._lock:
            while self._finished:
                job = self._finished.popleft()
                if not job.seen and job.num in self.all:
                    job.seen = True
                    fresh.append(job)
        return fresh

    def drain_waiting(self) -> list[BackgroundJobBase]:
        """Jobs that started waiting for input since the last call and still wait."""
        if not self._waiting or running_job() is not None:
            return []
        with self._lock:
            fresh = list(dict.fromkeys(self._waiting))
            self._waiting.clear()
        return [job for job in fresh if job.waiting_for_input]

    # -- acting on jobs ------------------------------------------------------------------
    def remove(self, num: int | BackgroundJobBase) -> bool:
        """Remove a finished (completed or dead) job; True if it was removed."""
        num = _num_of(num)
        with self._lock:
            job = self.all.get(num)  # type: ignore[arg-type]
            # Filed as finished, not merely finished: its ended hook may still be on
            # its way to file it, and would put it back.
            if job is not None and (num in self._completed or num in self._dead):
                del self.all[num]  # type: ignore[arg-type]
                self._completed.pop(num, None)  # type: ignore[arg-type]
                self._dead.pop(num, None)  # type: ignore[arg-type]
                job.seen = True
                return True
        if job is None:
            _print_error(f"remove: no such job {num!r}")
        else:
            _print_error(f"remove: job {num} is still running; only a finished job can be removed (kill it first)")
        return False

    def flush(self, report: Reporter | None = None) -> bool:
        """Forget every finished job the user has seen; True if any were forgotten.

        Running jobs stay.  A job that ended since the last look is never dropped
        unseen: if there are any, they are reported (by *report*, or in IPython's
        format), nothing is flushed, and a second ``flush`` removes them.  From inside
        a job nothing is flushed: what to forget is the user's call, not a job's.
        """
        me = running_job()
        if me is not None:
            print(f"Not flushed: job {me.num} cannot flush; flush at the prompt.")
            return False
        fresh = self.drain_finished()
        if fresh:
            (report or self._report_by_state)(fresh)
            print("Not flushed: the jobs above ended since you last looked; run flush again to remove them.")
            return False
        with self._lock:
            comp = [job for job in self._completed.values() if job.seen]
            dead = [job for job in self._dead.values() if job.seen]
            for job in comp + dead:
                del self.all[job.num]  # type: ignore[arg-type]
                self._completed.pop(job.num, None)  # type: ignore[arg-type]
                self._dead.pop(job.num, None)  # type: ignore[arg-type]
        for group, name in ((comp, "completed"), (dead, "dead")):
            if group:
                print(f"Flushing {len(group)} {name} job{'' if len(group) == 1 else 's'}.")
        if not (comp or dead):
            print("No jobs to flush.")
            return False
        return True

    def kill(self, num: int | BackgroundJobBase) -> bool:
        """Ask job N to stop; True if it was running and the request was sent.

        A thread job is interrupted at its next Python instruction; one blocked in a
        C call shows ``Killing`` until that call returns.
        """
        job = self.get(num)
        if job is None:
            _print_error(f"kill: no such job {_num_of(num)!r}")
            return False
        if not job.kill():
            _print_error(f"kill: job {job.num} has already ended ({job.state.value})")
            return False
        return True

    def wait(
        self, nums: Iterable[int | BackgroundJobBase] | None = None, timeout: float | None = None
    ) -> list[BackgroundJobBase]:
        """Block until the given jobs (default: all running) end; return those that did.

        Unknown numbers raise ``NoSuchJob`` before any waiting.  With *timeout*, stop
        waiting after that many seconds in all.  Interruptible with Ctrl-C in the
        main thread; the jobs go on.  Called from inside a job, it never waits for
        that job itself (it would wait forever).
        """
        me = running_job()
        jobs = self.running if nums is None else [self[n] for n in nums]
        jobs = [job for job in jobs if job is not me]
        deadline = None if timeout is None else time.monotonic() + timeout
        for job in jobs:
            left = None if deadline is None else deadline - time.monotonic()
            if not job.wait_done(left):
                break
        return [job for job in jobs if job.done()]


def _make_job(func_or_exp: Callable[..., Any] | str, args: tuple[Any, ...], kw: Any) -> BackgroundJobBase:
    """The job ``new`` starts: an expression job for a string, a function job for a callable."""
    if isinstance(func_or_exp, str):
        if kw is not None:
            raise TypeError("kw= is for function jobs; an expression job takes (expr[, globals[, locals]])")
        if not args:
            frame = sys._getframe(2)  # new()'s caller
            glob, loc = frame.f_globals, frame.f_locals
        elif len(args) == 1:
            glob = loc = args[0]
        elif len(args) == 2:
            glob, loc = args
        else:
            raise ValueError("Expression jobs take at most 2 args (globals,locals)")
        return BackgroundJobExpr(func_or_exp, glob, loc)
    if callable(func_or_exp):
        if kw is not None and not isinstance(kw, dict):
            raise TypeError(f"kw= must be a dict, not {type(kw).__name__}")
        return BackgroundJobFunc(func_or_exp, *args, **(kw or {}))
    raise TypeError(f"new() takes a callable or an expression string, not {type(func_or_exp).__name__}")


def _num_of(job: int | BackgroundJobBase | object) -> Any:
    return job.num if isinstance(job, BackgroundJobBase) else job
