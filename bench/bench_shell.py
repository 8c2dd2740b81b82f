#!/usr/bin/env python3
"""Benchmark bgshell at a real terminal, side by side with ``python3 -i``,
``python3.13 -i`` and IPython.

    python bench/bench_shell.py [--quick] [--only SECTION[,SECTION]]

``--quick`` takes fewer samples; ``--only`` runs some sections alone (start,
imports, trip, keys, first, ctrlz, paste: sections 1, 1b, 2 ... 6), for working on one.

Every shell runs in a pseudo-terminal (pexpect spawns it; this script then reads the
pty itself with ``select``/``os.read`` so the times are not blurred by pexpect's
polling; every read has a deadline, and every shell is killed at the end), 40x120,
with ``PROMPT_TOOLKIT_NO_CPR=1``, ``TERM=xterm``, no ``PYTHONSTARTUP`` and a private
temporary HOME / XDG / IPYTHONDIR / PYTHON_HISTORY, so no user history or
configuration is read.  ``python3 -i`` is this very interpreter (``sys.executable``);
``python3.13 -i`` is CPython 3.13's own REPL (pyrepl, a line editor written in Python
like bgshell's: the fairer reference), taken from ``/root/.pyenv/versions/3.13*`` or
the PATH and skipped when there is none; IPython is ``sys.executable -m IPython
--no-banner --colors=NoColor`` and ptpython ``sys.executable -m ptpython``, each
skipped (with a line saying so) when not installed.  Output is matched after
stripping ANSI escapes (prompt_toolkit puts escapes between tokens and draws a
prompt's trailing space as a cursor move; python3.13 colours its prompt).

Besides the shells, a "bare PromptSession" (a ten-line prompt_toolkit loop
with no lexer, history or completion) runs in sections 1, 2 and 4: the floor any
prompt_toolkit shell stands on, so the part bgshell itself adds can be read off.
Bytecode is cached in a private ``PYTHONPYCACHEPREFIX`` (``PYTHONDONTWRITEBYTECODE``
is dropped for the children) so that every program starts from cached bytecode as an
installed one would, and nothing is written into the work tree.  The 1-minute load
average is printed: on a busy machine every figure is inflated.  A section in which
a program does not answer in time fails alone: the last 2000 characters it wrote
are printed, and the other sections go on.

Sections:

1. start to first prompt: from just before the spawn to the read that brings the
   prompt; median of N starts per shell (one unmeasured warm-up start each first),
   the order of the shells alternated between rounds; ``bgshell --no-color`` as
   well, which shows what highlighting costs; ratios against python3 -i and
   python3.13 -i.  Then ``python -X importtime -m bgshell`` (1b) is started in a pty
   the same way, its stderr going to a file that is read the moment the prompt
   shows: the imports a real interactive start pays for, by package, by entry point,
   the ones a bare PromptSession does not make, and by bgshell module;
2. round trip: after the prompt, from writing ``6*7\\r`` to the read that brings
   ``42`` and the next prompt (and, apart, to the read that brings ``42``); then the
   same with the Enter alone timed (``6*7`` typed and echoed first), which is what a
   user who types the line waits for; the shells take turns, one round trip each;
   ratios against python3 -i and python3.13 -i.  One more program runs here, the
   "prompt_toolkit key floor": a PromptSession whose Enter binding writes the answer
   and the next prompt straight to the terminal from the key handler, with no render
   and no exit -- the least any prompt_toolkit shell can take, so a goal below it is
   out of reach for all of them;
3. keystroke to echo at the bgshell prompt: one letter written, time to the read
   that brings it back; with no jobs, with two CPU-bound thread jobs
   (``while True: pass &``), the same after ``sys.setswitchinterval(0.0005)`` typed
   at the prompt, and with two CPU-bound process jobs (``... &:process``).  Each
   line gets distinct letters, then Ctrl-C clears it; a random 10-40 ms pause
   between keys keeps the samples out of step with the GIL's switch interval.  The
   CPU the shell and its children burned during each phase is shown, as proof that
   the jobs really ran.  The jobs are killed with ``kill N M`` afterwards (and
   whether their end was announced without further input is reported).  The p95
   with two thread jobs over the p95 with none is the figure with a goal: the slow
   keys are the ones a user feels;
4. first answer: ``6*7\\r`` written right after the spawn, before any prompt shows,
   to the read that brings ``42`` -- what someone who types at once waits for, the
   early prompt and the line editor's loading included; median of N per shell, one
   warm-up each, order alternated; ratios against python3.13 -i and python3 -i;
5. Ctrl-Z at the bgshell prompt, once the line editor is up (it switches bracketed
   paste on): ``while True: pass`` (and the empty line that ends it) or ``import
   time; time.sleep(30)`` entered, left running 0.3 s, then Ctrl-Z; from the key
   to the read that brings the job's line ``[N] ...`` and the next prompt; then
   ``kill N``.  The loop's samples follow one another in one session; each sleep
   gets a fresh session after one unmeasured Ctrl-Z on the loop, because a killed
   thread inside a C call ends only when the call returns (what kill says then is
   printed);
6. 1 MB paste: 20,000 assignments (``x123 = 'aaa...'``, padded to 1 MB) and a last
   line printing a marker, pasted bracketed (``ESC[200~`` ... ``ESC[201~``) with Enter
   after it into a fresh bgshell and python3.13 -i, written as fast as the shell
   takes it while its output is read; from the first byte to the read that brings
   the marker's output and the next prompt (the pasted block runs statement by
   statement), given up after a time limit (reported as "over N").

At the end two tables: the goals against python3 -i, and the goals against
python3.13 -i and in absolute terms (round trip <= 1.0x, first answer <= 2x, echo p95
busy / idle <= 2x, paste <= 2 s, Ctrl-Z <= 100 ms), each met or not met.
"""

from __future__ import annotations

import argparse
import glob
import importlib.util
import os
import platform
import random
import re
import select
import shutil
import statistics
import sys
import tempfile
import termios
import time
from typing import Any, Callable

from report import load_text, ms, p95, print_ending, table  # bench/report.py (beside this script)

try:
    import pexpect
except ImportError:  # pragma: no cover - the benchmark needs it
    sys.exit("bench_shell.py needs pexpect (pip install pexpect)")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
perf = time.perf_counter

DIMENSIONS = (40, 120)
GOAL_START = 2.5  # bgshell / python3 -i, start to first prompt
GOAL_ROUND_TRIP = 1.3  # bgshell / python3 -i, 6*7 round trip
GOAL_313_ROUND_TRIP = 1.0  # bgshell / python3.13 -i, 6*7 round trip (whole line)
GOAL_FIRST_ANSWER = 2.0  # bgshell / python3.13 -i, spawn with '6*7' typed ahead to '42'
GOAL_ECHO_BUSY = 2.0  # key echo p95 beside two CPU-bound thread jobs / with none
GOAL_PASTE = 2.0  # seconds, a 1 MB bracketed paste shown and run
GOAL_CTRL_Z = 0.100  # seconds, Ctrl-Z on running bytecode to the job line and the prompt

# CSI, OSC, two-byte escapes, and bells / shift-in/out.
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"
    r"|\x1b[()][A-Za-z0-9]"
    r"|\x1b[=>78DEHMNOZc]"
    r"|[\x07\x0e\x0f]"
)
# An escape sequence cut off at the end of what has been read so far: left out, so
# that half of "\x1b[?25l" can never pass for a typed "l".
_INCOMPLETE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*|\][^\x07\x1b]*|[()])?$")


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", _INCOMPLETE.sub("", text))


class ShellEnded(Exception):
    """The program in the pty ended (or closed it) while we waited for output."""


class PtyTimeout(TimeoutError):
    """Awaited output did not come; *tail* is the last 2000 characters the program
    wrote (escapes included), printed when a section gives up, to show where it stood."""

    def __init__(self, message: str, tail: str) -> None:
        super().__init__(message)
        self.tail = tail


class PtyShell:
    """One interactive program in a pty, read directly from the pty's fd."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.raw = bytearray()
        self.bytes_read = 0  # in all, marks or not
        self.last_text = ""
        self.last_read = 0.0
        self.t_spawn = perf()
        self.proc = pexpect.spawn(argv[0], argv[1:], env=env, dimensions=DIMENSIONS)
        self.proc.delaybeforesend = 0
        self.fd = self.proc.child_fd

    @property
    def pid(self) -> int:
        return self.proc.pid

    def send(self, data: bytes) -> float:
        """Write *data*; return the clock reading just before the write."""
        t = perf()
        os.write(self.fd, data)
        return t

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], max(timeout, 0.0))
        if not ready:
            return False
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:  # EIO: the other side closed
            chunk = b""
        self.last_read = perf()
        if not chunk:
            raise ShellEnded(f"{self.name} ended; last output: {self.text()[-300:]!r}")
        self.raw += chunk
        self.bytes_read += len(chunk)
        return True

    def text(self, tail: int | None = None) -> str:
        """The output since the last ``mark``, escapes stripped; only its last *tail*
        bytes if given (a megabyte of echo is not stripped again after every read)."""
        raw = self.raw if tail is None else self.raw[-tail:]
        return strip_ansi(raw.decode("utf-8", "replace"))

    def timed_out(self, what: str, timeout: float) -> PtyTimeout:
        return PtyTimeout(
            f"{self.name}: no {what} within {timeout:g}s; got {self.text()[-300:]!r}",
            self.raw[-4000:].decode("utf-8", "replace")[-2000:],
        )

    def expect(self, pattern: re.Pattern[str], timeout: float = 15.0, tail: int | None = None) -> float:
        """Read until the stripped output (since the last ``mark``, or its last *tail*
        bytes) matches; return the time of the read that completed the match."""
        deadline = perf() + timeout
        if pattern.search(self.text(tail)):
            return self.last_read
        while True:
            left = deadline - perf()
            if left <= 0:
                raise self.timed_out(repr(pattern.pattern), timeout)
            if self._read(left) and pattern.search(self.text(tail)):
                return self.last_read

    def expect_raw(self, needle: bytes, timeout: float = 15.0) -> float:
        """Like ``expect``, for an exact byte string in the output as written (escapes
        included): ``EDITOR_UP`` is nothing but an escape."""
        deadline = perf() + timeout
        while needle not in self.raw:
            left = deadline - perf()
            if left <= 0:
                raise self.timed_out(repr(needle), timeout)
            self._read(left)
        return self.last_read

    def feed(self, data: bytes, deadline: float) -> int:
        """Write all of *data* as fast as the program takes it, reading its output in
        between (a pty holds a few kB each way: writing alone would block once the
        program's echo fills its side); return how many bytes were written, all of them
        unless *deadline* (a ``perf()`` reading) passed first."""
        view = memoryview(data)
        os.set_blocking(self.fd, False)
        try:
            while view and perf() < deadline:
                readable, writable, _ = select.select([self.fd], [self.fd], [], deadline - perf())
                if readable:
                    self._read(0)
                if writable:
                    try:
                        view = view[os.write(self.fd, view[:16384]):]
                    except BlockingIOError:
                        pass
        finally:
            os.set_blocking(self.fd, True)
        return len(data) - len(view)

    def running(self) -> bool:
        """Whether input runs now: the line editor gave the terminal back (ISIG on), so
        Ctrl-Z is a signal for the running code, not a key for the editor."""
        return bool(termios.tcgetattr(self.fd)[3] & termios.ISIG)

    def drain(self, quiet: float = 0.04, limit: float = 2.0) -> None:
        """Read until the program has been silent for *quiet* seconds, then forget it all."""
        end = perf() + limit
        while perf() < end and self._read(quiet):
            pass
        self.mark()

    def mark(self) -> None:
        """Forget what was read so far (kept as ``last_text`` for a last look)."""
        self.last_text = self.text()
        self.raw.clear()

    def close(self) -> None:
        """``exit()`` (all of them understand it), then force if it does not end.

        The write does not block: a program still chewing on a paste may have left
        no room in the pty for it."""
        try:
            self.drain(quiet=0.02, limit=0.5)
            os.set_blocking(self.fd, False)
            self.send(b"exit()\r")
            deadline = perf() + 3.0
            while perf() < deadline:
                self._read(deadline - perf())
        except (ShellEnded, OSError):  # BlockingIOError too
            pass
        if self.proc.isalive():
            self.proc.terminate(force=True)
        self.proc.close(force=True)


# -- what to run ------------------------------------------------------------------------
class Contender:
    def __init__(self, name: str, argv: list[str], prompt: str, answer: str) -> None:
        self.name = name
        self.argv = argv
        self.prompt = re.compile(prompt)
        self.answer = re.compile(answer)  # "42" and then the next prompt
        self.value = re.compile(r"(?<![\d*\[])42\b")  # "42" alone


def bgshell_argv() -> list[str]:
    script = os.path.join(os.path.dirname(sys.executable), "bgshell")
    if os.access(script, os.X_OK):
        return [script]
    return [sys.executable, "-m", "bgshell"]


# The floor for any prompt_toolkit shell: a bare PromptSession loop, no lexer, no
# history, no completion.  Not a contender with goals: it shows what bgshell's own
# code adds on top of prompt_toolkit.
BARE_PROMPT_TOOLKIT = """\
from prompt_toolkit import PromptSession
session = PromptSession()
namespace = {}
while True:
    text = session.prompt('>>> ')
    value = eval(text, namespace)
    if value is not None:
        print(repr(value))
"""


# The least any prompt_toolkit shell can do for a round trip: a PromptSession whose
# Enter binding evaluates the line and writes the answer and the next prompt straight to
# the terminal from inside the key handler -- no render of the finished line, no exit
# from the application, no new application for the next prompt.  Not a usable shell
# (the next keys draw over the answer): it measures prompt_toolkit's key dispatch alone,
# the part no shell on it can avoid.  Section 2 only.
KEY_FLOOR = "prompt_toolkit key floor"
KEY_FLOOR_SOURCE = """\
import os
from prompt_toolkit import PromptSession
from prompt_toolkit.key_binding import KeyBindings
bindings = KeyBindings()
namespace = {}
@bindings.add('enter')
def _(event):
    value = eval(event.current_buffer.text, namespace)
    os.write(1, ('\\r\\n' + repr(value) + '\\r\\n>>> \\r').encode())
    event.app.renderer.reset()
    event.current_buffer.reset()
PromptSession(key_bindings=bindings).prompt('>>> ')
"""


def key_floor() -> Contender:
    return Contender(KEY_FLOOR, [sys.executable, "-c", KEY_FLOOR_SOURCE], r">>>", r"42\s+>>>")


PY313 = "python3.13 -i"
BASE = "python3 -i"


def python313() -> str | None:
    """CPython 3.13, for its REPL (pyrepl): the first ``python3 -i`` whose line editor
    is written in Python, as bgshell's is."""
    found = sorted(glob.glob("/root/.pyenv/versions/3.13*/bin/python3.13"))
    return found[-1] if found else shutil.which("python3.13")


def contenders() -> tuple[list[Contender], list[str]]:
    """bgshell, the interpreters and shells beside it, and a line for each one skipped.
    bgshell comes first; the others are found by name (``BASE``, ``PY313``, ...)."""
    found = [
        Contender("bgshell", bgshell_argv(), r">>>", r"42\s+>>>"),
        Contender(BASE, [sys.executable, "-i"], r">>> ", r"42\s+>>> "),
        Contender("bare PromptSession", [sys.executable, "-c", BARE_PROMPT_TOOLKIT], r">>>", r"42\s+>>>"),
    ]
    notes = []
    py313 = python313()
    if py313:  # its prompt comes in colour escapes, stripped like prompt_toolkit's
        found.append(Contender(PY313, [py313, "-i"], r">>> ", r"42\s+>>> "))
    else:
        notes.append(f"{PY313}: no python3.13 found, skipped (its ratios and goals too)")
    if importlib.util.find_spec("IPython") is not None:
        found.append(
            Contender(
                "IPython",
                [sys.executable, "-m", "IPython", "--no-banner", "--colors=NoColor"],
                r"In \[\d+\]:",
                r"Out\[\d+\]:\s*42\s+In \[\d+\]:",
            )
        )
    else:
        notes.append("IPython: not installed, skipped")
    if importlib.util.find_spec("ptpython") is not None:
        found.append(Contender("ptpython", [sys.executable, "-m", "ptpython"], r">>>", r"42\s+>>>"))
    else:
        python = os.path.basename(sys.executable)
        notes.append(f"ptpython: not installed, skipped (it would run as {python} -m ptpython)")
    return found, notes


def make_env(home: str) -> dict[str, str]:
    env = dict(os.environ)
    for name in (
        "PYTHONSTARTUP", "PYTHONPROFILEIMPORTTIME", "PYTHONINSPECT", "NO_COLOR",
        "COLUMNS", "LINES", "PYTHONASYNCIODEBUG", "PYTHONDEVMODE", "PYTHONTRACEMALLOC",
        "PYTHONDONTWRITEBYTECODE", "PYTHON_BASIC_REPL", "PYTHON_COLORS", "FORCE_COLOR",
    ):
        env.pop(name, None)
    # Bytecode is cached, as for any installed program, but in a private directory:
    # nothing is written into the work tree or site-packages.  The warm-up starts fill it.
    env["PYTHONPYCACHEPREFIX"] = os.path.join(home, "pycache")
    for var, sub in (
        ("HOME", "home"), ("XDG_STATE_HOME", "state"), ("XDG_CONFIG_HOME", "config"),
        ("XDG_CACHE_HOME", "cache"), ("XDG_DATA_HOME", "data"), ("IPYTHONDIR", "ipython"),
    ):
        path = os.path.join(home, sub)
        os.makedirs(path, exist_ok=True)
        env[var] = path
    env["PYTHON_HISTORY"] = os.path.join(home, "state", "python_history")  # python3.13's REPL
    env["PROMPT_TOOLKIT_NO_CPR"] = "1"
    env["TERM"] = "xterm"
    if bgshell_argv()[0] == sys.executable:  # no installed script: run from the work tree
        env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH", "")) if p)
    return env


def start(contender: Contender, env: dict[str, str]) -> tuple[PtyShell, float]:
    """Spawn and wait for the first prompt; return the shell and seconds taken."""
    shell = PtyShell(contender.name, contender.argv, env)
    t = shell.expect(contender.prompt, timeout=30)
    return shell, t - shell.t_spawn


def until_editing(shell: PtyShell) -> float:
    """Right after the first prompt, type a key: seconds from the spawn to its echo.

    bgshell draws its first prompt before prompt_toolkit is loaded and echoes what
    was typed once it is; this is the time until the line editor really works.
    """
    shell.mark()
    shell.send(b"#")
    return shell.expect(re.compile("#"), timeout=30) - shell.t_spawn


# -- statistics and tables -----------------------------------------------------------------
def bases_in(times: dict[str, list[float]]) -> list[str]:
    """What ratios are given against: python3 -i, and python3.13 -i when it ran (the
    newest CPython's REPL, itself a line editor in Python: the fairer reference)."""
    return [name for name in (BASE, PY313) if times.get(name)]


def vs_headers(times: dict[str, list[float]]) -> list[str]:
    return [f"vs {name}" for name in bases_in(times)]


def vs_cells(times: dict[str, list[float]], value: float) -> list[str]:
    """*value* over the median of each reference in *times*, one cell each."""
    return [f"{value / statistics.median(times[name]):.2f}x" for name in bases_in(times)]


def met(value: float, goal: float) -> str:
    return "met" if value <= goal else "not met"


def verdict(ratio: float, goal: float) -> str:
    return f"{ratio:.2f}x  (goal <= {goal}x: {met(ratio, goal)})"


def print_floor(times: dict[str, list[float]], what: str) -> None:
    if "bare PromptSession" in times:
        floor = statistics.median(times["bare PromptSession"])
        extra = statistics.median(times["bgshell"]) - floor
        base = statistics.median(times[BASE])
        relation = f"adds {ms(extra)} ms to" if extra >= 0 else f"takes {ms(-extra)} ms less for"
        print(
            f"  bare PromptSession (a plain prompt_toolkit loop) / python3 -i: {floor / base:.2f}x; "
            f"bgshell {relation} the {what}"
        )
    if "bgshell --no-color" in times:
        lexer = statistics.median(times["bgshell"]) - statistics.median(times["bgshell --no-color"])
        print(f"  highlighting (bgshell against bgshell --no-color): {ms(lexer):>5} ms")


# -- 1. start to first prompt ------------------------------------------------------------
def bench_start(found: list[Contender], env: dict[str, str], runs: int) -> dict[str, list[float]]:
    print(f"\n1. Start to first prompt (median of {runs} starts, 1 unmeasured warm-up each, order alternated)")
    bg = found[0]
    # bgshell without its Python lexer and pygments style: what highlighting costs the start
    plain = Contender("bgshell --no-color", [*bg.argv, "--no-color"], bg.prompt.pattern, bg.answer.pattern)
    found = [found[0], plain, *found[1:]]
    times: dict[str, list[float]] = {c.name: [] for c in found}
    editing: dict[str, list[float]] = {c.name: [] for c in found}
    for contender in found:  # warm-up: page cache, __pycache__, IPython's profile dir
        shell, _ = start(contender, env)
        shell.close()
    for i in range(runs):
        order = found if i % 2 == 0 else found[::-1]
        for contender in order:
            shell, seconds = start(contender, env)
            times[contender.name].append(seconds)
            editing[contender.name].append(until_editing(shell))
            shell.close()
    base = statistics.median(times[BASE])
    rows = []
    for contender in found:
        values = times[contender.name]
        med = statistics.median(values)
        key = statistics.median(editing[contender.name])
        rows.append([contender.name, ms(med), ms(min(values)), ms(max(values)), *vs_cells(times, med),
                     ms(key), *vs_cells(editing, key)])
    table(["shell", "median ms", "min ms", "max ms", *vs_headers(times), "key echoed ms", *vs_headers(editing)],
          rows)
    print("  (key echoed: a key typed as soon as the prompt shows, until it is echoed: when the line editor works)")
    ratio = statistics.median(times["bgshell"]) / base
    print(f"  bgshell / python3 -i: {verdict(ratio, GOAL_START)}")
    if PY313 in times:
        print(f"  bgshell / {PY313}: {statistics.median(times['bgshell']) / statistics.median(times[PY313]):.2f}x")
    print_floor(editing, "start (until typing works)")
    return times


# -- 1b. what bgshell's start imports -----------------------------------------------------------
class ImportNode:
    __slots__ = ("name", "self_us", "cum_us", "level", "parent", "children")

    def __init__(self, name: str, self_us: int, cum_us: int, level: int) -> None:
        self.name = name
        self.self_us = self_us
        self.cum_us = cum_us
        self.level = level
        self.parent: ImportNode | None = None
        self.children: list[ImportNode] = []


_IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)\s*$")


def parse_importtime(text: str) -> list[ImportNode]:
    """All imports in order; children come before their parent in the output."""
    nodes: list[ImportNode] = []
    pending: list[ImportNode] = []
    for line in text.splitlines():
        m = _IMPORT_LINE.match(line)
        if not m:
            continue
        node = ImportNode(m.group(4), int(m.group(1)), int(m.group(2)), len(m.group(3)) // 2)
        while pending and pending[-1].level > node.level:
            child = pending.pop()
            child.parent = node
            node.children.insert(0, child)
        pending.append(node)
        nodes.append(node)
    return nodes


def importtime_of_start(
    env: dict[str, str], runs: int, args: tuple[str, ...] = ("-m", "bgshell")
) -> list[list[ImportNode]]:
    """``python -X importtime ARGS`` in a pty, stderr to a file read at the first prompt."""
    results = []
    log_dir = tempfile.mkdtemp(prefix="bgshell-importtime-")
    run_env = dict(env)
    run_env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH", "")) if p)
    try:
        for i in range(runs):
            log = os.path.join(log_dir, f"run{i}.txt")
            script = 'log="$1"; shift; exec "$0" -X importtime "$@" 2>"$log"'
            argv = ["/bin/sh", "-c", script, sys.executable, log, *args]
            shell = PtyShell("python -X importtime " + " ".join(args), argv, run_env)
            try:
                shell.expect(re.compile(r">>>"), timeout=30)
                with open(log, encoding="utf-8", errors="replace") as handle:
                    results.append(parse_importtime(handle.read()))
            finally:
                shell.close()
    finally:
        shutil.rmtree(log_dir, ignore_errors=True)
    return results


DIRECT = "(direct)"


def _package(name: str) -> str:
    return name.split(".")[0]


def _importer(node: ImportNode) -> str:
    """The nearest ancestor outside *node*'s own top-level package."""
    pkg = _package(node.name)
    up = node.parent
    while up is not None and _package(up.name) == pkg:
        up = up.parent
    return up.name if up is not None else DIRECT


def report_imports(
    runs_nodes: list[list[ImportNode]], baseline: list[list[ImportNode]], bare: list[list[ImportNode]]
) -> None:
    if not runs_nodes:
        return
    n = len(runs_nodes)
    print(f"\n1b. Imports of bgshell's interactive start (python -X importtime -m bgshell, median of {n})")

    def median_by(key_of, value_of) -> dict[str, float]:
        per_run = []
        for nodes in runs_nodes:
            acc: dict[str, float] = {}
            for node in nodes:
                k = key_of(node)
                if k is not None:
                    acc[k] = acc.get(k, 0) + value_of(node)
            per_run.append(acc)
        keys = set().union(*per_run)
        return {k: statistics.median([r.get(k, 0) for r in per_run]) for k in keys}

    total = median_by(lambda node: "total" if node.level == 0 else None, lambda node: node.cum_us)["total"]
    base = statistics.median([sum(node.cum_us for node in nodes if node.level == 0) for nodes in baseline] or [0])
    print(
        f"  all imports before the first prompt: {total / 1000:.1f} ms, {len(runs_nodes[0])} modules "
        f"(python3 -i: {base / 1000:.1f} ms, {len(baseline[0]) if baseline else 0} modules)"
    )
    print("  (-X importtime inflates every import a little; compare the shares, not the sum with section 1;")
    print("   'imported by (direct)': at interpreter start or from inside a function, not by another import)")

    # a) which third-party/stdlib packages cost the most (own time of all their modules)
    by_package = median_by(lambda node: _package(node.name), lambda node: node.self_us)
    modules = median_by(lambda node: _package(node.name), lambda node: 1)
    first_importer: dict[str, str] = {}
    for node in runs_nodes[0]:  # an entry into a package: its parent is outside it
        if node.parent is None or _package(node.parent.name) != _package(node.name):
            first_importer.setdefault(_package(node.name), _importer(node))
    print("\n  Top 10 packages by own import time (all their modules summed):")
    rows = []
    for pkg, us in sorted(by_package.items(), key=lambda kv: -kv[1])[:10]:
        share = f"{100 * us / total:.0f}%"
        rows.append([pkg, f"{us / 1000:.1f}", share, str(int(modules[pkg])), first_importer.get(pkg, "?")])
    table(["package", "ms", "share", "modules", "first imported by"], rows)

    # b) the heaviest single imports, by cumulative time, that are not bgshell's own
    cum = median_by(
        lambda node: node.name if not node.name.startswith("bgshell") and (
            node.parent is None or _package(node.parent.name) != _package(node.name)) else None,
        lambda node: node.cum_us,
    )
    importer_of = {}
    for node in runs_nodes[0]:
        importer_of.setdefault(node.name, node.parent.name if node.parent else DIRECT)
    print("\n  Top 10 single imports by cumulative time (entry points into a package, bgshell's own left out):")
    rows = [
        [name, f"{us / 1000:.1f}", importer_of.get(name, "?")]
        for name, us in sorted(cum.items(), key=lambda kv: -kv[1])[:10]
    ]
    table(["import", "cum ms", "imported by"], rows)

    # c) what bgshell imports that a bare PromptSession does not: the part bgshell controls
    if bare:
        floor_names = {node.name for node in bare[0]}
        floor_total = sum(node.cum_us for node in bare[0] if node.level == 0)

        def extra_us(node: ImportNode) -> int:
            own = node.self_us if node.name not in floor_names else 0
            return own + sum(extra_us(child) for child in node.children)

        def is_extra_root(node: ImportNode) -> bool:
            if node.name in floor_names or node.name.startswith("bgshell"):
                return False
            up = node.parent
            return up is None or up.name in floor_names or up.name.startswith("bgshell")

        extra = median_by(lambda node: node.name if is_extra_root(node) else None, extra_us)
        all_extra = median_by(
            lambda node: "all" if node.name not in floor_names else None, lambda node: node.self_us
        ).get("all", 0)
        print(
            f"\n  Imports a bare PromptSession does not make ({floor_total / 1000:.1f} ms of imports there): "
            f"{all_extra / 1000:.1f} ms in all; the heaviest, outside bgshell's own modules:"
        )
        rows = [
            [name, f"{us / 1000:.1f}", importer_of.get(name, "?")]
            for name, us in sorted(extra.items(), key=lambda kv: -kv[1])[:10]
        ]
        table(["import", "extra ms", "imported by"], rows)

    # d) bgshell's own modules: what each costs, counting what it pulls in
    own = median_by(lambda node: node.name if node.name.startswith("bgshell") else None, lambda node: node.cum_us)
    own_self = median_by(lambda node: node.name if node.name.startswith("bgshell") else None, lambda node: node.self_us)
    print("\n  bgshell's modules (cumulative includes what each pulls in first):")
    rows = [
        [name, f"{own[name] / 1000:.1f}", f"{own_self[name] / 1000:.1f}", importer_of.get(name, "?")]
        for name in sorted(own, key=lambda k: -own[k])[:12]
    ]
    table(["module", "cum ms", "self ms", "imported by"], rows)


# -- 2. round trip -------------------------------------------------------------------------
def one_trip(shell: PtyShell, contender: Contender, enter_alone: bool) -> tuple[float, float]:
    """Time one ``6*7`` round trip; return (to '42' and the next prompt, to '42').

    Whole line: ``6*7\\r`` is written at once, as a paste would.  Enter alone: ``6*7``
    is typed first, and once it is echoed and the shell is quiet ``\\r`` is written
    and timed, which is what a user who types the line sees.
    """
    if enter_alone:
        shell.mark()
        shell.send(b"6*7")
        shell.expect(re.compile(r"6\*7"))
        shell.drain(quiet=0.03)
        data = b"\r"
    else:
        shell.mark()
        data = b"6*7\r"
    t0 = shell.send(data)
    t_value = shell.expect(contender.value, timeout=15)
    t_prompt = shell.expect(contender.answer, timeout=15)
    shell.drain(quiet=0.03)
    return t_prompt - t0, t_value - t0


def bench_round_trip(
    found: list[Contender], env: dict[str, str], count: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Section 2; returns the whole-line and the Enter-alone round trips by shell."""
    contenders_here = [*found, key_floor()]
    print(
        f"\n2. Round trip: '6*7' -> '42' and the next prompt (median of {count}, shells take turns);\n"
        "   'whole line' writes '6*7\\r' at once, 'Enter alone' types '6*7' first and times the '\\r'"
    )
    shells = {}
    results: dict[bool, tuple[dict[str, list[float]], dict[str, list[float]]]] = {
        mode: ({c.name: [] for c in contenders_here}, {c.name: [] for c in contenders_here})
        for mode in (False, True)
    }
    try:
        for contender in contenders_here:
            shells[contender.name], _ = start(contender, env)
            shells[contender.name].drain(quiet=0.2)
        for i in range(count):
            order = contenders_here if i % 2 == 0 else contenders_here[::-1]
            for enter_alone in (False, True):
                for contender in order:
                    total, to_value = one_trip(shells[contender.name], contender, enter_alone)
                    results[enter_alone][0][contender.name].append(total)
                    results[enter_alone][1][contender.name].append(to_value)
    finally:
        for shell in shells.values():
            shell.close()
    for enter_alone in (False, True):
        times, to_value = results[enter_alone]
        print(f"\n  {'Enter alone' if enter_alone else 'whole line'}:")
        base = statistics.median(times[BASE])
        rows = []
        for contender in contenders_here:
            values = times[contender.name]
            med = statistics.median(values)
            rows.append([
                contender.name, ms(values[0]), ms(med), ms(p95(values)), *vs_cells(times, med),
                ms(statistics.median(to_value[contender.name])),
            ])
        table(["shell", "first ms", "median ms", "p95 ms", *vs_headers(times), "of which to '42' ms"], rows)
        ratio = statistics.median(times["bgshell"]) / base
        print(f"  bgshell / python3 -i: {verdict(ratio, GOAL_ROUND_TRIP)}")
        if PY313 in times:
            ratio = statistics.median(times["bgshell"]) / statistics.median(times[PY313])
            print(f"  bgshell / {PY313}: {verdict(ratio, GOAL_313_ROUND_TRIP)}")
        print_floor(times, "round trip")
        floor = statistics.median(times[KEY_FLOOR]) / base
        print(
            f"  {KEY_FLOOR} / python3 -i: {floor:.2f}x: no prompt_toolkit shell can answer sooner"
            + (f"; the goal of {GOAL_ROUND_TRIP}x lies below it" if floor > GOAL_ROUND_TRIP else "")
        )
    return results[False][0], results[True][0]


# -- 3. keystroke to echo ------------------------------------------------------------------------
# No h/l/m: the final letters of common escapes; no s: the toolbar's running jobs' times
# ("3.1s") are redrawn each second, and their "s" would pass for an echo.
LETTERS = "abcdefgijknopqrtuvwxyz"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds_of_tree(pid: int) -> float:
    """CPU time (user+sys) of *pid* and its direct children, from /proc."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        # fields[0] is the state (field 3); ppid is field 4, utime/stime fields 14/15
        if int(entry) == pid or int(fields[1]) == pid:
            total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def keystrokes(shell: PtyShell, prompt: re.Pattern[str], samples: int) -> list[float]:
    latencies = []
    rng = random.Random(42)
    while len(latencies) < samples:
        for letter in LETTERS:
            if len(latencies) >= samples:
                break
            shell.mark()
            t0 = shell.send(letter.encode())
            t1 = shell.expect(re.compile(letter), timeout=10)
            latencies.append(t1 - t0)
            time.sleep(rng.uniform(0.010, 0.040))
        shell.drain(quiet=0.02)
        shell.send(b"\x03")  # Ctrl-C: clear the line
        shell.expect(prompt, timeout=10)
        shell.drain(quiet=0.03)
    return latencies


def type_line(shell: PtyShell, line: bytes) -> None:
    """Enter one line at the prompt and wait for the next prompt."""
    shell.mark()
    shell.send(line + b"\r")
    shell.expect(re.compile(r"\n.*>>>", re.S), timeout=15)
    shell.drain(quiet=0.05)


def start_jobs(shell: PtyShell, line: bytes, count: int, first_num: int) -> list[int]:
    """Type *line* *count* times; a compound statement needs the blank line that ends it.

    Only this job's own number counts as started: the toolbar below the prompt lists
    the jobs already running (``[1] while True: pass 3s``) and is redrawn with it."""
    nums = []
    for k in range(count):
        num = first_num + k
        started_or_more = re.compile(rf"\[{num}\] |\.\.\.")
        shell.mark()
        shell.send(line + b"\r")
        shell.expect(started_or_more, timeout=15)
        if not re.search(rf"\[{num}\] ", shell.text()):
            shell.drain(quiet=0.05)
            shell.send(b"\r")
        shell.expect(re.compile(rf"\[{num}\] [^\n]*\n.*>>>", re.S), timeout=15)
        shell.drain(quiet=0.05)
        nums.append(num)
    return nums


def kill_jobs(shell: PtyShell, nums: list[int]) -> bool:
    """``kill N M``, then make sure with ``jobs`` that they ended.

    Returns whether the end of every job was announced on its own (above the prompt,
    or before the next one) within 2 s of the kill, without typing anything else.
    """
    shell.mark()
    shell.send(b"kill " + " ".join(str(n) for n in nums).encode() + b"\r")
    killed = re.compile("".join(rf"(?=.*\[{n}\]\s+Killed)" for n in nums), re.S)
    try:
        shell.expect(killed, timeout=2.0)
        announced = True
    except TimeoutError:
        announced = False
    deadline = perf() + 15
    while True:
        shell.drain(quiet=0.05)
        shell.send(b"jobs\r")
        shell.expect(re.compile(r"jobs\s.*>>>", re.S), timeout=10)
        shell.drain(quiet=0.05)  # drain() forgets; look at what came first
        if killed.search(shell.last_text):
            return announced
        if perf() > deadline:
            raise shell.timed_out(f"end of jobs {nums} after kill (last jobs: {shell.last_text[-300:]!r})", 15)
        time.sleep(0.2)


IDLE = "no jobs"
BUSY = "2 CPU-bound thread jobs"


def bench_keystrokes(found: list[Contender], env: dict[str, str], samples: int) -> dict[str, list[float]]:
    print(f"\n3. Keystroke to echo at the bgshell prompt ({samples} keys per case)")
    bg = next(c for c in found if c.name == "bgshell")
    # (name, the job's line or None, typed before the jobs start, typed after they end)
    cases = [
        (IDLE, None, None, None),
        (BUSY, b"while True: pass &", None, None),
        (
            "2 thread jobs, switch interval 0.5 ms",
            b"while True: pass &",
            b"import sys as _s; _s.setswitchinterval(0.0005)",
            b"_s.setswitchinterval(0.005); del _s",
        ),
        ("2 CPU-bound process jobs", b"while True: pass &:process", None, None),
    ]
    results: dict[str, list[float]] = {}
    load: dict[str, float] = {}
    announced: dict[str, bool] = {}
    shell, _ = start(bg, env)
    next_num = 1
    try:
        shell.drain(quiet=0.2)
        for name, line, before, after in cases:
            nums: list[int] = []
            if before is not None:
                type_line(shell, before)
            if line is not None:
                nums = start_jobs(shell, line, 2, next_num)
                next_num += len(nums)
                time.sleep(0.5)  # let them get going (a process job's interpreter too)
                shell.drain(quiet=0.05)
            cpu0, wall0 = cpu_seconds_of_tree(shell.pid), perf()
            results[name] = keystrokes(shell, bg.prompt, samples)
            load[name] = (cpu_seconds_of_tree(shell.pid) - cpu0) / (perf() - wall0)
            if nums:
                announced[name] = kill_jobs(shell, nums)
            if after is not None:
                type_line(shell, after)
    finally:
        shell.close()
    rows = []
    for name, *_ in cases:
        values = results[name]
        rows.append(
            [name, ms(statistics.median(values)), ms(p95(values)), ms(max(values)), f"{100 * load[name]:.0f}%"]
        )
    table(["bgshell, while typing", "median ms", "p95 ms", "max ms", "CPU of shell+children"], rows)
    print("  (CPU: 100% = one core busy; threads share one GIL, processes get a core each;")
    print("   'switch interval': sys.setswitchinterval(0.0005) typed at the prompt first, 0.005 is the default)")
    for name, ok in announced.items():
        print(
            f"  kill of the {name}: "
            + ("their ends were announced at once" if ok else
               "their ends were NOT announced within 2 s of the kill (only at a later prompt)")
        )
    print_echo_goal(results)
    return results


def print_echo_goal(results: dict[str, list[float]]) -> None:
    """The slow keys are what a user feels next to busy jobs: p95, not the median."""
    idle, busy = p95(results[IDLE]), p95(results[BUSY])
    print(
        f"  p95 echo: {ms(idle)} ms with {IDLE}, {ms(busy)} ms with {BUSY}: {busy / idle:.2f}x "
        f"(goal <= {GOAL_ECHO_BUSY}x: {met(busy / idle, GOAL_ECHO_BUSY)})"
    )


# -- 4. first answer -------------------------------------------------------------------------------
def first_answer(contender: Contender, env: dict[str, str]) -> float:
    """Spawn with ``6*7\\r`` typed at once, before any prompt: seconds from just before
    the spawn to the read that brings ``42``.

    What someone who types as soon as the command is entered waits for: the line
    waits in the pty until the shell reads it, so an early prompt that answers before
    the line editor has loaded counts here, and a late editor counts in full.
    """
    shell = PtyShell(contender.name, contender.argv, env)
    try:
        shell.send(b"6*7\r")
        return shell.expect(contender.value, timeout=30) - shell.t_spawn
    finally:
        shell.close()


def bench_first_answer(found: list[Contender], env: dict[str, str], runs: int) -> dict[str, list[float]]:
    print(
        f"\n4. First answer: spawn with '6*7\\r' typed at once, to the read that brings '42'\n"
        f"   (median of {runs} starts, 1 unmeasured warm-up each, order alternated)"
    )
    times: dict[str, list[float]] = {c.name: [] for c in found}
    for contender in found:
        first_answer(contender, env)
    for i in range(runs):
        for contender in found if i % 2 == 0 else found[::-1]:
            times[contender.name].append(first_answer(contender, env))
    rows = []
    for contender in found:
        values = times[contender.name]
        med = statistics.median(values)
        rows.append([contender.name, ms(med), ms(min(values)), ms(max(values)), *vs_cells(times, med)])
    table(["shell", "median ms", "min ms", "max ms", *vs_headers(times)], rows)
    if PY313 in times:
        ratio = statistics.median(times["bgshell"]) / statistics.median(times[PY313])
        print(f"  bgshell / {PY313}: {verdict(ratio, GOAL_FIRST_ANSWER)}")
    return times


# -- 5. Ctrl-Z on running input --------------------------------------------------------------------
EDITOR_UP = b"\x1b[?2004h"  # bracketed paste on: a line editor starts reading keys
CTRL_Z_CASES = [  # (name, the input; the first ten characters start the job's line)
    ("Python loop", b"while True: pass"),
    ("C call, time.sleep", b"import time; time.sleep(30)"),
]


def start_running(shell: PtyShell, line: bytes, timeout: float = 10.0) -> None:
    """Type *line* and Enter, a second Enter if the editor asks for more (a one-line
    compound statement ends with an empty line); return once it runs, the terminal
    handed back to it, so that Ctrl-Z is a signal and not a key for the editor (at an
    idle prompt Ctrl-Z suspends the whole shell)."""
    shell.mark()
    shell.send(line + b"\r")
    more = re.compile(r"\n\s*\.\.\.")
    entered_twice = False
    deadline = perf() + timeout
    while not shell.running():
        if perf() > deadline:
            raise shell.timed_out(f"start of {line.decode()!r} (terminal never handed back to it)", timeout)
        shell._read(0.005)
        if not entered_twice and more.search(shell.text()):
            shell.send(b"\r")
            entered_twice = True


def ctrl_z_once(shell: PtyShell, line: bytes, num: int) -> float:
    """Run *line*, let it run 0.3 s, press Ctrl-Z: seconds from the key to the read
    that brings both the job's line ``[N] ...`` and the next prompt."""
    start_running(shell, line)
    time.sleep(0.3)
    shell.drain(quiet=0.01, limit=0.2)
    t0 = shell.send(b"\x1a")
    back = re.compile(rf"\[{num}\] {re.escape(line[:10].decode())}[^\n]*\n.*>>>", re.S)
    seconds = shell.expect(back, timeout=10) - t0
    shell.drain(quiet=0.05)
    return seconds


def kill_noting(shell: PtyShell, num: int) -> str:
    """``kill N``: "" once the job is announced killed, else what kill said instead (a
    thread inside a C call takes the kill only when the call returns)."""
    shell.mark()
    shell.send(f"kill {num}\r".encode())
    answer = re.compile(rf"\[{num}\]\s+Killed|kill: [^\n]*\n")
    shell.expect(answer, timeout=5)
    said = answer.search(shell.text()).group(0)
    shell.drain(quiet=0.05)
    return "" if "Killed" in said else said.strip()


def ctrl_z_series(bg: Contender, env: dict[str, str], lines: list[bytes]) -> list[tuple[float, str]]:
    """In one fresh bgshell, once its line editor is up (before, the early prompt runs
    inputs as python3 does), Ctrl-Z on each of *lines* in turn, each job killed
    before the next line: (seconds, what kill said) for each."""
    shell, _ = start(bg, env)
    try:
        shell.expect_raw(EDITOR_UP, timeout=30)
        shell.drain(quiet=0.2)
        results = []
        for num, line in enumerate(lines, 1):
            seconds = ctrl_z_once(shell, line, num)
            results.append((seconds, kill_noting(shell, num)))
        return results
    finally:
        shell.close()


def bench_ctrl_z(found: list[Contender], env: dict[str, str], samples: int) -> dict[str, list[float]]:
    """Section 5.  The loop's samples come one after another in one session.  Each
    sleep gets a session of its own, after one unmeasured Ctrl-Z on the loop (so it
    is not the session's first): a killed sleep holds the main thread until it
    returns, and the next input would run elsewhere."""
    print(
        f"\n5. Ctrl-Z on running input at the bgshell prompt: from the key to the job's line '[N] ...'\n"
        f"   and the next prompt ({samples} each; every job killed with 'kill N' after its Ctrl-Z)"
    )
    (loop_name, loop), (sleep_name, sleep) = CTRL_Z_CASES
    series = {
        loop_name: ctrl_z_series(found[0], env, [loop] * samples),
        sleep_name: [ctrl_z_series(found[0], env, [loop, sleep])[1] for _ in range(samples)],
    }
    results = {name: [seconds for seconds, _ in pairs] for name, pairs in series.items()}
    rows = [
        [f"{name}: {line.decode()}", ms(values[0]), ms(statistics.median(values)), ms(max(values)),
         met(statistics.median(values), GOAL_CTRL_Z)]
        for (name, line), values in zip(CTRL_Z_CASES, results.values())
    ]
    table(["input running", "first ms", "median ms", "max ms", f"<= {GOAL_CTRL_Z * 1000:g} ms"], rows)
    print("  (the goal is for code running Python bytecode; time.sleep is a C call the main thread's")
    print("   signal handler interrupts)")
    for name, pairs in series.items():
        notes = sorted({note for _, note in pairs if note})
        ended = sum(1 for _, note in pairs if not note)
        print(f"  kill after Ctrl-Z, {name}: {ended} of {len(pairs)} announced killed at once"
              + "".join(f"; otherwise kill said: {note!r}" for note in notes))
    return results


# -- 6. 1 MB paste -------------------------------------------------------------------------------
PASTE_START, PASTE_END = b"\x1b[200~", b"\x1b[201~"


def paste_block(lines: int = 20_000, size: int = 1_000_000) -> bytes:
    """*lines* assignments ``xN = 'aaa...'`` padded to about *size* bytes in all, then a
    line printing a marker with the last value: its output shows that every statement
    before it ran (a block pasted at ``>>>`` runs as a script, statement by statement)."""
    width = size // lines - 1  # characters of a line, its newline apart
    body = "".join(f"x{i} = '{'a' * (width - 6 - len(str(i)))}'\n" for i in range(lines))
    return (body + f'print("pasted", x{lines - 1})\n').encode()


class Pasted:
    """One paste: *seconds* to the marker's output and the next prompt (None: not
    within the limit), *written* seconds until the shell had taken every byte, *share*
    of the bytes taken, *output* bytes the shell wrote meanwhile (echo, redraws and the
    answer), and the last 2000 characters of output when it did not finish."""

    def __init__(self, seconds: float | None, written: float, share: float, output: int, tail: str = "") -> None:
        self.seconds, self.written, self.share, self.output, self.tail = seconds, written, share, output, tail


def paste_once(contender: Contender, env: dict[str, str], block: bytes, limit: float) -> Pasted:
    """At a fresh prompt, once the line editor is up: bracketed paste of *block* and
    Enter, written as fast as the shell takes it, timed from the first byte."""
    shell, _ = start(contender, env)
    try:
        shell.expect_raw(EDITOR_UP, timeout=30)
        shell.drain(quiet=0.2)
        data = PASTE_START + block + PASTE_END + b"\r"
        before = shell.bytes_read
        t0 = perf()
        sent = shell.feed(data, t0 + limit)
        written = perf() - t0
        marker = re.compile(r"pasted a{30,}\s*\n.*?" + contender.prompt.pattern, re.S)
        try:
            if sent < len(data):
                raise shell.timed_out("room in the pty for the whole paste", limit)
            seconds = shell.expect(marker, timeout=t0 + limit - perf(), tail=65536) - t0
        except PtyTimeout as late:
            return Pasted(None, written, sent / len(data), shell.bytes_read - before, late.tail)
        return Pasted(seconds, written, 1.0, shell.bytes_read - before)
    finally:
        shell.close()


def bench_paste(found: list[Contender], env: dict[str, str], runs: int, limit: float) -> dict[str, list[Pasted]]:
    block = paste_block()
    assignments = block.count(b"\n") - 1
    print(
        f"\n6. 1 MB paste: {len(block):,} bytes ({assignments:,} assignments and a print), bracketed,\n"
        f"   then Enter, at a fresh prompt; from the first byte written to the print's output and the\n"
        f"   next prompt (median of {runs}; given up after {limit:g} s)"
    )
    results: dict[str, list[Pasted]] = {}
    for contender in (c for c in found if c.name in ("bgshell", PY313)):
        results[contender.name] = []
        for _ in range(runs):
            results[contender.name].append(paste_once(contender, env, block, limit))
            if results[contender.name][-1].seconds is None:
                break  # once over the limit is enough
    rows = []
    for name, pastes in results.items():
        rows.append([name, paste_text(pastes, limit), f"{statistics.median(p.written for p in pastes):.2f}",
                     f"{100 * min(p.share for p in pastes):.0f}%", f"{max(p.output for p in pastes) / 1000:,.0f}"])
    table(["shell", "shown and run s", "all written s", "paste taken", "output kB"], rows)
    print("  (all written: until the shell had taken the paste's last byte from the pty;")
    print("   output: what the shell wrote to the terminal meanwhile, echo and redraws included)")
    for name, pastes in results.items():
        for paste in pastes:
            if paste.seconds is None and name == "bgshell":
                print("  bgshell did not finish; the last 2000 characters it wrote since the paste began: "
                      + (repr(paste.tail) if paste.tail else "none"))
    return results


def paste_text(pastes: list[Pasted], limit: float) -> str:
    if any(p.seconds is None for p in pastes):
        return f"over {limit:g}"
    return f"{statistics.median(p.seconds for p in pastes):.2f}"


# -- main ---------------------------------------------------------------------------------------------
SECTIONS = ("start", "imports", "trip", "keys", "first", "ctrlz", "paste")  # 1, 1b, 2, 3, 4, 5, 6
# Repetitions: (full run, --quick)
COUNTS = {
    "start": (11, 3), "imports": (3, 1), "trip": (50, 15), "keys": (184, 46),
    "first": (7, 3), "ctrlz": (7, 3), "pastes": (3, 1), "paste_limit": (60.0, 30.0),
}


def section_list(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in SECTIONS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"sections are {', '.join(SECTIONS)}; got {text!r}")
    return names


def parse_options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (about 2 min)")
    parser.add_argument(
        "--only", type=section_list, default=list(SECTIONS), metavar="SECTION[,SECTION]",
        help=f"run these sections alone, in the usual order ({', '.join(SECTIONS)})",
    )
    return parser.parse_args()


def print_header(options: argparse.Namespace, notes: list[str]) -> None:
    print("bgshell terminal benchmark" + (" (--quick)" if options.quick else "")
          + ("" if options.only == list(SECTIONS) else f" (--only {','.join(options.only)})"))
    print(
        f"machine: {os.cpu_count()} CPUs ({len(os.sched_getaffinity(0))} usable), "
        f"{platform.machine()}, {platform.system()} {platform.release()}"
    )
    print(f"python:  {platform.python_implementation()} {platform.python_version()} ({sys.executable})")
    versions = []
    for module in ("prompt_toolkit", "pygments", "IPython", "pexpect"):
        try:
            versions.append(f"{module} {__import__(module).__version__}")
        except Exception:
            versions.append(f"{module} -")
    print("versions: " + ", ".join(versions))
    print("bgshell: " + " ".join(bgshell_argv()))
    if python313():
        print(f"{PY313}: {python313()}")
    for note in notes:
        print(note)
    print("env:     pty 40x120, TERM=xterm, PROMPT_TOOLKIT_NO_CPR=1, private HOME/XDG/IPYTHONDIR/PYTHON_HISTORY,")
    print("         no PYTHONSTARTUP, bytecode cached in a private PYTHONPYCACHEPREFIX (PYTHONDONTWRITEBYTECODE dropped"
          + (", it was set here)" if os.environ.get("PYTHONDONTWRITEBYTECODE") else ")"))
    print(f"load:    {load_text()} at the start")


def run_section(name: str, run: Callable[[], Any]) -> Any:
    """Run one section.  A program that does not answer in time, or ends, fails that
    section alone: what it last wrote is printed, and the other sections go on (each
    section closes its shells on the way out)."""
    try:
        return run()
    except (TimeoutError, ShellEnded) as error:
        print(f"\n  section {name!r} FAILED: {error}")
        tail = getattr(error, "tail", "")
        if tail:
            print(f"  the last 2000 characters of its pty output: {tail!r}")
        return None


def run_sections(options: argparse.Namespace, found: list[Contender], env: dict[str, str]) -> dict[str, Any]:
    n = {key: pair[1 if options.quick else 0] for key, pair in COUNTS.items()}
    plan: dict[str, Callable[[], Any]] = {
        "start": lambda: bench_start(found, env, n["start"]),
        "imports": lambda: report_imports(
            importtime_of_start(env, n["imports"]),
            importtime_of_start(env, 1, ("-i",)),
            importtime_of_start(env, 1, ("-c", BARE_PROMPT_TOOLKIT)),
        ),
        "trip": lambda: bench_round_trip(found, env, n["trip"]),
        "keys": lambda: bench_keystrokes(found, env, n["keys"]),
        "first": lambda: bench_first_answer(found, env, n["first"]),
        "ctrlz": lambda: bench_ctrl_z(found, env, n["ctrlz"]),
        "paste": lambda: bench_paste(found, env, n["pastes"], n["paste_limit"]),
    }
    results = {name: run_section(name, plan[name]) for name in SECTIONS if name in options.only}
    results["paste_limit"] = n["paste_limit"]
    return results


def median_ratio(times: dict[str, list[float]] | None, name: str, base: str) -> float | None:
    if not times or not times.get(name) or not times.get(base):
        return None
    return statistics.median(times[name]) / statistics.median(times[base])


def ratio_row(what: str, ratio: float | None, goal: float, extra: str = "") -> list[str]:
    if ratio is None:
        return [what, "not measured", f"<= {goal}x", "-"]
    return [what, f"{ratio:.2f}x{extra}", f"<= {goal}x", met(ratio, goal)]


def print_summary(results: dict[str, Any]) -> None:
    """The goals against python3 -i, for the sections that ran."""
    rows = []
    if results.get("start"):
        rows.append(ratio_row("first prompt / python3 -i", median_ratio(results["start"], "bgshell", BASE), GOAL_START))
    if results.get("trip"):
        trips, enter_trips = results["trip"]
        rows.append(ratio_row("6*7 round trip / python3 -i", median_ratio(trips, "bgshell", BASE), GOAL_ROUND_TRIP))
        floor = f" (prompt_toolkit key floor {median_ratio(enter_trips, KEY_FLOOR, BASE):.2f}x)"
        rows.append(ratio_row("same, Enter alone", median_ratio(enter_trips, "bgshell", BASE), GOAL_ROUND_TRIP, floor))
    for name, values in (results.get("keys") or {}).items():
        rows.append([f"key echo, {name}", f"median {ms(statistics.median(values))} ms, p95 {ms(p95(values))} ms",
                     "", "(no goal)"])
    if rows:
        print("\nSummary (against python3 -i)")
        table(["goal", "measured", "target", "status"], rows)


def print_goals(results: dict[str, Any]) -> None:
    """The goals against python3.13's REPL and in absolute terms, for what ran."""
    trips, enter_trips = results.get("trip") or ({}, {})
    keys = results.get("keys") or {}
    echo = p95(keys[BUSY]) / p95(keys[IDLE]) if keys.get(BUSY) and keys.get(IDLE) else None
    rows = [
        ratio_row(f"6*7 round trip, bgshell / {PY313}", median_ratio(trips, "bgshell", PY313), GOAL_313_ROUND_TRIP),
        ratio_row("same, Enter alone", median_ratio(enter_trips, "bgshell", PY313), GOAL_313_ROUND_TRIP),
        ratio_row(f"first answer, bgshell / {PY313}", median_ratio(results.get("first"), "bgshell", PY313),
                  GOAL_FIRST_ANSWER),
        ratio_row(f"key echo p95, {BUSY} / {IDLE}", echo, GOAL_ECHO_BUSY),
        paste_row(results.get("paste"), results["paste_limit"]),
    ]
    ctrl_z = results.get("ctrlz") or {}
    for name, _ in CTRL_Z_CASES:
        values = ctrl_z.get(name)
        median = statistics.median(values) if values else None
        rows.append([f"Ctrl-Z to job line and prompt, {name}", "not measured" if median is None else f"{ms(median)} ms",
                     f"<= {GOAL_CTRL_Z * 1000:g} ms", "-" if median is None else met(median, GOAL_CTRL_Z)])
    print("\nGoals")
    table(["goal", "measured", "target", "status"], rows)


def paste_row(pastes: dict[str, list[Pasted]] | None, limit: float) -> list[str]:
    what, target = "1 MB paste shown and run, bgshell", f"<= {GOAL_PASTE:g} s"
    if not pastes or not pastes.get("bgshell"):
        return [what, "not measured", target, "-"]
    mine = pastes["bgshell"]
    other = f" ({PY313}: {paste_text(pastes[PY313], limit)} s)" if pastes.get(PY313) else ""
    done = all(p.seconds is not None for p in mine)
    status = met(statistics.median(p.seconds for p in mine), GOAL_PASTE) if done else "not met"
    return [what, f"{paste_text(mine, limit)} s{other}", target, status]


def main() -> int:
    options = parse_options()
    found, notes = contenders()
    print_header(options, notes)
    home = tempfile.mkdtemp(prefix="bgshell-bench-")
    t_all = perf()
    try:
        results = run_sections(options, found, make_env(home))
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print_summary(results)
    print_goals(results)
    print_ending(t_all)
    return 0


if __name__ == "__main__":
    sys.exit(main())
