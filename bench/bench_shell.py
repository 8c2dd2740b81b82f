#!/usr/bin/env python3
"""Benchmark bgshell at a real terminal, side by side with ``python3 -i`` and IPython.

    python bench/bench_shell.py [--quick]

Every shell runs in a pseudo-terminal (pexpect spawns it; this script then reads the
pty itself with ``select``/``os.read`` so the times are not blurred by pexpect's
polling), 40x120, with ``PROMPT_TOOLKIT_NO_CPR=1``, ``TERM=xterm``, no
``PYTHONSTARTUP`` and a private temporary HOME / XDG / IPYTHONDIR, so no user history
or configuration is read.  ``python3 -i`` is this very interpreter
(``sys.executable``); IPython is ``sys.executable -m IPython --no-banner
--colors=NoColor`` and is skipped when it is not installed.  Output is matched after
stripping ANSI escapes (prompt_toolkit puts escapes between tokens and draws a
prompt's trailing space as a cursor move).

Besides the three shells, a "bare PromptSession" (a ten-line prompt_toolkit loop
with no lexer, history or completion) runs in sections 1 and 2: the floor any
prompt_toolkit shell stands on, so the part bgshell itself adds can be read off.
Bytecode is cached in a private ``PYTHONPYCACHEPREFIX`` (``PYTHONDONTWRITEBYTECODE``
is dropped for the children) so that every program starts from cached bytecode as an
installed one would, and nothing is written into the work tree.  The 1-minute load
average is printed: on a busy machine every figure is inflated.

Sections:

1. start to first prompt: from just before the spawn to the read that brings the
   prompt; median of N starts per shell (one unmeasured warm-up start each first),
   the order of the shells alternated between rounds; ``bgshell --no-color`` as
   well, which shows what highlighting costs.  Then ``python -X importtime -m
   bgshell`` is started in a pty the same way, its stderr going to a file that is
   read the moment the prompt shows: the imports a real interactive start pays for,
   by package, by entry point, the ones a bare PromptSession does not make, and by
   bgshell module;
2. round trip: after the prompt, from writing ``6*7\\r`` to the read that brings
   ``42`` and the next prompt (and, apart, to the read that brings ``42``); then the
   same with the Enter alone timed (``6*7`` typed and echoed first), which is what a
   user who types the line waits for; the shells take turns, one round trip each.
   A fifth program runs here, the "prompt_toolkit key floor": a PromptSession whose
   Enter binding writes the answer and the next prompt straight to the terminal from
   the key handler, with no render and no exit -- the least any prompt_toolkit shell
   can take, so a goal below it is out of reach for all of them;
3. keystroke to echo at the bgshell prompt: one letter written, time to the read
   that brings it back; with no jobs, with two CPU-bound thread jobs
   (``while True: pass &``), the same after ``sys.setswitchinterval(0.0005)`` typed
   at the prompt, and with two CPU-bound process jobs (``... &:process``).  Each
   line gets distinct letters, then Ctrl-C clears it; a random 10-40 ms pause
   between keys keeps the samples out of step with the GIL's switch interval.  The
   CPU the shell and its children burned during each phase is shown, as proof that
   the jobs really ran.  The jobs are killed with ``kill N M`` afterwards (and
   whether their end was announced without further input is reported).
"""

from __future__ import annotations

import argparse
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
import time

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


class PtyShell:
    """One interactive program in a pty, read directly from the pty's fd."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.raw = bytearray()
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
        return True

    def text(self) -> str:
        return strip_ansi(self.raw.decode("utf-8", "replace"))

    def expect(self, pattern: re.Pattern[str], timeout: float = 15.0) -> float:
        """Read until the stripped output (since the last ``mark``) matches; return
        the time of the read that completed the match."""
        deadline = perf() + timeout
        if pattern.search(self.text()):
            return self.last_read
        while True:
            left = deadline - perf()
            if left <= 0:
                raise TimeoutError(
                    f"{self.name}: no {pattern.pattern!r} within {timeout}s; got {self.text()[-300:]!r}"
                )
            if self._read(left) and pattern.search(self.text()):
                return self.last_read

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
        """``exit()`` (all three understand it), then force if it does not end."""
        try:
            self.drain(quiet=0.02, limit=0.5)
            self.send(b"exit()\r")
            deadline = perf() + 3.0
            while perf() < deadline:
                self._read(deadline - perf())
        except (ShellEnded, OSError):
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


def contenders() -> tuple[list[Contender], str]:
    found = [
        Contender("bgshell", bgshell_argv(), r">>>", r"42\s+>>>"),
        Contender("python3 -i", [sys.executable, "-i"], r">>> ", r"42\s+>>> "),
        Contender("bare PromptSession", [sys.executable, "-c", BARE_PROMPT_TOOLKIT], r">>>", r"42\s+>>>"),
    ]
    note = ""
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
        note = "IPython: not installed, skipped"
    return found, note


def make_env(home: str) -> dict[str, str]:
    env = dict(os.environ)
    for name in (
        "PYTHONSTARTUP", "PYTHONPROFILEIMPORTTIME", "PYTHONINSPECT", "NO_COLOR",
        "COLUMNS", "LINES", "PYTHONASYNCIODEBUG", "PYTHONDEVMODE", "PYTHONTRACEMALLOC",
        "PYTHONDONTWRITEBYTECODE",
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






def verdict(ratio: float, goal: float) -> str:
    return f"{ratio:.2f}x  (goal <= {goal}x: {'met' if ratio <= goal else 'MISSED'})"


def print_floor(times: dict[str, list[float]], what: str) -> None:
    if "bare PromptSession" in times:
        floor = statistics.median(times["bare PromptSession"])
        extra = statistics.median(times["bgshell"]) - floor
        base = statistics.median(times["python3 -i"])
        print(
            f"  bare PromptSession (prompt_toolkit's floor) / python3 -i: {floor / base:.2f}x; "
            f"bgshell adds {ms(extra)} ms to the {what} on top of it"
        )
    if "bgshell --no-color" in times:
        lexer = statistics.median(times["bgshell"]) - statistics.median(times["bgshell --no-color"])
        print(f"  of which highlighting (PygmentsLexer(PythonLexer) and the pygments style): {ms(lexer)} ms")


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
    base = statistics.median(times["python3 -i"])
    base_editing = statistics.median(editing["python3 -i"])
    rows = []
    for contender in found:
        values = times[contender.name]
        med = statistics.median(values)
        key = statistics.median(editing[contender.name])
        rows.append([contender.name, ms(med), ms(min(values)), ms(max(values)), f"{med / base:.2f}x",
                     ms(key), f"{key / base_editing:.2f}x"])
    table(["shell", "median ms", "min ms", "max ms", "vs python3 -i", "key echoed ms", "vs python3 -i"], rows)
    print("  (key echoed: a key typed as soon as the prompt shows, until it is echoed: when the line editor works)")
    ratio = statistics.median(times["bgshell"]) / base
    print(f"  bgshell / python3 -i: {verdict(ratio, GOAL_START)}")
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
        base = statistics.median(times["python3 -i"])
        rows = []
        for contender in contenders_here:
            values = times[contender.name]
            med = statistics.median(values)
            rows.append([
                contender.name, ms(values[0]), ms(med), ms(p95(values)), f"{med / base:.2f}x",
                ms(statistics.median(to_value[contender.name])),
            ])
        table(["shell", "first ms", "median ms", "p95 ms", "vs python3 -i", "of which to '42' ms"], rows)
        ratio = statistics.median(times["bgshell"]) / base
        print(f"  bgshell / python3 -i: {verdict(ratio, GOAL_ROUND_TRIP)}")
        print_floor(times, "round trip")
        floor = statistics.median(times[KEY_FLOOR]) / base
        print(
            f"  {KEY_FLOOR} / python3 -i: {floor:.2f}x: no prompt_toolkit shell can answer sooner"
            + (f"; the goal of {GOAL_ROUND_TRIP}x lies below it" if floor > GOAL_ROUND_TRIP else "")
        )
    return results[False][0], results[True][0]


# -- 3. keystroke to echo ------------------------------------------------------------------------
LETTERS = "abcdefgijknopqrstuvwxyz"  # no h/l/m: the final letters of common escapes
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
    """Type *line* *count* times; a compound statement needs the blank line that ends it."""
    nums = []
    started_or_more = re.compile(r"\[\d+\] |\.\.\.")
    for k in range(count):
        num = first_num + k
        shell.mark()
        shell.send(line + b"\r")
        shell.expect(started_or_more, timeout=15)
        if not re.search(r"\[\d+\] ", shell.text()):
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
            raise TimeoutError(f"jobs {nums} did not end after kill: {shell.last_text[-300:]!r}")
        time.sleep(0.2)


def bench_keystrokes(found: list[Contender], env: dict[str, str], samples: int) -> dict[str, list[float]]:
    print(f"\n3. Keystroke to echo at the bgshell prompt ({samples} keys per case)")
    bg = next(c for c in found if c.name == "bgshell")
    # (name, the job's line or None, typed before the jobs start, typed after they end)
    cases = [
        ("no jobs", None, None, None),
        ("2 CPU-bound thread jobs", b"while True: pass &", None, None),
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
    return results




# -- main ---------------------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (about 40 s)")
    options = parser.parse_args()
    start_runs, import_runs, round_trips, keys = (3, 1, 15, 46) if options.quick else (11, 3, 50, 184)

    found, note = contenders()
    print("bgshell terminal benchmark" + (" (--quick)" if options.quick else ""))
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
    if note:
        print(note)
    print("env:     pty 40x120, TERM=xterm, PROMPT_TOOLKIT_NO_CPR=1, private HOME/XDG/IPYTHONDIR, no PYTHONSTARTUP,")
    print("         bytecode cached in a private PYTHONPYCACHEPREFIX (PYTHONDONTWRITEBYTECODE dropped"
          + (", it was set here)" if os.environ.get("PYTHONDONTWRITEBYTECODE") else ")"))

    print(f"load:    {load_text()} at the start")
    home = tempfile.mkdtemp(prefix="bgshell-bench-")
    t_all = perf()
    try:
        env = make_env(home)
        start_times = bench_start(found, env, start_runs)
        report_imports(
            importtime_of_start(env, import_runs),
            importtime_of_start(env, 1, ("-i",)),
            importtime_of_start(env, 1, ("-c", BARE_PROMPT_TOOLKIT)),
        )
        trips, enter_trips = bench_round_trip(found, env, round_trips)
        keyed = bench_keystrokes(found, env, keys)
    finally:
        shutil.rmtree(home, ignore_errors=True)

    base_start = statistics.median(start_times["python3 -i"])
    base_trip = statistics.median(trips["python3 -i"])
    base_enter = statistics.median(enter_trips["python3 -i"])
    print("\nSummary")
    table(
        ["goal", "measured", "status"],
        [
            [
                f"first prompt <= {GOAL_START}x python3 -i",
                f"{statistics.median(start_times['bgshell']) / base_start:.2f}x",
                "met" if statistics.median(start_times["bgshell"]) / base_start <= GOAL_START else "MISSED",
            ],
            [
                f"6*7 round trip <= {GOAL_ROUND_TRIP}x python3 -i",
                f"{statistics.median(trips['bgshell']) / base_trip:.2f}x",
                "met" if statistics.median(trips["bgshell"]) / base_trip <= GOAL_ROUND_TRIP else "MISSED",
            ],
            [
                f"same, Enter alone <= {GOAL_ROUND_TRIP}x python3 -i",
                f"{statistics.median(enter_trips['bgshell']) / base_enter:.2f}x "
                f"(prompt_toolkit key floor {statistics.median(enter_trips[KEY_FLOOR]) / base_enter:.2f}x)",
                "met" if statistics.median(enter_trips["bgshell"]) / base_enter <= GOAL_ROUND_TRIP else "MISSED",
            ],
            *[
                [f"key echo, {name}", f"median {ms(statistics.median(v))} ms, p95 {ms(p95(v))} ms", "(no goal)"]
                for name, v in keyed.items()
            ],
        ],
    )
    print_ending(t_all)
    return 0


if __name__ == "__main__":
    sys.exit(main())
