"""The background job engine: IPython's ``backgroundjobs`` API, fixed and made fast.

``BackgroundJobManager`` keeps every behaviour the seed documents (``new`` with an
expression or a function, ``jobs[N]``, ``status``, ``result``, ``traceback``,
``remove``, ``flush``, the ``running``/``completed``/``dead`` lists) and fixes what the
reference implementation gets wrong:

* job numbers start at 1 and are never reused;
* ``remove`` really forgets a job, and refuses one that has not finished;
* ``new`` and job completion are thread safe: a job moves itself between the lists
  when it ends, under the manager's lock, and pushes itself on a queue of newly
  finished jobs, so nothing rescans a list (``new`` is O(1), and checking for newly
  finished jobs costs nothing when there are none);
* a job's result and its exception are stored apart, a job is never seen dead before
  its traceback is ready, and any ``BaseException`` (``SystemExit`` too) ends the job
  instead of escaping;
* ``flush`` does what its docstring says: it never drops a job that ended since the
  user last looked.

How a job runs is a separate object, a *runner* (see ``bgshell.runners``): threads by
default, taken from a pool of idle workers so a job starts at once without paying for
a new thread.  The manager never asks which kind of job it holds.

Error rule: what returns a value (``jobs[N]``, ``result(N)``) raises ``NoSuchJob``
(a ``KeyError``) for an unknown job; what only acts and reports (``remove``,
``traceback``, ``kill``) prints one line to ``sys.stderr`` and returns ``False``.

This module imports nothing from bgshell's user interface.
"""

from __future__ import annotations

import enum
import sys
import threading
import time
from collections import deque
from typing import Any, Callable, Iterable

from bgshell.capture import JobOutput
from bgshell.runners import get_runner  # imports no engine module at import time

__all__ = [
    "BackgroundJobManager",
    "BackgroundJobBase",
    "BackgroundJobExpr",
    "BackgroundJobFunc",
    "BackgroundJobCode",
    "JobState",
    "JobKilled",
    "NoSuchJob",
    "NOT_FINISHED",
    "DIED",
]


class JobState(enum.Enum):
    """Where a job is in its life.  ``KILLING``: asked to stop, still running."""

    CREATED = "Created"
    RUNNING = "Running"
    KILLING = "Killing"
    COMPLETED = "Completed"
    DEAD = "Dead"
    KILLED = "Killed"

    @property
    def finished(self) -> bool:
        """True once the job has ended, however it ended."""
        return self._finished  # type: ignore[attr-defined]

    @property
    def alive(self) -> bool:
        """True while the job's code may still be running."""
        return self is JobState.RUNNING or self is JobState.KILLING


# Plain attributes, set once: Enum hashing is Python code in 3.11, and these are
# read several times per job.
for _state, _code in (("CREATED", 0), ("RUNNING", 1), ("KILLING", 1),
                      ("COMPLETED", 2), ("DEAD", -1), ("KILLED", -1)):
    JobState[_state]._finished = _state in ("COMPLETED", "DEAD", "KILLED")  # type: ignore[attr-defined]
    JobState[_state]._stat_code = _code  # type: ignore[attr-defined]


class JobKilled(BaseException):
    """Raised inside a job that ``kill`` stops.

    A ``BaseException`` and not an ``Exception``, so that the job's own
    ``except Exception:`` cannot swallow it.
    """


class NoSuchJob(KeyError):
    """No job has this number (it never existed, or was removed or flushed)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "no such job"


class _Sentinel:
    """A placeholder result that can never be mistaken for a value a job returned."""

    __slots__ = ("_text",)

    def __init__(self, text: str) -> None:
        self._text = text

    def __repr__(self) -> str:
        return self._text

    __str__ = __repr__

    def __bool__(self) -> bool:
        return False


#: ``job.result`` while a job has not finished.
NOT_FINISHED = _Sentinel("<BackgroundJob has not completed>")
#: ``job.result`` of a job that died or was killed; its exception is ``job.exception``.
DIED = _Sentinel("<BackgroundJob died, call jobs.traceback() for details>")


def _print_error(message: str) -> None:
    print(message, file=sys.stderr)


class BackgroundJobBase:
    """Base class to build BackgroundJob classes.

    The derived classes must implement:

    - Their own ``__init__``, since the one here raises ``NotImplementedError``.  The
      derived constructor must call ``self._init()`` at the end, to provide common
      initialization.
    - A ``strform`` attribute used in calls to ``__str__``.
    - A ``call()`` method, which will make the actual execution call and must return
      a value to be held in the ``result`` field of the job object.

    A job looks like the ``threading.Thread`` it was in the seed (``start``, ``join``,
    ``is_alive``, ``daemon``) but is not one: a runner decides where ``call()`` runs.
    """

    stat_created = "Created"
    stat_created_c = 0
    stat_running = "Running"
    stat_running_c = 1
    stat_completed = "Completed"
    stat_completed_c = 2
    stat_dead = "Dead (Exception), call jobs.traceback() for details"
    stat_dead_c = -1
    stat_killing = "Killing"
    stat_killed = "Killed"

    strform: str
    num: int | None
    #: A value with ``__await__`` returned by ``call()`` is run to its end on the
    #: shared asyncio loop and its outcome becomes the job's (a coroutine job).
    run_awaitables = True

    def __init__(self) -> None:
        """Must be implemented in subclasses.

        Subclasses must call :meth:`_init` for standard initialisation.
        """
        raise NotImplementedError("This class can not be instantiated directly.")

    def _init(self) -> None:
        """Common initialization for all BackgroundJob objects."""
        for attr in ("call", "strform"):
            if not hasattr(self, attr):
                raise TypeError(f"a background job class must define {attr!r}")
        self.num = None
        self.daemon = False
        #: The runner kind ("thread", "process", "coroutine") that runs this job.
        self.kind = "thread"
        #: Monotonic clock readings; ``None`` until the job starts / ends.
        self.start_time: float | None = None
        self.end_time: float | None = None
        #: What the job wrote to stdout/stderr (see ``bgshell.capture``).
        self.output = JobOutput()
        self._state = JobState.CREATED
        self._value: Any = NOT_FINISHED
        self._exception: BaseException | None = None
        self._tb_text: str | None = None
        self._runner: Any = None
        self._lock = threading.Lock()
        self._done = threading.Lock()
        self._done.acquire()
        self._ended_hooks: list[Callable[[BackgroundJobBase], None]] = []
        #: Set once the user has been shown (or has waited for) the job's end.
        self._seen = False
        self._started = False
        #: True once the job has ended *and* its ended hooks ran (the manager filed it).
        self._settled = False
        #: For runners: where the job is executing (thread id, process, task).
        self._handle: Any = None
        #: One line naming the exception that ended the job ("" if none), made when
        #: it ended: showing it never calls the exception's code again.
        self.error_summary = ""

    # -- what the seed documents ------------------------------------------------
    def __str__(self) -> str:
        return self.strform

    def __repr__(self) -> str:
        return f"<BackgroundJob #{self.num}: {self.strform}>"

    @property
    def state(self) -> JobState:
        return self._state

    @property
    def status(self) -> str:
        """The seed's status string ('Running', 'Completed', 'Dead (Exception)...')."""
        state = self._state
        if state is JobState.DEAD:
            return self.stat_dead
        return state.value

    @property
    def stat_code(self) -> int:
        """The seed's numeric status: 0 created, 1 running, 2 completed, -1 dead."""
        return self._state._stat_code  # type: ignore[attr-defined]

    @property
    def finished(self) -> bool | None:
        """As in the seed: False until done, True when completed, None when it died."""
        state = self._state
        if state is JobState.COMPLETED:
            return True
        return None if state.finished else False

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

    def traceback(self) -> None:
        """Print the traceback of a dead job."""
        if self._tb_text is None:
            print(f"Job #{self.num} has no traceback: it is {self.status}.")
        else:
            print(self._tb_text, end="" if self._tb_text.endswith("\n") else "\n")

    @property
    def traceback_text(self) -> str | None:
        """The formatted traceback of a dead job, without the engine's own frames."""
        return self._tb_text

    # -- thread-like control -----------------------------------------------------
    def start(self) -> None:
        """Start the job with its runner (threads unless a manager chose another)."""
        if self._started:
            raise RuntimeError("a job can only be started once")
        self._started = True
        runner = self._runner
        if runner is None:
            runner = self._runner = get_runner("thread")
        runner.start(self)

    def run(self) -> None:
        """Run the job in the calling thread (what a ``Thread`` target would do).

        In a copy of the caller's context, so the job's output routing does not
        outlive the job in the caller.
        """
        import contextvars

        from bgshell.runners.thread import execute

        contextvars.copy_context().run(execute, self)

    def join(self, timeout: float | None = None) -> None:
        """Wait until the job ends, or *timeout* seconds pass.

        Like ``Thread.join``: returns ``None`` either way; check ``is_alive()``.  A
        job the caller has waited for counts as seen, so ``flush`` may drop it.
        """
        if not self._started:
            raise RuntimeError("cannot join a job before it is started")
        if self.wait_done(timeout):
            self._seen = True

    def wait_done(self, timeout: float | None = None) -> bool:
        """Block until the job ends; True if it has.  Does not mark it seen."""
        if self._settled:
            return True
        if timeout is None:
            got = self._done.acquire()
        else:
            got = self._done.acquire(timeout=max(timeout, 0.0))
        if got:
            self._done.release()
        return got

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
        self._seen = True
        if self._exception is not None:
            raise self._exception
        return self._value

    def kill(self, force: bool = False) -> bool:
        """Ask the job's runner to stop it; False if it is not running.

        ``force`` skips any grace period (a process job gets SIGKILL at once); a
        shell uses it when it leaves, so nothing it started outlives it.
        """
        if self._state.finished or self._runner is None:
            return False
        return bool(self._runner.kill(self, force))

    def add_ended_hook(self, hook: Callable[[BackgroundJobBase], None]) -> None:
        """Call *hook(job)* when the job ends, before ``join`` returns.

        On a job that has already ended the hook is called at once.
        """
        with self._lock:
            if not self._state.finished:
                self._ended_hooks.append(hook)
                return
        hook(self)

    # -- for runners ---------------------------------------------------------------
    def _begin(self, handle: Any = None) -> bool:
        """Mark the job running.  False if it was killed before it could start."""
        with self._lock:
            if self._state is not JobState.CREATED:
                return False
            self._handle = handle
            self._state = JobState.RUNNING
            self.start_time = time.monotonic()
            return True

    def _request_kill(self) -> bool:
        """Record a kill request; True if the job is (still) alive to be stopped.

        Must be called with ``self._lock`` held.  A job not started yet is ended as
        killed right away by the caller through ``_finish``.
        """
        if self._state is JobState.RUNNING:
            self._state = JobState.KILLING
        return self._state is JobState.KILLING

    def _finish(
        self,
        value: Any = None,
        exception: BaseException | None = None,
        *,
        killed: bool = False,
        tb_text: str | None = None,
    ) -> None:
        """Record how the job ended, tell the hooks, then wake whoever joins it.

        The traceback is formatted before the state changes, so nobody can see the
        job dead without its traceback.  Called once; later calls are ignored.
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
                killed = killed or isinstance(exception, JobKilled)
                self._state = JobState.KILLED if killed else JobState.DEAD
            self._handle = None
            hooks, self._ended_hooks = self._ended_hooks, []
        for hook in hooks:
            hook(self)
        self._settled = True
        self._done.release()


def _engine_frame(filename: str) -> bool:
    return filename.startswith(_PACKAGE_DIR)


#: Characters of one traceback line kept at most (from both ends): a 10 MB exception
#: message, or a 100,000-character source line, must not be thrown on the screen.
MAX_LINE = 2_000


def cap_text(text: str, limit: int = MAX_LINE) -> str:
    """*text* with every line longer than *limit* cut in its middle, with a note
    saying how much was left out; each line stays one line."""
    if len(text) <= limit:
        return text
    lines = text.split("\n")
    half = limit // 2
    for i, line in enumerate(lines):
        if len(line) > limit:
            lines[i] = f"{line[:half]} [... {len(line) - 2 * half:,} characters not shown ...] {line[-half:]}"
    return "\n".join(lines)


def format_exception(exc: BaseException) -> str:
    """Format *exc* with its traceback, leaving out the engine's own leading frames."""
    import traceback

    tb = exc.__traceback__
    while tb is not None and _engine_frame(tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    try:
        return cap_text("".join(traceback.format_exception(type(exc), exc, tb)))
    except BaseException as err:  # a hostile __str__ (even one raising SystemExit)
        return f"{type(exc).__name__}: <the exception could not be formatted: {type(err).__name__}>\n"


def describe_exception(exc: BaseException | None) -> str:
    """``ZeroDivisionError: division by zero`` on one short line, whatever ``__str__``
    does (raises anything, even ``SystemExit``, or returns megabytes)."""
    if exc is None:
        return ""
    name = type(exc).__name__
    try:
        text = str(exc)
        if not isinstance(text, str):
            raise TypeError
    except BaseException:
        text = "<the exception's message could not be shown>"
    text = " ".join(text[:1000].split())
    if len(text) > 200:
        text = text[:197] + "..."
    return f"{name}: {text}" if text else name


class BackgroundJobExpr(BackgroundJobBase):
    """Evaluate an expression as a background job (in a worker thread by default)."""

    def __init__(
        self,
        expression: str,
        glob: dict[str, Any] | None = None,
        loc: Any = None,
    ) -> None:
        """Create a new job from a string which can be fed to eval().

        global/locals dicts can be provided, which will be passed to the eval call.
        The expression is compiled here, so a syntax error is raised at once and
        nothing starts.
        """
        self.code = compile(expression, "<BackgroundJob compilation>", "eval")
        self.expression = self.strform = expression
        self.glob = {} if glob is None else glob
        self.loc = {} if loc is None else loc
        self._init()

    def call(self) -> Any:
        return eval(self.code, self.glob, self.loc)


class BackgroundJobFunc(BackgroundJobBase):
    """Run a function call as a background job (in a worker thread by default)."""

    def __init__(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Create a new job from a callable object.

        Any positional arguments and keyword args given to this constructor after
        the initial callable are passed directly to it.  The string form names only
        the function: the arguments' repr could be very expensive.
        """
        if not callable(func):
            raise TypeError("first argument to BackgroundJobFunc must be callable")
        self.func = func
        self.args = args
        self.kwargs = kwargs
        self.strform = _safe_str(func)
        self._init()

    def call(self) -> Any:
        return self.func(*self.args, **self.kwargs)


class BackgroundJobCode(BackgroundJobBase):
    """Run interactive input (statements, then maybe an expression) in a namespace.

    What a shell's ``y = f(x) &`` becomes: the statements run in *namespace*, so
    their effects land there, and if the input ends in an expression its value is
    the job's result.
    """

    def __init__(self, source: str, namespace: dict[str, Any], strform: str | None = None):
        from bgshell.codesplit import compile_split

        self.source = source
        self.split = compile_split(source, "<background>")
        self.namespace = namespace
        self.strform = source.strip() if strform is None else strform
        self._init()

    def call(self) -> Any:
        split = self.split
        if split.is_async:  # top-level await: the job continues as a coroutine job
            return self._call_async()
        if split.body is not None:
            exec(split.body, self.namespace)
        if split.last_expr is not None:
            return eval(split.last_expr, self.namespace)
        return None

    async def _call_async(self) -> Any:
        value = None
        for code in (self.split.body, self.split.last_expr):
            if code is not None:
                value = eval(code, self.namespace)
                if code.co_flags & 0x0080:  # CO_COROUTINE
                    value = await value
        return value if self.split.last_expr is not None else None


def _safe_str(obj: object) -> str:
    try:
        return str(obj)
    except Exception:
        return f"<{type(obj).__name__} object>"


class BackgroundJobManager:
    """Class to manage a pool of backgrounded threaded jobs.

    Below, we assume that 'jobs' is a BackgroundJobManager instance.

    Usage summary (see the method docstrings for details):

      jobs.new(...) -> start a new job

      jobs() or jobs.status() -> print status summary of all jobs

      jobs[N] -> returns job number N.

      foo = jobs[N].result -> assign to variable foo the result of job N

      jobs[N].traceback() -> print the traceback of dead job N

      jobs.remove(N) -> remove (finished) job N

      jobs.flush() -> remove all finished jobs

    As a convenience feature, BackgroundJobManager instances provide the
    utility result and traceback methods which retrieve the corresponding
    information from the jobs list:

      jobs.result(N) <--> jobs[N].result
      jobs.traceback(N) <--> jobs[N].traceback()

    While this appears minor, it allows you to use tab completion
    interactively on the job manager instance.

    Beyond the seed: ``kill(N)``, ``wait(...)``, ``newest``, and
    ``drain_finished()``, which a shell calls before each prompt to announce each
    job that ended exactly once.
    """

    def __init__(self, *, default_kind: str = "thread") -> None:
        self._lock = threading.Lock()
        self._running: dict[int, BackgroundJobBase] = {}
        self._completed: dict[int, BackgroundJobBase] = {}
        self._dead: dict[int, BackgroundJobBase] = {}
        #: Every job the manager holds, by number (finished ones until removed).
        self.all: dict[int, BackgroundJobBase] = {}
        self._finished: deque[BackgroundJobBase] = deque()
        self._next_num = 1
        self.default_kind = default_kind
        self._listeners: list[Callable[[], None]] = []

    # -- the lists ---------------------------------------------------------------
    @property
    def running(self) -> list[BackgroundJobBase]:
        """Jobs not finished yet (created, running or being killed), oldest first."""
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
    def new(self, func_or_exp: Callable[..., Any] | str, *args: Any, **kwargs: Any):
        """Add a new background job and start it in a separate thread.

        There are two types of jobs which can be created:

        1. Jobs based on expressions which can be passed to an eval() call.
        The expression must be given as a string.  For example:

          job_manager.new('myfunc(x,y,z=1)'[,glob[,loc]])

        The given expression is passed to eval(), along with the optional
        global/local dicts provided.  If no dicts are given, they are
        extracted automatically from the caller's frame.

        A Python statement is NOT a valid eval() expression.  Basically, you
        can only use as an eval() argument something which can go on the right
        of an '=' sign and be assigned to a variable.

        For example,"print 'hello'" is not valid, but '2+3' is.

        2. Jobs given a function object, optionally passing additional
        positional arguments:

          job_manager.new(myfunc, x, y)

        The function is called with the given arguments.

        If you need to pass keyword arguments to your function, you must
        supply them as a dict named kw:

          job_manager.new(myfunc, x, y, kw=dict(z=1))

        The reason for this asymmetry is that the new() method needs to
        maintain access to its own keywords, and this prevents name collisions
        between arguments to new() and arguments to your own functions.  Any
        other keyword is an error rather than silently dropped.

        In both cases, the result is stored in the job.result field of the
        background job object.

        You can set `daemon` attribute of the thread by giving the keyword
        argument `daemon`: a non-daemon job (the default) keeps the interpreter
        from exiting until it ends, as a non-daemon thread would.  ``kind=``
        picks how the job runs ("thread" by default).

        Notes on the seed's caveats: output a thread job writes to sys.stdout or
        sys.stderr is kept in ``job.output`` instead of landing on the terminal;
        the namespace is still shared without locks; a thread job inside a C call
        that holds the GIL still blocks other threads (run it as a process job);
        ``kill(N)`` stops a thread job running Python code.
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
        if isinstance(func_or_exp, str):
            if kw is not None:
                raise TypeError("kw= is for function jobs; an expression job takes (expr[, globals[, locals]])")
            if not args:
                frame = sys._getframe(1)
                glob, loc = frame.f_globals, frame.f_locals
            elif len(args) == 1:
                glob = loc = args[0]
            elif len(args) == 2:
                glob, loc = args
            else:
                raise ValueError("Expression jobs take at most 2 args (globals,locals)")
            job: BackgroundJobBase = BackgroundJobExpr(func_or_exp, glob, loc)
        elif callable(func_or_exp):
            if kw is not None and not isinstance(kw, dict):
                raise TypeError(f"kw= must be a dict, not {type(kw).__name__}")
            job = BackgroundJobFunc(func_or_exp, *args, **(kw or {}))
        else:
            raise TypeError(
                f"new() takes a callable or an expression string, not {type(func_or_exp).__name__}"
            )
        job.daemon = bool(daemon)
        return self.submit(job, kind=kind)

    def submit(self, job: BackgroundJobBase, *, kind: str | None = None) -> BackgroundJobBase:
        """Number, register and start a job built elsewhere; return it."""
        if job._started:
            raise RuntimeError(f"{job!r} was started already; a job runs once")
        runner = get_runner(kind or self.default_kind)
        job._runner = runner
        job.kind = runner.kind
        job.add_ended_hook(self._job_ended)
        with self._lock:
            job.num = self._next_num
            self._next_num += 1
            self._running[job.num] = job
            self.all[job.num] = job
        try:
            job._started = True
            runner.start(job)
        except BaseException:
            with self._lock:
                self._running.pop(job.num, None)
                self.all.pop(job.num, None)
            raise
        return job

    def _job_ended(self, job: BackgroundJobBase) -> None:
        """A job's own hook: move it to its list and queue it for announcement."""
        num = job.num
        with self._lock:
            if self._running.pop(num, None) is None:
                return  # removed or flushed while it ran: nothing to announce
            if job.state is JobState.COMPLETED:
                self._completed[num] = job
            else:
                self._dead[num] = job
            self._finished.append(job)
        for listener in self._listeners:
            try:
                listener()
            except Exception:  # a listener's failure must not stop the job ending
                pass

    def add_finish_listener(self, listener: Callable[[], None]) -> None:
        """Call *listener()* (from the job's thread) whenever a job has ended.

        A shell uses it to wake its prompt and announce the job at once; the job is
        already in ``drain_finished()`` when the listener runs.
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
        """result(N) -> return the result of job N."""
        return self[num].result

    # -- reporting ---------------------------------------------------------------------
    def __call__(self) -> None:
        """An alias to self.status(),

        This allows you to simply call a job manager instance much like the
        Unix `jobs` shell command."""
        return self.status()

    def drain_finished(self) -> list[BackgroundJobBase]:
        """Jobs that ended since the last call and have not been seen; mark them seen.

        Costs nothing when no job ended: it only pops a queue that the jobs fill
        themselves.  A shell calls it before every prompt.
        """
        if not self._finished:
            return []
        fresh = []
        with self._lock:
            while self._finished:
                job = self._finished.popleft()
                if not job._seen and job.num in self.all:
                    job._seen = True
                    fresh.append(job)
        return fresh

    def _group_report(self, group: list[BackgroundJobBase], name: str) -> bool:
        """Print a titled group of jobs; return True if it had any."""
        if not group:
            return False
        print(f"{name} jobs:")
        for job in group:
            print(f"{job.num} : {job}")
        print()
        return True

    def _status_new(self) -> bool:
        """Print the status of newly finished jobs.

        Return True if any new jobs are reported.  This call resets its own state
        every time, so it only reports jobs which have finished since the last time
        it was called.
        """
        fresh = self.drain_finished()
        done = [job for job in fresh if job.state is JobState.COMPLETED]
        died = [job for job in fresh if job.state is not JobState.COMPLETED]
        new_comp = self._group_report(done, "Completed")
        new_dead = self._group_report(died, "Dead, call jobs.traceback() for details")
        return new_comp or new_dead

    def status(self, verbose: int = 0) -> None:
        """Print a status of all jobs currently being managed."""
        with self._lock:
            running = list(self._running.values())
            completed = list(self._completed.values())
            dead = list(self._dead.values())
            for job in completed + dead:
                job._seen = True
        self._group_report(running, "Running")
        self._group_report(completed, "Completed")
        self._group_report(dead, "Dead")

    def traceback(self, job: int | BackgroundJobBase | None = None) -> bool | None:
        """Print the traceback of job N, or of every dead job when no job is given.

        For job N: True, or False (and one line on stderr) for an unknown job.
        """
        if job is None:
            for deadjob in self.dead:
                print(f"Traceback for: {deadjob!r}")
                deadjob.traceback()
                print()
            return None
        found = self.get(job)
        if found is None:
            _print_error(f"traceback: no such job {_num_of(job)!r}")
            return False
        found.traceback()
        return True

    # -- acting on jobs ------------------------------------------------------------------
    def remove(self, num: int | BackgroundJobBase) -> bool:
        """Remove a finished (completed or dead) job; True if it was removed."""
        num = _num_of(num)
        with self._lock:
            job = self.all.get(num)  # type: ignore[arg-type]
            # Filed as finished, not merely finished: its ended hook may still be on
            # its way to file it, and would put it back.
            if job is not None and (num in self._completed or num in self._dead):
                del self.all[num]
                self._completed.pop(num, None)
                self._dead.pop(num, None)
                job._seen = True
                return True
        if job is None:
            _print_error(f"remove: no such job {num!r}")
        else:
            _print_error(f"remove: job {num} is still running; only a finished job can be removed (kill it first)")
        return False

    def flush(self) -> bool:
        """Flush all finished jobs (completed and dead) from lists.

        Running jobs are never flushed.

        It first calls _status_new(), to update info. If any jobs have
        completed since the last _status_new() call, the flush operation
        aborts: they are reported, kept, and a second flush removes them.  (A job
        the caller ``join()``-ed counts as seen.)  Returns True if jobs were
        flushed.
        """
        if self._status_new():
            print("Not flushed: the jobs above ended since you last looked. Run flush again to remove them.")
            return False
        with self._lock:
            comp = [job for job in self._completed.values() if job._seen]
            dead = [job for job in self._dead.values() if job._seen]
            for job in comp + dead:
                del self.all[job.num]
                self._completed.pop(job.num, None)
                self._dead.pop(job.num, None)
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
        main thread; the jobs go on.
        """
        jobs = self.running if nums is None else [self[n] for n in nums]
        deadline = None if timeout is None else time.monotonic() + timeout
        for job in jobs:
            left = None if deadline is None else deadline - time.monotonic()
            if not job.wait_done(left):
                break
        return [job for job in jobs if job.done()]


def _num_of(job: int | BackgroundJobBase | object) -> Any:
    return job.num if isinstance(job, BackgroundJobBase) else job


import os.path as _path

#: Frames from files under this folder are bgshell's own, left out of tracebacks.
_PACKAGE_DIR = _path.dirname(_path.abspath(__file__)) + _path.sep
