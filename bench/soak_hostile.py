#!/usr/bin/env python3
"""Hostile soak: one bgshell session fed the adversarial catalogue's cases in waves.

    python bench/soak_hostile.py [--quick] [--seconds S] [--seed N] [--without CASE,...]

Issue 11 asks for "30 minutes compressed into 2 minutes of mixed job kinds, kills,
input-waiting jobs, coroutines and hostile objects; no hang, no leak".  As in
``soak.py``, one ``bgshell.shell.repl.Shell`` runs in this process and is fed inputs
the way the front ends feed them (``shell.announce_finished()``, then
``shell.handle(text)``), builtins included.  Jobs wait for input as at a terminal
(``jobinput.serve_terminal(True)``): some are answered through
``jobs[N].input.feed(...)``, others are killed while they wait.

Each wave runs every case (``CASES``; the catalogue in ``tests/adversarial.py`` is
where they come from) in a shuffled order, among plain thread jobs: thread, process and
coroutine jobs that end, fail or are killed; coroutines raising ``SystemExit`` or
``KeyboardInterrupt``, stopping the loop, spinning until killed or holding the loop in
``time.sleep``; jobs reading stdin, ``getpass`` and ``breakpoint()``; jobs replacing
``sys.stdout``/``stdin``/``displayhook``/``excepthook``, redirecting stdout for a while,
setting signal handlers or ``os.environ``; results and exceptions whose dunders raise
``SystemExit`` (no dunder that hangs: that blocks by design); jobs using the manager.
Kills, answers and releases are deferred to the end of the wave, so the jobs overlap.
Then ``wait`` and ``flush``: the manager must hold no job.  Between waves the
foreground changes interpreter settings (recursion limit, switch interval, a cleared
``os.environ``) through jobs and checks ``6*7`` still shows 42.

Every input is checked: what it must print, that nothing else reaches stderr, that no
raw control character reaches the terminal, and that every job's end is announced
exactly once, with the expected state and message.  A watchdog thread bounds each
input (``INPUT_LIMIT``) and each wave (``WAVE_LIMIT``): on a hang it records the input
and every thread's stack, interrupts the main thread (as Ctrl-C would) and, if that
does not free it, prints what it knows and exits.  The shell's ``sys.stdout`` and
``sys.stderr`` are stand-ins that keep the text for the checks; file descriptors 1
and 2 go to a temporary file, so the run prints only its report, and whatever reached
them directly (``sys.__stderr__``, C code) is reported too.

The source of each input, which bgshell keeps in linecache for tracebacks as
python3.13 does (tens of thousands here, a few hundred in a day at the prompt), is
dropped after each wave so that the memory check measures leaks.

Measured after a warm-up wave (the baseline: imports, worker pool, fork server and
asyncio loop exist) and after each wave's flush: VmRSS (after ``gc.collect()`` and
``malloc_trim``, as ``soak.py``), ``sys.getallocatedblocks()``, OS threads (and how
many are the thread pool's idle workers, which exit after 30 s idle, and asyncio loop
threads), open fds and child processes; the watchdog samples the peaks.  Exits
non-zero on any FAIL.
"""

from __future__ import annotations

import _thread
import argparse
import io
import linecache
import os
import platform
import random
import re
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, TextIO

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bgshell.engine import jobinput  # noqa: E402
from bgshell.engine.states import JobState  # noqa: E402
from bgshell.shell.joblines import announcement  # noqa: E402
from bgshell.shell.repl import Shell  # noqa: E402
from report import MALLOC_TRIM, MB, Reading, children, mb, status_kb, table  # noqa: E402  bench/report.py

#: An input running longer than this is a hang (the longest legitimate one, a ``wait``
#: for a wave's jobs, takes about a second).
INPUT_LIMIT = 20.0
#: A wave taking longer than this is a hang even if each input kept under INPUT_LIMIT.
WAVE_LIMIT = 90.0
#: After interrupting a hung input, how long the main thread gets to come back
#: before the run is given up (the report is printed and the process exits).
GRACE = 10.0
#: After this many hangs the run stops: the session is not trustworthy any more.
MAX_HANGS = 2
#: VmRSS at the end may exceed the baseline by this much.
RSS_ALLOWANCE = 20 * MB
#: How long a case waits for a job to reach a state (start waiting, start running).
STATE_TIMEOUT = 10.0

# Loaded into the session's namespace with one input (``exec``).  The classes and
# functions come from tests/adversarial.py's HELPERS, with events instead of files.
PRELUDE = r'''
import asyncio, contextlib, getpass, io, os, signal, subprocess, sys, threading, time

earlier = "kept-" + "earlier"
finalized = [0]
busy_started = threading.Event()


def seven():
    return 7


def spin():
    while True:
        pass


def raise_(exc):
    raise exc


def bp():
    breakpoint()
    return "bp-done"


def hold_redirect(entered, release):
    """Replace sys.stdout (contextlib.redirect_stdout) until *release* is set."""
    with contextlib.redirect_stdout(io.StringIO()) as held:
        print("into the redirect")
        entered.set()
        release.wait(60)
    return held.getvalue()


class NeedyError(Exception):
    def __init__(self, a, b):
        super().__init__(f"needs-{a}-{b}")


def raise_needy():
    raise NeedyError(1, 2)


class Poison:
    """Every dunder the shell might touch raises SystemExit."""
    def __repr__(self): raise SystemExit(3)
    def __str__(self): raise SystemExit(3)
    def __bool__(self): raise SystemExit(4)
    def __len__(self): raise SystemExit(5)
    def __eq__(self, other): raise SystemExit(6)
    def __hash__(self): raise SystemExit(7)
    def __iter__(self): raise SystemExit(8)
    def __reduce_ex__(self, protocol): raise SystemExit(9)


class ExitLen(str):
    def __len__(self):
        raise SystemExit(5)


class SneakyRepr:
    def __repr__(self):
        return ExitLen("sneaky")


class DelBomb:
    """A result whose finalizer raises SystemExit; counts how many were freed."""
    def __del__(self):
        finalized[0] += 1
        raise SystemExit(7)


class ExitStrCallable:
    def __call__(self):
        return 1
    def __str__(self):
        raise SystemExit(7)


class TitleLabel:
    def __call__(self):
        return 1
    def __str__(self):
        return "\x1b]0;pwned-title\x07\x1b[2Jlabel"


class NoNameMeta(type):
    @property
    def __name__(cls):
        raise RuntimeError("no name")


class Nameless(Exception, metaclass=NoNameMeta):
    pass


class SliceBombStr(str):
    def __getitem__(self, index):
        raise SystemExit(2)
    def split(self, *args, **kwargs):
        raise SystemExit(2)


class SliceBomb(Exception):
    def __str__(self):
        return SliceBombStr("slice-bomb")


class ExitStrError(Exception):
    def __str__(self): raise SystemExit(5)
    def __repr__(self): raise SystemExit(6)


class InterruptStrError(Exception):
    def __str__(self): raise KeyboardInterrupt


async def ok():
    await asyncio.sleep(0)
    return "ok-async"


async def bye():
    raise SystemExit(3)


async def interrupted():
    raise KeyboardInterrupt


async def gen_exit():
    raise GeneratorExit


async def busy(started):
    started.set()
    while True:
        pass


async def blocker(seconds):
    time.sleep(seconds)
    return "unblocked"


async def stopper():
    asyncio.get_running_loop().stop()
    return "stopped"


async def unset_loop():
    asyncio.set_event_loop(None)
    await asyncio.sleep(0)
    return "unset"
'''

#: Lines the shell prints when a job ends: ``[3]  Done  fib(35)  12.4s ...``.
END_LINE = re.compile(r"^\[(\d+)\]  (Done|Dead|Killed)  (.*)$")
#: ``wait`` and announcements summarise beyond 20 jobs: "... and 12 more jobs ended (...)".
SUMMARY_LINE = re.compile(r"^\.\.\. and ([\d,]+) more jobs ended")
WAITING_LINE = re.compile(r"^\[(\d+)\]  Waiting for input  ")
STARTED_LINE = re.compile(r"^\[(\d+)\] \S", re.M)
#: Raw control characters (other than newline and tab) must never reach the terminal.
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
#: stderr that is expected wherever it lands: a DelBomb's finalizer, run by whichever
#: input happens to free it ("Exception ignored in: ... SystemExit: 7").
NOISE = re.compile(r"Exception ignored in: <function DelBomb\.__del__.*?\nSystemExit: 7\n", re.S)

REPORT: TextIO = sys.stdout  # replaced in main() by a copy of fd 1 taken before it is redirected


def say(text: str = "") -> None:
    """Print a line of the report (never into the session's captured streams)."""
    REPORT.write(text + "\n")
    REPORT.flush()


# ----------------------------------------------------------------------------- streams


class Transcript(io.TextIOBase):
    """Stands in for the terminal as the session's ``sys.stdout`` or ``sys.stderr``:
    keeps what was written since the last ``take()``, so each input's text can be
    checked.  Thread-safe: threads that are no job (an asyncio loop) write too."""

    def __init__(self) -> None:
        super().__init__()
        self._parts: list[str] = []
        self._lock = threading.Lock()
        self.lines = 0

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        with self._lock:
            self._parts.append(text)
            self.lines += text.count("\n")
        return len(text)

    def take(self) -> str:
        with self._lock:
            text, self._parts = "".join(self._parts), []
        return text

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:
        return "utf-8"


class StrayOutput:
    """File descriptors 1 and 2 sent to a temporary file for the run: what reaches them
    bypasses the shell's streams (``sys.__stderr__``, C code, the fork server)."""

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile()
        self.saved = [os.dup(1), os.dup(2)]
        for fd in (1, 2):
            os.dup2(self.file.fileno(), fd)

    def restore(self) -> str:
        for fd, saved in zip((1, 2), self.saved):
            os.dup2(saved, fd)
            os.close(saved)
        self.file.seek(0)
        text = self.file.read().decode("utf-8", "replace")
        self.file.close()
        return text


# ----------------------------------------------------------------------------- problems


@dataclass
class Problem:
    wave: int
    case: str
    text: str
    what: str


class Hung(Exception):
    """The watchdog interrupted an input that did not end in time."""


@dataclass
class Hang:
    wave: int
    case: str
    text: str
    seconds: float
    stacks: str
    recovered: bool = False


#: Where hangs and stray exceptions are noted as they happen (the report may never come).
NOTES = os.path.join(tempfile.gettempdir(), "soak_hostile.notes")


def note(text: str) -> None:
    """Append *text* to ``NOTES`` through a descriptor of its own (fds 1 and 2 are
    the soak's; a hang may keep the final report from being printed)."""
    fd = os.open(NOTES, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (text + "\n").encode("utf-8", "replace"))
    finally:
        os.close(fd)


#: The soak's job manager, for the unfinished jobs a hang report lists.
MANAGER: list[Any] = []


def unfinished_jobs() -> str:
    lines = []
    for manager in MANAGER:
        for job in list(manager.all.values()):
            if not job.state.finished:
                lines.append(f"    [{job.num}] {job.state.name} {job.kind} {job.label!r} handle={job.handle!r}")
    return "unfinished jobs:\n" + ("\n".join(lines) or "    none") + "\n"


def all_stacks() -> str:
    """Every thread's Python stack, innermost last (what a hang report needs)."""
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    parts = [unfinished_jobs()]
    for ident, frame in sys._current_frames().items():
        stack = "".join(traceback.format_stack(frame)[-8:])
        parts.append(f"--- thread {ident} ({names.get(ident, 'no threading.Thread: a pool worker?')})\n{stack}")
    return "\n".join(parts)


class Watchdog(threading.Thread):
    """Bounds every input and every wave, and samples the peaks meanwhile.

    The main thread arms it with the input it is about to run.  Past ``INPUT_LIMIT``
    (or the wave past ``WAVE_LIMIT``) it records the hang with every thread's stack
    and interrupts the main thread, as Ctrl-C would; if the main thread is still stuck
    ``GRACE`` seconds later nothing in this process can free it, so the report so far
    is printed and the process exits (status 3).
    """

    def __init__(self, on_give_up: Callable[[Hang], None]) -> None:
        super().__init__(name="soak-watchdog", daemon=True)
        self._lock = threading.Lock()
        self._armed: tuple[int, str, str, float] | None = None
        self.wave_started = time.monotonic()
        self.hangs: list[Hang] = []
        self.fired: Hang | None = None
        self._on_give_up = on_give_up
        self.peak = Counter()  # rss, os_threads, fds, children
        self._stop = threading.Event()
        #: Exceptions that landed in this thread (a kill sent to the wrong thread).
        self.strays: list[str] = []

    def arm(self, wave: int, case: str, text: str) -> None:
        with self._lock:
            self._armed = (wave, case, text, time.monotonic())

    def disarm(self) -> Hang | None:
        """End of the input; the hang it caused, if the watchdog fired."""
        with self._lock:
            self._armed = None
            fired, self.fired = self.fired, None
        return fired

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        while True:
            try:
                self._watch()
                return
            except BaseException as exc:  # a stray exception sent to this thread: report it, go on
                try:
                    self.strays.append(f"{type(exc).__name__}: {exc}")
                    note(f"soak watchdog hit by {exc!r}\n{traceback.format_exc()}{unfinished_jobs()}")
                except BaseException:
                    pass

    def _watch(self) -> None:
        ticks = 0
        while not self._stop.wait(0.25):
            ticks += 1
            self._sample(with_children=ticks % 4 == 0)
            with self._lock:
                armed, fired = self._armed, self.fired
            if armed is None:
                continue
            wave, case, text, started = armed
            now = time.monotonic()
            if fired is None and (now - started > INPUT_LIMIT or now - self.wave_started > WAVE_LIMIT):
                hang = Hang(wave, case, text, now - started, all_stacks())
                note(f"HANG in wave {wave}, case {case}: {text!r}\n{hang.stacks}")
                with self._lock:
                    self.fired = hang
                self.hangs.append(hang)
                _thread.interrupt_main()
            elif fired is not None and now - started > fired.seconds + GRACE:
                self._on_give_up(fired)
                os._exit(3)

    def _sample(self, with_children: bool) -> None:
        peak = self.peak
        try:
            peak["rss"] = max(peak["rss"], status_kb("VmRSS") * 1024)
            peak["os_threads"] = max(peak["os_threads"], len(os.listdir("/proc/self/task")))
            peak["fds"] = max(peak["fds"], len(os.listdir("/proc/self/fd")))
            if with_children:
                peak["children"] = max(peak["children"], children()[0])
        except OSError:
            pass  # every descriptor taken for a moment: skip this sample


# ----------------------------------------------------------------------------- the session


@dataclass
class Expected:
    """How a job must end: its state word and a regex its announcement must match."""

    state: str
    pattern: str | None = None


@dataclass
class WaveLog:
    """What one wave saw: announcements per job, what it expects of them, what to do
    at its end."""

    announced: dict[int, list[str]] = field(default_factory=dict)
    summarised: int = 0
    waiting: set[int] = field(default_factory=set)
    expected: dict[int, Expected] = field(default_factory=dict)
    deferred: list[tuple[str, Callable[[], None]]] = field(default_factory=list)
    after: list[tuple[str, Callable[[], None]]] = field(default_factory=list)


class Session:
    """The shell under test and the checks around every input."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.out, self.err = Transcript(), Transcript()
        sys.stdout, sys.stderr = self.out, self.err  # for the whole run: the report has its own fd
        jobinput.serve_terminal(True)  # jobs reading stdin wait, as at a terminal
        self.shell = Shell()
        self.sources = 0  # inputs whose source was dropped from linecache between waves
        MANAGER[:] = [self.shell.jobs]
        self.problems: list[Problem] = []
        self.watchdog = Watchdog(self._give_up)
        self.wave_no = 0
        self.case = "setup"
        self.log = WaveLog()
        self.inputs = 0
        self.fortytwos = 0
        #: Jobs per kind, counted as the waves end (jobs removed by ``remove`` are not).
        self.jobs_started: Counter[str] = Counter()
        self.delbombs = 0
        self.report_so_far: Callable[[], None] = lambda: None
        self.watchdog.start()
        self.feed(f"exec({PRELUDE!r})")

    # -- problems -----------------------------------------------------------------------
    def problem(self, text: str, what: str) -> None:
        self.problems.append(Problem(self.wave_no, self.case, text, what))

    def _give_up(self, hang: Hang) -> None:
        """The watchdog could not free the main thread: say what we know, from its thread."""
        say(f"\nGIVING UP: wave {hang.wave}, case {hang.case}: input {hang.text[:80]!r} did not end "
            f"within {INPUT_LIMIT:g}s and did not come back {GRACE:g}s after an interrupt.")
        say("Stacks when it was interrupted:")
        say(hang.stacks)
        self.report_so_far()

    # -- feeding inputs -----------------------------------------------------------------
    def feed(self, text: str, *, out: str | None = None, err: str | None = None, listing: bool = False) -> str:
        """One input as a front end gives it (announcements first, then the input).
        *out* / *err*: regexes its stdout / stderr must contain; stderr is otherwise
        expected empty.  *listing*: the output is a ``jobs`` listing, not announcements.
        Returns what it printed on stdout."""
        self._run(f"announcements before {text[:60]!r}", self.shell.announce_finished, False)
        printed, errors = self._run(text, lambda: self.shell.handle(text), listing)
        self.inputs += 1
        if out is not None and not re.search(out, printed, re.M):
            self.problem(text, f"expected {out!r} on stdout; it printed {printed[-300:]!r}")
        if err is not None and not re.search(err, errors, re.M):
            self.problem(text, f"expected {err!r} on stderr; it printed {errors[-300:]!r}")
        elif err is None and errors.strip():
            self.problem(text, f"unexpected stderr: {errors.strip()[:300]!r}")
        return printed

    def _run(self, label: str, action: Callable[[], None], listing: bool) -> tuple[str, str]:
        """Run *action* under the watchdog; check and file what it printed."""
        self.watchdog.arm(self.wave_no, self.case, label)
        try:
            action()
        except KeyboardInterrupt:
            pass  # the watchdog's interrupt (checked below) or a bug (reported below)
        except BaseException as exc:  # ExitRequest, SystemExit...: the shell let it out
            self.problem(label, f"shell.handle raised {type(exc).__name__}: {exc!r}"[:300])
        hang = self.watchdog.disarm()
        printed, errors = self.out.take(), NOISE.sub("", self.err.take())
        for where, text in (("stdout", printed), ("stderr", errors)):
            raw = RAW_CONTROL.search(text)
            if raw:
                self.problem(label, f"raw control character {raw.group()!r} on {where}: {text[:200]!r}")
        if not listing:
            self._file_lines(printed)
        if hang is not None:
            raise Hung(label)
        return printed, errors

    def _file_lines(self, printed: str) -> None:
        for line in printed.splitlines():
            end = END_LINE.match(line)
            if end:
                self.log.announced.setdefault(int(end.group(1)), []).append(line)
            elif SUMMARY_LINE.match(line):
                self.log.summarised += int(SUMMARY_LINE.match(line).group(1).replace(",", ""))
            elif WAITING_LINE.match(line):
                self.log.waiting.add(int(WAITING_LINE.match(line).group(1)))

    # -- jobs -----------------------------------------------------------------------------
    def start(self, text: str, state: str | None = None, pattern: str | None = None) -> int:
        """Start a job with a ``&`` input; its number.  *state*/*pattern*: how it must end."""
        printed = self.feed(text)
        started = STARTED_LINE.search(printed)
        if started is None:
            self.problem(text, f"no '[N] ...' line when the job started; printed {printed[:200]!r}")
            newest = self.shell.jobs.newest
            num = newest.num if newest is not None else -1
        else:
            num = int(started.group(1))
        if state is not None:
            self.log.expected[num] = Expected(state, pattern)
        return num

    def expect(self, num: int, state: str, pattern: str | None = None) -> None:
        self.log.expected[num] = Expected(state, pattern)

    def later(self, label: str, action: Callable[[], None]) -> None:
        """Before the wave's ``wait``, in shuffled order with the other deferred steps."""
        self.log.deferred.append((label, action))

    def after_wait(self, label: str, action: Callable[[], None]) -> None:
        """After the wave's ``wait`` (the job has ended), before the flush."""
        self.log.after.append((label, action))

    def until(self, what: str, predicate: Callable[[], bool], timeout: float = STATE_TIMEOUT) -> bool:
        """Poll *predicate* (a bound, not a timing); a problem if it never holds."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                self.problem(what, f"still not the case after {timeout:g}s")
                return False
            time.sleep(0.005)
        return True

    def waiting_for_input(self, num: int) -> bool:
        job = self.shell.jobs.get(num)
        return self.until(f"job {num} waits for input", lambda: job is not None and job.waiting_for_input)

    def running(self, num: int) -> bool:
        job = self.shell.jobs.get(num)
        return self.until(f"job {num} runs", lambda: job is not None and job.state is JobState.RUNNING)

    def check_42(self) -> None:
        self.feed("6*7", out=r"\A42\n\Z")
        self.fortytwos += 1

    # -- the end of a wave ----------------------------------------------------------------
    def settle(self) -> None:
        """Deferred steps (kills, answers, releases) in shuffled order, ``wait``, the
        checks that need ended jobs, then every job's announcement."""
        deferred = self.log.deferred
        self.rng.shuffle(deferred)
        for label, action in deferred:
            self.case = label
            action()
        self.case = "wait"
        self.feed("wait")
        for label, action in self.log.after:
            self.case = label
            action()
        self.case = "announcements"
        self.check_ends()

    def check_ends(self) -> None:
        """Every job ended, was announced once, and as expected (plain jobs: Done)."""
        self.feed("")  # announcements of what ended during the checks above
        unannounced = 0
        for num, job in list(self.shell.jobs.all.items()):
            self.jobs_started[job.kind] += 1
            if not job.state.finished:
                self.problem(f"job {num}", f"still {job.state.value} after wait: {announcement(job)}")
                continue
            lines = self.log.announced.get(num, [])
            if len(lines) > 1:
                self.problem(f"job {num}", f"announced {len(lines)} times: {lines!r}")
            if not lines:
                unannounced += 1
            line = lines[0] if lines else announcement(job)
            want = self.log.expected.get(num, Expected("Done"))
            match = END_LINE.match(line)
            state = match.group(2) if match else "?"
            if state != want.state or (want.pattern is not None and not re.search(want.pattern, line)):
                self.problem(f"job {num}", f"expected {want.state} {want.pattern or ''}; announced {line!r}")
        if unannounced > self.log.summarised:
            self.problem("announcements", f"{unannounced} jobs ended without an announcement "
                                          f"({self.log.summarised} summarised in '... more jobs ended')")

    def flush(self) -> int:
        """``flush`` (again if it first reports jobs); the jobs the manager still holds."""
        self.case = "flush"
        self.feed("flush", out=r"^(Flushing \d+|No jobs to flush|Not flushed: the jobs above)")
        if self.shell.jobs.all:
            self.feed("flush")
        held = list(self.shell.jobs.all.values())
        if held:
            self.problem("flush", f"the manager still holds {len(held)} jobs: "
                                  f"{[announcement(job) for job in held[:3]]!r}")
            self.shell.stop_jobs()
            for job in held:
                self.shell.jobs.remove(job.num)
        self.log = WaveLog()
        return len(held)


# ----------------------------------------------------------------------------- the cases
# Each case starts its jobs, registers how they must end (``start(..., state, pattern)``)
# and defers what ends them (``later``) or checks them once ended (``after_wait``).


def case_thread_jobs(s: Session) -> None:
    """Plain thread jobs among the hostile ones: trivial, printing, failing."""
    for i in range(s.rng.randint(20, 30)):
        r = s.rng.random()
        if r < 0.6:
            s.start(f"{i} * 2 &")
        elif r < 0.8:
            s.start(f"print('x' * 200, {i}) &", "Done", r"\(output: 1 line; see output \d+\)$")
        elif r < 0.95:
            s.start("1 / 0 &", "Dead", r"ZeroDivisionError: division by zero$")
        else:
            s.start(f"(lambda big: big[{i}] / 0)(bytearray(100_000)) &", "Dead", r"ZeroDivisionError")


def case_thread_kills(s: Session) -> None:
    """A thread job spinning in Python, one in time.sleep (a C call), one in a subprocess:
    all killed, the subprocess with them."""
    spin = s.start("spin() &", "Killed")
    # In time.sleep (a C call) nearly all the time: the kill lands when a call returns.
    sleeper = s.start("while True: time.sleep(0.05) &", "Killed")
    sub = s.start("subprocess.run(['sleep', '30']) &", "Killed")
    job = s.shell.jobs.get(sub)
    s.until(f"job {sub} has its subprocess", lambda: job is not None and job.has_processes)
    for num in (spin, sleeper, sub):
        s.later("thread-kills", lambda num=num: s.feed(f"kill {num}"))


def case_process_jobs(s: Session) -> None:
    """Process jobs: a value, a function sent by value, a failure whose exception needs
    arguments, a value that cannot be pickled, input() (end of file) and a kill."""
    pid = s.start("os.getpid() &:process", "Done")
    s.start("r7 = seven() &:process", "Done")
    s.start("raise_needy() &:process", "Dead", r"NeedyError: needs-1-2$")
    s.start("Poison() &:process", "Dead", r"could not be sent back")
    s.start("input('p? ') &:process", "Dead", r"EOFError")
    spin = s.start("spin() &:process", "Killed")
    s.running(spin)
    s.later("process-kill", lambda: s.feed(f"kill {spin}"))
    s.after_wait("process-value", lambda: s.feed("r7", out=r"\A7\n\Z"))

    def check_pid() -> None:
        s.feed(f"result {pid}", out=r"\A\d+\n\Z")
        s.feed(f"jobs[{pid}].result != os.getpid()", out=r"\ATrue\n\Z")

    s.after_wait("process-pid", check_pid)


def case_coroutines(s: Session) -> None:
    """Coroutine jobs that end, fail with SystemExit/KeyboardInterrupt/GeneratorExit,
    stop the loop or unset it; then a top-level await on the same loop."""
    s.start("await asyncio.sleep(0.01) &", "Done")
    slept = s.start("asyncio.sleep(0.02, 'slept') &", "Done")
    s.start("bye() &", "Dead", r"  SystemExit: 3$")
    s.start("interrupted() &", "Dead", r"  KeyboardInterrupt$")
    s.start("gen_exit() &", "Dead", r"  GeneratorExit$")
    s.start("stopper() &", "Done")
    s.start("unset_loop() &", "Done")
    s.after_wait("coroutine-result", lambda: s.feed(f"result {slept}", out=r"\A'slept'\n\Z"))
    s.after_wait("await-after", lambda: s.feed("await ok()", out=r"\A'ok-async'\n\Z"))


def case_busy_coroutine(s: Session) -> None:
    """A coroutine that never awaits, killed at once (before it counts as holding the
    loop), then an await on the loop."""
    s.feed("busy_started.clear()")
    num = s.start("busy(busy_started) &", "Killed")
    s.feed("_ = busy_started.wait(5)")
    s.feed(f"kill {num}")
    s.feed("await ok()", out=r"\A'ok-async'\n\Z")


def case_loop_held(s: Session) -> None:
    """A coroutine holding the loop in time.sleep past the shell's 1 s bound, and one
    killed while it sleeps: new coroutines must still run."""
    held = s.start("blocker(1.3) &", "Done")
    time.sleep(1.1)
    s.start("ok() &", "Done")
    s.feed(f"wait {held}")
    killed = s.start("blocker(0.3) &", "Killed")
    s.feed(f"kill {killed}")
    s.start("ok() &", "Done")


def case_input(s: Session) -> None:
    """Jobs waiting for input (input, getpass, breakpoint, sys.stdin.readline): some
    answered through ``jobs[N].input.feed``, others killed while they wait."""
    w = s.wave_no
    answered = s.start("answer = input('q? ') &", "Done")
    secret = s.start("pw = getpass.getpass() &", "Done")
    debugged = s.start("bp() &", "Done")
    reader = s.start("sys.stdin.readline() &", "Killed")
    stopped = s.start("bp() &", "Killed")
    for num in (answered, secret, debugged, reader, stopped):
        s.waiting_for_input(num)
    s.feed("")  # the prompt after them: the shell says they wait
    for num, line in ((answered, f"yes-{w}"), (secret, f"pw-{w}"), (debugged, "c")):
        s.later("input-answer", lambda num=num, line=line: s.feed(f"jobs[{num}].input.feed({line + chr(10)!r})"))
    for num in (reader, stopped):
        s.later("input-kill", lambda num=num: s.feed(f"kill {num}"))

    def check() -> None:
        missing = {answered, secret, debugged, reader, stopped} - s.log.waiting
        if missing:
            s.problem("input", f"no 'Waiting for input' line for jobs {sorted(missing)}")
        s.feed("answer", out=rf"\A'yes-{w}'\n\Z")
        s.feed("pw", out=rf"\A'pw-{w}'\n\Z")
        s.feed(f"result {debugged}", out=r"\A'bp-done'\n\Z")

    s.after_wait("input-check", check)


def case_redirect(s: Session) -> None:
    """A job holding contextlib.redirect_stdout while the foreground prints."""
    s.feed("entered, release = threading.Event(), threading.Event()")
    s.start("held = hold_redirect(entered, release) &", "Done")
    s.feed("_ = entered.wait(5)")
    s.feed("print('fg-' + 'visible')", out=r"\Afg-visible\n\Z")
    s.check_42()
    s.later("redirect-release", lambda: s.feed("release.set()"))
    s.after_wait("redirect-check", lambda: s.feed("held", out=r"\A'into the redirect\\n'\n\Z"))


def case_streams(s: Session) -> None:
    """Jobs replacing, closing or hooking sys.stdout, stderr, stdin, displayhook and
    excepthook; afterwards the foreground still prints, shows values and errors."""
    nums = [s.start(text, "Done") for text in (
        "sys.stdout = None &", "sys.stdout.close() &", "sys.stderr = open(os.devnull, 'w') &",
        "sys.stdin = io.StringIO('') &", "sys.stdin.close() &", "sys.displayhook = lambda value: None &",
        "sys.excepthook = lambda *args: None &")]
    s.feed("wait " + " ".join(map(str, nums)))
    s.check_42()
    s.feed("1/0", err=r"^ZeroDivisionError: division by zero$")
    s.feed("print('fg-' + 'print')", out=r"\Afg-print\n\Z")


def case_signals_and_environ(s: Session) -> None:
    """A job setting a signal handler (main thread only) and one changing os.environ,
    which a process job started afterwards must see."""
    w = s.wave_no
    s.start("signal.signal(signal.SIGUSR1, signal.SIG_IGN) &", "Dead",
            r"ValueError: signal only works in main thread")
    setter = s.start(f"os.environ['BGSOAK'] = 'w{w}' &", "Done")
    s.feed(f"wait {setter}")
    seen = s.start("os.environ.get('BGSOAK') &:process", "Done")
    s.after_wait("environ-check", lambda: s.feed(f"result {seen}", out=rf"\A'w{w}'\n\Z"))
    s.after_wait("environ-clean", lambda: s.feed("_ = os.environ.pop('BGSOAK', None)"))


def case_hostile_results(s: Session) -> None:
    """Values whose repr/str/len/del raise SystemExit, job labels that raise or carry
    escape sequences (escaped in every line the shell prints)."""
    poison = s.start("Poison() &", "Done")
    sneaky = s.start("SneakyRepr() &", "Done")
    s.start("DelBomb() &", "Done")
    s.delbombs += 1
    s.feed("j = jobs.new(ExitStrCallable())")
    s.expect(s.shell.jobs.newest.num, "Done", r"<ExitStrCallable object>")
    s.feed("j = jobs.new(TitleLabel())")
    s.expect(s.shell.jobs.newest.num, "Done", r"\\x1b\]0;pwned-title")
    s.feed("del j")
    s.after_wait("hostile-result", lambda: s.feed(
        f"result {poison}", out=r"\A<repr\(\) of Poison object failed: SystemExit: 3>\n\Z"))
    s.after_wait("hostile-sneaky", lambda: s.feed(
        f"result {sneaky}", out=r"\A(sneaky|<repr\(\) of SneakyRepr object failed.*)\n\Z"))
    listed = s.shell.jobs.newest.num - 1  # the ExitStrCallable job; plain `jobs` shows the newest 40 only
    s.after_wait("hostile-listing", lambda: s.feed(f"jobs {listed}", out=r"<ExitStrCallable object>", listing=True))
    s.after_wait("hostile-clear", lambda: s.feed("_ = None"))


def case_hostile_exceptions(s: Session) -> None:
    """Exceptions without a type name, with a hostile str, whose str/repr raise
    SystemExit or KeyboardInterrupt, or with escape sequences in the message."""
    s.start("raise_(Nameless('anon')) &", "Dead")
    s.start("raise_(SliceBomb()) &", "Dead")
    exiting = s.start("raise_(ExitStrError()) &", "Dead", r"ExitStrError")
    s.start("raise_(InterruptStrError()) &", "Dead", r"InterruptStrError")
    s.start("raise_(ValueError('\\x1b]0;pwned\\x07')) &", "Dead", r"ValueError: \\x1b\]0;pwned\\x07")
    s.after_wait("hostile-traceback", lambda: s.feed(f"traceback {exiting}", err=r"ExitStrError"))


def case_manager(s: Session) -> None:
    """Jobs using the shell's own manager: status, a kill of itself, starting a job,
    waiting for all the others."""
    s.start("jobs.status() &", "Done")
    # Its own number, written in: by the time it runs, jobs.newest may be a later job.
    s.start(f"jobs.kill({s.shell.jobs._next_num}); spin() &", "Killed")
    s.start("jobs.new(seven).num &", "Done")
    s.start("jobs.wait() &", "Done")


def case_builtins(s: Session) -> None:
    """The builtins on running and ended jobs, and misused."""
    spin = s.start("spin() &", "Killed")
    printer = s.start("print('to-' + 'output') &", "Done")
    s.feed(f"result {spin}", err=rf"^result: job {spin} is still running")
    s.feed("jobs -l", out=rf"^\[{spin}\]\s+Running", listing=True)
    s.feed("kill 999999", err=r"^kill: no such job 999999$")
    s.feed(f"wait {printer}")
    s.feed(f"output {printer}", out=r"\Ato-output\n\Z")
    s.feed(f"remove {printer}")
    s.feed(f"kill {spin}")
    s.feed(f"wait {spin}", err=rf"^wait: job {spin} did not complete \(Killed\)$")  # bash's status
    s.feed(f"kill {spin}", err=rf"^kill: job {spin} has already ended")


CASES: dict[str, Callable[[Session], None]] = {
    "thread-kills": case_thread_kills,
    "process-jobs": case_process_jobs,
    "coroutines": case_coroutines,
    "busy-coroutine": case_busy_coroutine,
    "loop-held": case_loop_held,
    "input": case_input,
    "redirect": case_redirect,
    "streams": case_streams,
    "signals-environ": case_signals_and_environ,
    "hostile-results": case_hostile_results,
    "hostile-exceptions": case_hostile_exceptions,
    "manager": case_manager,
    "builtins": case_builtins,
}
#: Cases that run only every Nth wave (the first wave always runs them): each costs a
#: second and more of wall time.
EVERY = {"loop-held": 4}


def between_waves(s: Session) -> None:
    """The foreground between two waves: jobs lower the recursion limit, set the switch
    interval and clear os.environ (each put back afterwards), and the prompt still
    shows values, keeps its variables and starts process jobs."""
    s.case = "between-waves"
    s.check_42()
    s.feed("earlier", out=r"\A'kept-earlier'\n\Z")
    s.feed(f"wait {s.start('sys.setrecursionlimit(60) &', 'Done')}")
    s.check_42()
    s.start("r7 = seven() &:process", "Done")  # pickled with the limit lowered
    s.feed("wait")
    s.feed("r7", out=r"\A7\n\Z")
    s.feed("sys.setrecursionlimit(1000)")
    s.feed(f"wait {s.start('sys.setswitchinterval(0.002) &', 'Done')}")
    s.feed("sys.getswitchinterval()", out=r"\A0\.002\n\Z")
    s.feed("sys.setswitchinterval(0.005)")
    s.feed("saved_environ = dict(os.environ)")
    s.feed(f"wait {s.start('os.environ.clear() &', 'Done')}")
    s.start("r42 = 6*7 &:process", "Done")
    s.feed("wait")
    s.feed("r42", out=r"\A42\n\Z")
    s.feed("os.environ.update(saved_environ); del saved_environ, r7, r42")
    s.feed("jobs", out=r"^\[\d+\]", listing=True)
    s.check_ends()
    s.flush()
    s.feed("jobs", out=r"\ANo jobs\.\n\Z", listing=True)


def run_wave(s: Session, number: int, skip: set[str]) -> None:
    """One wave: every case once in shuffled order, plain thread jobs between them; the
    deferred steps, ``wait``, the checks, ``flush``; then the foreground's turn."""
    s.wave_no = number
    s.watchdog.wave_started = time.monotonic()
    names = [name for name in CASES
             if name not in skip and (number <= 1 or number % EVERY.get(name, 1) == 0)]
    s.rng.shuffle(names)
    try:
        for name in names:
            s.case = name
            CASES[name](s)
            s.case = "thread-jobs"
            case_thread_jobs(s)
        s.settle()
        s.flush()
        between_waves(s)
    except Hung:
        recover(s)


def recover(s: Session) -> None:
    """After an interrupted hang: stop every job, forget them, go on (the hang is
    reported; after MAX_HANGS the run stops)."""
    s.watchdog.hangs[-1].recovered = True
    s.case = "recovery"
    try:
        s._run("stop_jobs after a hang", s.shell.stop_jobs, True)
        for job in list(s.shell.jobs.all.values()):
            s.shell.jobs.remove(job.num)
    except Hung:
        s.watchdog.hangs[-1].recovered = False
    s.log = WaveLog()
    sys.stdout, sys.stderr = s.out, s.err  # in case the hang left them elsewhere


# ----------------------------------------------------------------------------- figures


class ShellReading(Reading):
    """A ``Reading`` plus what explains a thread count: the pool's idle workers (they
    exit after 30 s idle) and asyncio loop threads (one per loop the shell started)."""

    def __init__(self, label: str, shell: Shell) -> None:
        super().__init__(label)
        self.idle = shell.jobs.runners.get("thread").idle_workers
        self.loops = sum(thread.name == "bgshell-asyncio" for thread in threading.enumerate())

    @property
    def busy_threads(self) -> int:
        """OS threads that are not idle pool workers."""
        return self.os_threads - self.idle


def row(label: str, r: ShellReading) -> list[str]:
    return [label, mb(r.rss).strip(), mb(r.rss_untrimmed).strip(), f"{r.blocks:,}", str(r.os_threads),
            str(r.idle), str(r.loops), str(r.fds), f"{r.children}/{r.zombies}Z"]


def print_table(before: ShellReading, base: ShellReading, rows: list[ShellReading], peak: Counter) -> None:
    shown = [row("before the shell", before), row("baseline", base)]
    for number, reading in enumerate(rows, 1):
        if number <= 3 or number % 5 == 0 or number == len(rows):
            shown.append(row(f"after wave {number}", reading))
    shown.append(["peak (sampled)", mb(max(peak["rss"], status_kb("VmHWM") * 1024)).strip() + " HWM", "", "",
                  str(peak["os_threads"]), "", "", str(peak["fds"]), str(peak["children"])])
    table(["", "VmRSS", "no trim", "blocks", "threads", "idle", "loops", "fds", "children"], shown)
    say("  (threads: OS threads; idle: the thread pool's idle workers among them; loops: asyncio loop"
        " threads; blocks: sys.getallocatedblocks(); children: alive/zombies)")


def print_problems(problems: list[Problem], hangs: list[Hang]) -> None:
    """Problems grouped by case and message (numbers folded), the first input of each."""
    for hang in hangs:
        say(f"HANG in wave {hang.wave}, case {hang.case}: {hang.text[:100]!r} ran {hang.seconds:.0f}s "
            f"({'interrupted, run went on' if hang.recovered else 'could not be interrupted'}); stacks:")
        say("    " + hang.stacks.replace("\n", "\n    "))
    groups: dict[tuple[str, str], list[Problem]] = {}
    for problem in problems:
        groups.setdefault((problem.case, re.sub(r"\d+", "N", problem.what)[:160]), []).append(problem)
    if not groups:
        say("problems: none")
        return
    say(f"problems: {len(problems)} in {len(groups)} kinds")
    for (case, _), found in list(groups.items())[:30]:
        first = found[0]
        say(f"  {len(found):>4}x  [{case}, first in wave {first.wave}] input {first.text[:70]!r}:")
        say(f"         {first.what[:400]}")


def print_stray(text: str) -> None:
    """What reached file descriptors 1 and 2 directly, bypassing the shell's streams."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        say("written to fds 1/2 directly (not through sys.stdout/sys.stderr): nothing")
        return
    distinct = Counter(re.sub(r"\d+", "N", line)[:150] for line in lines)
    say(f"written to fds 1/2 directly (not through sys.stdout/sys.stderr): {len(lines)} lines, e.g.")
    for line, count in distinct.most_common(6):
        say(f"  {count:>4}x  {line}")


def verdict(s: Session, base: ShellReading, end: ShellReading) -> list[tuple[bool, str]]:
    """The PASS/FAIL lines."""
    wrong_42 = sum(problem.text == "6*7" for problem in s.problems)
    flush_failures = sum(problem.case == "flush" and "still holds" in problem.what for problem in s.problems)
    finalized = s.shell.namespace["finalized"][0]
    others = len(s.problems) - wrong_42 - flush_failures
    return [
        (not s.watchdog.hangs, f"no hang (each input within {INPUT_LIMIT:g}s, each wave within {WAVE_LIMIT:g}s)"),
        (flush_failures == 0, "after every wave's wait and flush the manager held no job"),
        (wrong_42 == 0, f"6*7 printed 42 every time ({s.fortytwos - wrong_42} of {s.fortytwos})"),
        (others == 0, f"every input printed what it should and nothing unexpected on stderr; every job's end "
                      f"announced once, as expected ({others} problems)"),
        (end.rss <= base.rss + RSS_ALLOWANCE,
         f"VmRSS at the end within +{RSS_ALLOWANCE // MB} MB of the baseline ({(end.rss - base.rss) / MB:+.1f} MB)"),
        (end.busy_threads <= base.busy_threads + 2,
         f"no thread leak: OS threads besides idle pool workers {base.busy_threads} -> {end.busy_threads} "
         f"(asyncio loop threads {base.loops} -> {end.loops})"),
        (end.fds <= base.fds + 2, f"no fd leak: open fds {base.fds} -> {end.fds}"),
        (end.children <= base.children and end.zombies == 0,
         f"no process leak: children {base.children} -> {end.children}, zombies {end.zombies}"),
        (finalized == s.delbombs, f"flush freed every hostile result (DelBomb finalizers run: {finalized} of {s.delbombs})"),
    ]


def parse_options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="about 30 s of waves instead of 2 minutes")
    parser.add_argument("--seconds", type=float, help="how long to run waves (default 120, --quick 30)")
    parser.add_argument("--seed", type=int, default=11, help="the order of cases and jobs (default 11)")
    parser.add_argument("--without", default="", help=f"cases to leave out, comma-separated: {', '.join(CASES)}")
    options = parser.parse_args()
    options.skip = {name.strip() for name in options.without.split(",") if name.strip()}
    unknown = options.skip - set(CASES)
    if unknown:
        parser.error(f"no such case: {', '.join(sorted(unknown))} (cases: {', '.join(CASES)})")
    if options.seconds is None:
        options.seconds = 30.0 if options.quick else 120.0
    return options


def run(s: Session, options: argparse.Namespace) -> tuple[ShellReading, list[ShellReading], float]:
    """The warm-up wave, the baseline, then waves until the time is up; the readings."""
    run_wave(s, 0, options.skip)  # warm-up: imports, pool, fork server, asyncio loop, caches
    base = ShellReading("baseline", s.shell)
    rows: list[ShellReading] = []
    started = time.monotonic()
    while time.monotonic() - started < options.seconds and len(s.watchdog.hangs) < MAX_HANGS:
        run_wave(s, len(rows) + 1, options.skip)
        s.sources += drop_input_sources()
        rows.append(ShellReading(f"after wave {len(rows) + 1}", s.shell))
    seconds = time.monotonic() - started
    # A loop a coroutine held was replaced; it ends once its last task has (the held
    # one sleeps a while): the final reading waits for that, as a user would not notice.
    deadline = time.monotonic() + LOOP_RETIRE_LIMIT
    while ShellReading("", s.shell).loops > base.loops and time.monotonic() < deadline:
        time.sleep(0.1)
    rows.append(ShellReading("settled", s.shell))
    return base, rows, seconds


#: How long the final reading waits for replaced asyncio loops to end (seconds).
LOOP_RETIRE_LIMIT = 10.0


def drop_input_sources() -> int:
    """Forget the source of the inputs run so far (``<python-input-N>`` in linecache),
    as a user's session never holds tens of thousands; how many were dropped.  bgshell
    keeps them on purpose, as python3.13 does, for tracebacks and ``inspect``: they
    would otherwise hide a leak in the memory check (about 400 bytes an input)."""
    names = [name for name in list(linecache.cache) if name.startswith("<python-input-")]
    for name in names:
        linecache.cache.pop(name, None)
    return len(names)


def finish(s: Session, stray: StrayOutput) -> str:
    """Stop what the session runs, hand the streams back; what reached fds 1 and 2."""
    s.case = "the end"
    s._run("stop_jobs at the end", s.shell.stop_jobs, True)
    s.watchdog.stop()
    sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
    jobinput.serve_terminal(False)
    return stray.restore()


def main() -> int:
    global REPORT
    options = parse_options()
    REPORT = os.fdopen(os.dup(1), "w")
    say(f"bgshell hostile soak: Python {platform.python_version()} on {platform.machine()}, "
        f"{os.cpu_count()} CPUs, pid {os.getpid()}, load {os.getloadavg()[0]:.2f}")
    say(f"waves for {options.seconds:g} s after a warm-up wave; seed {options.seed}; cases: "
        f"{', '.join(name for name in CASES if name not in options.skip)}")
    say(f"malloc_trim(0) via ctypes: {'used before every reading' if MALLOC_TRIM else 'not available'}")
    stray = StrayOutput()
    before_shell = Reading("before the shell")
    s = Session(random.Random(options.seed))
    before = ShellReading("before the shell", s.shell)
    before.__dict__.update({k: v for k, v in before_shell.__dict__.items() if k != "label"})
    s.report_so_far = lambda: print_problems(s.problems, s.watchdog.hangs)
    cpu = time.process_time()
    base, rows, seconds = run(s, options)
    end = rows[-1] if rows else ShellReading("end", s.shell)
    direct = finish(s, stray)

    say(f"\n{len(rows)} waves in {seconds:.0f} s ({time.process_time() - cpu:.0f} s CPU in this process): "
        f"{s.inputs:,} inputs, jobs {', '.join(f'{n:,} {kind}' for kind, n in s.jobs_started.most_common())}; "
        f"stdout {s.out.lines:,} lines, stderr {s.err.lines:,} lines")
    print_table(before, base, rows, s.watchdog.peak)
    if len(rows) > 1:
        per_wave = (end.rss - rows[0].rss) / (len(rows) - 1)
        say(f"after-wave VmRSS, wave 1 -> {len(rows)}: {mb(rows[0].rss).strip()} -> {mb(end.rss).strip()} "
            f"({per_wave / 1024:+.1f} kB per wave); blocks {end.blocks - rows[0].blocks:+,} "
            f"({(end.blocks - rows[0].blocks) / (len(rows) - 1):+,.0f} per wave)")
        say(f"(the source of every input, which bgshell keeps for tracebacks as python3.13 does, "
            f"was dropped after each wave: {s.sources:,} inputs)")
    print_stray(direct)
    print_problems(s.problems, s.watchdog.hangs)
    checks = verdict(s, base, end)
    say()
    for ok, what in checks:
        say(f"  [{'PASS' if ok else 'FAIL'}] {what}")
    return 0 if all(ok for ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
