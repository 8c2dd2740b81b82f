"""Adversarial catalogue (issue 11): nothing a job does and nothing an object does may
freeze the shell, silence it, end it or lose work.

Cases come in the classes of issue 11, each through the channel where it bites:

* ``stdin``: thread jobs that read the terminal or the script (input, sys.stdin,
  getpass, breakpoint);
* ``state``: jobs touching process-wide state (sys.stdout/stderr/stdin replaced or
  closed, hooks, sys.modules, threading.setprofile, recursion limit, switch interval,
  warnings, logging, environ, atexit, signals, builtins);
* ``manager``: jobs that use the shell's own manager (wait, flush, status, join,
  kill, new from inside a job; jobs waiting on each other);
* ``dunders``: objects whose dunders raise BaseException, hang or return garbage where
  the shell touches them (repr, str, dir, getattr, pickling, type names);
* ``asyncio``: the shared loop (SystemExit/KeyboardInterrupt/GeneratorExit in a
  coroutine, busy and blocking coroutines, loop.stop/close, set_event_loop(None),
  top-level await);
* ``process``: process jobs (exceptions that cannot be rebuilt, grandchildren);
* ``signals`` and ``kill``: SIGTERM/SIGHUP while a job holds the GIL in C, killing
  thread jobs in C calls and their subprocesses;
* ``display``: control characters, TERM=dumb, --history and os.chdir;
* ``resources``: fds, threads, memory, 100 MB of output.

Each case asserts one message the user sees, then that the shell is still whole:
``6*7`` shows 42, ``earlier`` is still bound, job 1's output is still there and (at the
pty) the history file still holds the inputs (see ``tests/adversarial.py``).  Cases
that fail on today's main are not marked xfail: each failure is a bug to fix.

Nothing here synchronises on sleeps: jobs publish files or set events when they reach
the interesting point; the waits are hang bounds only.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import time
from dataclasses import dataclass
from unittest import mock

import pytest

import pty_shell
from adversarial import (
    PROMPTLY, Lab, assert_api_ok, assert_one, assert_pipe_epilogue, assert_still_fine,
    run_api, run_pipe, start_pty, wait_cooked, wait_for,
)
from processes import wait_gone
from pty_shell import CTRL_C, CTRL_D, TAB, PtyShell, find_bgshell


@pytest.fixture
def lab(tmp_path):
    made = Lab(tmp_path)
    yield made
    made.cleanup()


@pytest.fixture
def pty(lab):
    """``pty(*args, env=..., prelude=True)``: a started session, closed at the end."""
    shells: list[PtyShell] = []

    def _start(*args: str, **kwargs) -> PtyShell:
        shell = start_pty(lab, *args, **kwargs)
        shells.append(shell)
        return shell

    yield _start
    for shell in shells:
        shell.close()


DONE = r"^\[{n}\]  Done  "
DEAD = r"^\[{n}\]  Dead  "
KILLED = r"^\[{n}\]  Killed  "
#: An escaped ESC, however the shell chooses to show it (\x1b, \033, \e, ^[, \u001b).
ESCAPED_ESC = r"(?:\\x1b|\\033|\\e|\^\[|\\u001b)"


def done(n: int) -> str:
    return DONE.format(n=n)


def dead(n: int) -> str:
    return DEAD.format(n=n)


def killed(n: int) -> str:
    return KILLED.format(n=n)


def at_pty(pattern: str) -> str:
    """An announcement at the pty: drawn above the prompt, so it may follow the
    prompt's own text on a stripped line (no ^)."""
    return pattern.lstrip("^")


# =============================================================================== the pipe
# Job 1 is the bystander (run by the prelude); a case's first job is job 2.


@dataclass(frozen=True)
class PipeCase:
    id: str
    cls: str
    lines: tuple[str, ...]
    expect: str
    """Regex for the one message (exactly one line matches it)."""
    stream: str = "out"
    """Where the message goes on a pipe: "out", "err" or "any" (either)."""
    no_raw_controls: bool = False
    """Also: no raw ESC or BEL anywhere on stdout."""


PIPE_CASES = [
    # -- stdin: without a terminal a job's stdin is empty; the script is never eaten ------
    PipeCase("pipe-input-in-a-job-gets-eof", "stdin",
             ('name = input("name? ") &', "wait 2", "print('after-' + 'input')"),
             dead(2) + r'name = input\("name\? "\)  \S+  EOFError'),
    PipeCase("pipe-stdin-read-in-a-job-is-empty", "stdin",
             ("data = sys.stdin.read() &", "wait 2", "print('read:', repr(data))"), r"^read: ''$"),
    PipeCase("pipe-getpass-in-a-job-gets-eof", "stdin",
             ("import getpass", "pw = getpass.getpass() &", "wait 2"), dead(2) + r"pw = getpass\.getpass\(\)  \S+  EOFError"),
    PipeCase("pipe-breakpoint-in-a-job-does-not-eat-the-script", "stdin",
             ("bp() &", "wait 2", "print('after-' + 'breakpoint')"), r"^after-breakpoint$"),
    # -- state: process-wide streams, hooks, modules, interpreter settings ---------------------
    PipeCase("pipe-redirect-stdout-for-a-while", "state",
             ("hold_redirect() &", "_ = entered.wait(10)", "print('fg-' + 'visible')", "release.set()", "wait 2"),
             r"^fg-visible$"),
    PipeCase("pipe-job-replaces-sys-stdout", "state",
             ("sys.stdout = io.StringIO() &", "wait 2", "print('fg-' + 'visible')"), r"^fg-visible$"),
    PipeCase("pipe-job-sets-sys-stdout-to-none", "state",
             ("sys.stdout = None &", "wait 2", "print('fg-' + 'visible')"), r"^fg-visible$"),
    PipeCase("pipe-job-closes-sys-stdout", "state",
             ("sys.stdout.close() &", "wait 2", "print('fg-' + 'visible')"), r"^fg-visible$"),
    PipeCase("pipe-job-sends-sys-stderr-to-devnull", "state",
             ("sys.stderr = open(os.devnull, 'w') &", "wait 2", "1/0"), r"^ZeroDivisionError: division by zero$",
             stream="err"),
    PipeCase("pipe-job-closes-sys-stdin", "state",
             ("sys.stdin.close() &", "wait 2", "print('after-' + 'close')"), r"^after-close$"),
    PipeCase("pipe-job-replaces-builtins-print", "state",
             ("import builtins", "builtins.print = None &", "wait 2", "'fg-' + 'value'"), r"^'fg-value'$"),
    PipeCase("pipe-job-replaces-sys-excepthook", "state",
             ("sys.excepthook = lambda *args: None &", "wait 2", "1/0"), r"^ZeroDivisionError: division by zero$",
             stream="err"),
    PipeCase("pipe-job-replaces-both-excepthooks-with-raising-ones", "state",
             ("def exit_hook(*args): raise SystemExit(9)", "",
              "sys.excepthook = threading.excepthook = exit_hook &", "wait 2", "1/0"),
             r"^ZeroDivisionError: division by zero$", stream="err"),
    PipeCase("pipe-job-sets-a-signal-handler", "state",
             ("signal.signal(signal.SIGINT, signal.SIG_IGN) &", "wait 2"),
             dead(2) + r"signal\.signal\(signal\.SIGINT, signal\.SIG_IGN\)  \S+  ValueError: signal only works in main thread"),
    PipeCase("pipe-job-hides-the-traceback-module", "state",
             ("sys.modules['traceback'] = None &", "wait 2", "1/0"), r"^ZeroDivisionError: division by zero$",
             stream="err"),
    PipeCase("pipe-job-deletes-sys-modules-main", "state",
             ("del sys.modules['__main__'] &", "wait 2", "r = seven() &:process", "wait 3", "print('r =', r)"),
             r"^r = 7$"),
    PipeCase("pipe-job-installs-a-raising-threading-profile", "state",
             ("def boom(*args): raise SystemExit", "", "threading.setprofile(boom) &", "wait 2",
              "gate = threading.Event()", "gated = [jobs.new(gate.wait) for _ in range(3)]", "r = 6*6 &",
              "gate.set()", "threading.setprofile(None)", "wait 6"),
             r"^\[6\]  (Done|Dead)  r = 6\*6  "),
    PipeCase("pipe-job-clears-os-environ", "state",
             ("os.environ.clear() &", "wait 2", "r = 6*7 &:process", "wait 3", "print('r =', r)"), r"^r = 42$"),
    PipeCase("pipe-job-turns-warnings-into-errors", "state",
             ("import warnings", "warnings.simplefilter('error') &", "wait 2", "await ok()"), r"^'ok-async'$"),
    PipeCase("pipe-job-registers-atexit", "state",
             ("import atexit", "atexit.register(print, 'atexit-' + 'ran') &", "wait 2"), r"^atexit-ran$"),
    # -- manager: jobs that use the shell's own manager ----------------------------------------
    PipeCase("pipe-jobs-wait-in-a-job-does-not-wait-for-itself", "manager",
             ("jobs.wait() &", "wait 2"), done(2) + r"jobs\.wait\(\)  "),
    PipeCase("pipe-jobs-flush-in-a-job-keeps-another-announcement", "manager",
             ("a = jobs.new(one); _ = a.wait_done(); b = jobs.new(jobs.flush); _ = b.wait_done()",),
             done(2) + r"one\(\)  "),
    PipeCase("pipe-jobs-status-in-a-job-keeps-another-announcement", "manager",
             ("a = jobs.new(one); _ = a.wait_done(); b = jobs.new(jobs.status); _ = b.wait_done()",),
             done(2) + r"one\(\)  "),
    PipeCase("pipe-join-in-a-job-keeps-another-announcement", "manager",
             ("a = jobs.new(one); b = jobs.new(a.join); _ = b.wait_done()",), done(2) + r"one\(\)  "),
    PipeCase("pipe-job-kills-itself", "manager",
             ("jobs.kill(jobs.newest.num); spin() &", "wait 2"), killed(2) + r"jobs\.kill\(jobs\.newest\.num\); spin\(\)"),
    PipeCase("pipe-job-removes-itself", "manager",
             ("jobs.remove(jobs.newest.num) &", "wait 2"),
             done(2) + r"jobs\.remove\(jobs\.newest\.num\)  \S+  \(output: 1 line; see output 2\)$"),
    PipeCase("pipe-job-starts-a-job", "manager",
             ("n = jobs.new(seven).num &", "wait 2", "wait 3"), done(3) + r"seven\(\)  "),
    PipeCase("pipe-jobs-waiting-on-each-other-are-killed", "manager",
             ("gate, at2, at3 = threading.Event(), threading.Event(), threading.Event()",
              "gate.wait() and (at2.set(), jobs[3].wait_done()) &", "(at3.set(), jobs[2].wait_done()) &",
              "gate.set()", "_ = at2.wait(5) and at3.wait(5)", "kill 2 3", "wait 2 3"),
             killed(3) + r"\(at3\.set\(\), jobs\[2\]\.wait_done\(\)\)"),
    # -- dunders: BaseException, garbage, wherever the shell touches an object -------------------
    PipeCase("pipe-value-whose-dunders-raise-systemexit", "dunders",
             ("Poison()",), r"^<repr\(\) of Poison object failed: SystemExit: 3>$"),
    PipeCase("pipe-job-result-whose-dunders-raise-systemexit", "dunders",
             ("Poison() &", "wait 2", "result 2"), r"^<repr\(\) of Poison object failed: SystemExit: 3>$"),
    PipeCase("pipe-process-job-result-that-cannot-be-pickled", "dunders",
             ("Poison() &:process", "wait 2"),
             dead(2) + r"Poison\(\)  \S+  .*(pickl|cannot be (sent|returned)|could not be (sent|returned))"),
    PipeCase("pipe-process-job-sent-a-value-whose-pickling-raises-systemexit", "dunders",
             ("poison = Poison()", "len_of(poison) &:process", "wait 2"),
             r"^(cannot start the job: .*|\[2\]  Dead  len_of\(poison\)  \S+  .*)(pickl|SystemExit)", stream="any"),
    PipeCase("pipe-repr-returns-a-str-whose-len-raises-systemexit", "dunders",
             ("SneakyRepr()",), r"^(sneaky|<repr\(\) of SneakyRepr object failed.*)$"),
    PipeCase("pipe-function-job-label-str-raises-systemexit", "dunders",
             ("j = jobs.new(ExitStrCallable())", "wait 2", "jobs"), r"^\[2\]\s+Done\s+\S+\s+thread\s+<ExitStrCallable object>$"),
    # A KeyboardInterrupt cannot be told from the user's Ctrl-C on a __str__ that hangs
    # (tests/test_hostile.py, callable-str-hangs-ctrl-c): the input is interrupted.
    PipeCase("pipe-function-job-label-str-raises-keyboardinterrupt", "dunders",
             ("j = jobs.new(InterruptStrCallable())", "wait 2", "jobs"), r"^KeyboardInterrupt$", stream="err"),
    PipeCase("pipe-job-exception-type-without-a-name", "dunders",
             ("raise_(Nameless('anon')) &", "wait 2"), dead(2) + r"raise_\(Nameless\('anon'\)\)  "),
    PipeCase("pipe-job-exception-str-returns-a-hostile-str", "dunders",
             ("raise_(SliceBomb()) &", "wait 2"), dead(2) + r"raise_\(SliceBomb\(\)\)  "),
    # -- asyncio: one bad coroutine never kills the shared loop -----------------------------------
    PipeCase("pipe-coroutine-raises-systemexit", "asyncio",
             ("bye() &", "wait 2", "await ok()"), dead(2) + r"bye\(\)  \S+  SystemExit: 3$"),
    PipeCase("pipe-coroutine-raises-keyboardinterrupt", "asyncio",
             ("interrupted() &", "wait 2", "await ok()"), dead(2) + r"interrupted\(\)  \S+  KeyboardInterrupt$"),
    PipeCase("pipe-coroutine-raises-generatorexit", "asyncio",
             ("gen_exit() &", "wait 2", "await ok()"), dead(2) + r"gen_exit\(\)  \S+  GeneratorExit$"),
    PipeCase("pipe-coroutine-stops-the-loop", "asyncio",
             ("stopper() &", "wait 2", "await ok()"), r"^'ok-async'$"),
    PipeCase("pipe-coroutine-closes-the-running-loop", "asyncio",
             ("closer() &", "wait 2", "await ok()"),
             dead(2) + r"closer\(\)  \S+  RuntimeError: Cannot close a running event loop$"),
    PipeCase("pipe-coroutine-sets-event-loop-none", "asyncio",
             ("unset_loop() &", "wait 2", "await ok()", "ok() &", "wait 3"), done(3) + r"ok\(\)  "),
    # -- process jobs ---------------------------------------------------------------------------
    PipeCase("pipe-process-exception-with-required-args-keeps-its-message", "process",
             ("raise_needy() &:process", "wait 2"), dead(2) + r"raise_needy\(\)  \S+  NeedyError: needs-1-2$"),
    PipeCase("pipe-process-exception-with-required-args-keeps-the-remote-traceback", "process",
             ("raise_needy() &:process", "wait 2", "traceback 2"), r'^\s+File ".*", line \d+, in raise_needy$',
             stream="err"),
    # -- display: control characters never reach the terminal raw --------------------------------
    PipeCase("pipe-control-characters-in-an-exception-message", "display",
             ("raise_(ValueError('\\x1b]0;pwned\\x07\\x1b[2J')) &", "wait 2"),
             dead(2) + r".*ValueError: " + ESCAPED_ESC + r"\]0;pwned", no_raw_controls=True),
    PipeCase("pipe-control-characters-in-a-label-in-jobs", "display",
             ("j = jobs.new(TitleLabel())", "wait 2", "jobs"),
             r"^\[2\]\s+Done\s+\S+\s+thread\s+" + ESCAPED_ESC + r"\]0;pwned-title", no_raw_controls=True),
    PipeCase("pipe-control-characters-in-a-label-in-the-announcement", "display",
             ("j = jobs.new(TitleLabel())", "wait 2"), done(2) + ESCAPED_ESC + r"\]0;pwned-title",
             no_raw_controls=True),
    # -- resources -------------------------------------------------------------------------------
    PipeCase("pipe-fds-exhausted-then-a-process-job", "resources",
             ("hog_fds() &", "wait 2", "6*7 &:process", "release_fds()"),
             r"^(cannot start the job: .*Too many open files.*|\[3\]  Dead  6\*7  .*Too many open files.*)$",
             stream="any"),
    PipeCase("pipe-many-threads-then-a-job", "resources",
             ("many_threads() &", "wait 2", "r = 6*6 &", "wait 3", "thread_gate.set()", "print('r =', r)"),
             r"^r = 36$"),
    PipeCase("pipe-one-100mb-write-in-a-job", "resources",
             ("print('y' * 100_000_000) &", "wait 2"),
             done(2) + r".*\(output: 100,000,001 characters, oldest dropped; see output 2\)$"),
    PipeCase("pipe-coroutine-prints-100mb", "resources",
             ("print_100mb() &", "wait 2"),
             done(2) + r"print_100mb\(\)  \S+  \(output: 100,000,000 characters, oldest dropped; see output 2\)$"),
    PipeCase("pipe-process-job-writes-100mb-to-fd-2", "resources",
             ("write_fd2_100mb() &:process", "wait 2"),
             done(2) + r"write_fd2_100mb\(\)  \S+  \(output: 100,000,000 characters, oldest dropped; see output 2\)$"),
]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in PIPE_CASES])
def test_pipe(case: PipeCase, lab: Lab) -> None:
    result = run_pipe(lab, list(case.lines))
    where = "stdout or stderr" if case.stream == "any" else f"std{case.stream}"
    assert_one(result.stream(case.stream), case.expect, where, result)
    if case.no_raw_controls:
        raw = [line for line in result.out.splitlines() if "\x1b" in line or "\x07" in line]
        assert not raw, f"raw control characters reached stdout: {raw[:3]!r}"
    assert_pipe_epilogue(result)


def test_pipe_await_of_a_coroutine_calling_sys_exit_4_leaves_with_status_4(lab: Lab) -> None:
    result = run_pipe(lab, ["await exits4()", "print('not-' + 'reached')"], epilogue=False)
    assert not result.hung and result.status == 4, f"expected exit status 4: {result.describe()}"
    assert "not-reached" not in result.out, result.describe()


# =============================================================================== the pty


# -- stdin: a job reading the terminal waits and never steals a key ----------------------------

WAITING = r"\[2\]\s+Waiting for input\s+"


@pytest.mark.parametrize("line, label", [
    ('name = input("name? ") &', r'name = input\("name\? "\)'),
    ("data = sys.stdin.read() &", r"data = sys\.stdin\.read\(\)"),
    ("import getpass; pw = getpass.getpass() &", r"import getpass; pw = getpass\.getpass\(\)"),
    ("bp() &", r"bp\(\)"),
], ids=["pty-input", "pty-stdin-read", "pty-getpass", "pty-breakpoint"])
def test_pty_job_reading_the_terminal_waits_and_steals_no_key(pty, lab, line, label):
    shell = pty()
    shell.sendline(line)
    shell.expect_text(WAITING + label, timeout=PROMPTLY)
    assert_still_fine(shell, lab)  # 6*7 and the rest are typed while the job waits


# -- state -------------------------------------------------------------------------------------


def test_pty_redirect_stdout_for_a_while_leaves_the_shell_audible(pty, lab):
    shell = pty()
    shell.run("hold_redirect() &")
    lab.mark("redirect-entered", shell=shell)
    out = shell.run("print('fg-' + 'visible')")
    assert "fg-visible" in out.split(), f"foreground print while a job redirects stdout: {out!r}"
    shell.run("release.set()")
    assert_still_fine(shell, lab)


def test_pty_job_replaces_sys_stdin(pty, lab):
    shell = pty()
    shell.run("sys.stdin = io.StringIO('') &")
    out = shell.run("'after-' + 'stdin'")
    assert "'after-stdin'" in out, out
    assert_still_fine(shell, lab)


def test_pty_job_lowers_the_recursion_limit(pty, lab):
    shell = pty()
    start = shell.pos
    shell.sendline("sys.setrecursionlimit(50) &")
    shell.expect_text(at_pty(done(2)) + r"sys\.setrecursionlimit\(50\)")
    shell.wait_prompt()  # the announcement may come before the prompt: type after it
    out = shell.run("6*7")
    seen = shell.text[start:shell.pos]
    assert "42" in out.split() and "RecursionError" not in seen and "recursion depth" not in seen, \
        f"after a job lowered the recursion limit: {seen[-1500:]!r}"
    assert_still_fine(shell, lab)


def test_pty_switch_interval_set_by_a_job_while_the_prompt_is_up_is_kept(pty, lab):
    """The prompt lowers the switch interval while it is up and puts back what it
    found: a value a job set meanwhile must not be silently undone."""
    shell = pty()
    shell.run("when_published('go') or sys.setswitchinterval(0.002) or publish('set') &")
    (lab.marks / "go").write_text("")  # the job acts now, while the prompt is up
    lab.mark("set", shell=shell)
    out = shell.run("sys.getswitchinterval()")
    assert "0.002" in out.split(), f"the job set 0.002; sys.getswitchinterval() now shows {out!r}"
    assert_still_fine(shell, lab)


def test_pty_stderr_taken_by_a_job_while_the_prompt_is_up_still_writes(pty, lab):
    """A job that keeps sys.stderr (as logging.basicConfig, a library's console or a
    progress bar do) while the prompt is up must not hold a stream that dies with it."""
    shell = pty()
    shell.run("when_published('go') or publish('taken') or sys.stderr &")
    (lab.marks / "go").write_text("")
    lab.mark("taken", shell=shell)
    shell.run("kept = jobs[2].get()")
    out = shell.run("print('to-' + 'kept', file=kept, flush=True)")
    assert "to-kept" in out.split(), f"a write to the stream the job kept printed {out!r}"
    assert_still_fine(shell, lab)


def test_pty_job_configures_logging_at_debug_level_adds_no_noise(pty, lab):
    shell = pty()
    shell.run("import logging")
    # Configured from a job while the foreground waits for it (not while the prompt is up).
    shell.run("_ = jobs.new(logging.basicConfig, kw=dict(level=logging.DEBUG)).wait_done()")
    start = shell.pos
    out = shell.run("6*7")
    shell.run("6*8")  # what the prompt after 6*7 printed, wherever it lands
    noise = [line for line in shell.text[start:shell.pos].splitlines() if "DEBUG:" in line]
    assert "42" in out.split() and not noise, f"6*7 printed {out!r}, then {noise!r}"
    assert_still_fine(shell, lab)


def test_pty_job_sends_sigint_to_the_shell(pty, lab):
    shell = pty()
    shell.sendline("os.kill(os.getpid(), signal.SIGINT) &")
    shell.expect_text(r"\[2\]  Done  os\.kill")
    assert_still_fine(shell, lab)


# -- manager -----------------------------------------------------------------------------------


def test_pty_kill_of_a_job_blocked_in_jobs_wait(pty, lab):
    shell = pty()
    shell.run("gate = threading.Event()")
    shell.run("gate.wait() &")  # job 2: something for job 3 to wait for
    shell.run("publish('waiting') or jobs.wait() &")  # job 3
    lab.mark("waiting", shell=shell)
    shell.sendline("kill 3")
    shell.expect_text(at_pty(killed(3)) + r"publish\('waiting'\) or jobs\.wait\(\)", timeout=PROMPTLY)
    shell.run("gate.set()")
    assert_still_fine(shell, lab)


# -- asyncio -----------------------------------------------------------------------------------


def test_pty_busy_coroutine_is_killed(pty, lab):
    shell = pty()
    shell.run("busy() &")
    lab.mark("busy", shell=shell)
    shell.sendline("kill 2")
    shell.expect_text(at_pty(killed(2)) + r"busy\(\)", timeout=PROMPTLY)
    out = shell.run("await ok()", timeout=PROMPTLY)
    assert "'ok-async'" in out, out
    assert_still_fine(shell, lab)


def test_pty_coroutine_blocking_the_loop_in_time_sleep_does_not_stop_new_coroutines(pty, lab):
    shell = pty()
    shell.run("blocker() &")
    lab.mark("blocking", shell=shell)
    shell.run("kill 2")
    shell.sendline("ok() &")
    shell.expect_text(at_pty(done(3)) + r"ok\(\)", timeout=PROMPTLY)
    assert_still_fine(shell, lab)


def test_pty_ctrl_c_on_an_await_while_the_loop_is_busy(pty, lab):
    shell = pty(editor=True)
    shell.run("busy() &")
    lab.mark("busy", shell=shell)
    shell.sendline("await ok()")
    shell.expect_text(r"await ok\(\)\s*\n")
    wait_cooked(shell)
    shell.send(CTRL_C)
    started = time.monotonic()
    shell.expect_text(r"^KeyboardInterrupt$", timeout=PROMPTLY)
    shell.wait_prompt(timeout=PROMPTLY)
    assert time.monotonic() - started < PROMPTLY
    shell.run("kill 2")
    assert_still_fine(shell, lab)


def test_pty_ctrl_c_on_a_top_level_await_shows_the_users_line(pty, lab):
    shell = pty(editor=True)
    shell.sendline("await sleeper()")
    lab.mark("sleeping", shell=shell)  # the await is running: Ctrl-C is a SIGINT now
    wait_cooked(shell)
    shell.send(CTRL_C)
    start = shell.pos
    shell.expect_text(r"^KeyboardInterrupt$", timeout=PROMPTLY)
    report = shell.text[start:shell.pos]
    internal = re.findall(r'File ".*(?:concurrent/|threading\.py|asyncio/(?:base_events|events|runners|futures)\.py|/bgshell/)[^"]*"',
                          report)
    assert re.search(r'File "<(?:stdin|python-input-\d+)>", line \d+, in <module>', report) and not internal, \
        f"the traceback should show the user's line only: {report!r}"
    shell.wait_prompt()
    assert_still_fine(shell, lab)


def test_pty_await_of_a_coroutine_calling_sys_exit_4_leaves_with_status_4(pty, lab):
    shell = pty()
    shell.sendline("await exits4()")
    assert shell.expect_exit(timeout=PROMPTLY) == 4


# -- dunders: completion, pickling ---------------------------------------------------------------


BACKSPACE = "\x7f"


@pytest.mark.parametrize("cls, suffix, marker", [
    ("ExitDir", ".", None),
    ("SlowDir", ".", "dir-started"),
    ("ExitGetattr", ".attr.", None),
    ("InterruptProperty", ".prop.", None),
    ("SlowProperty", ".prop.", "prop-started"),
    ("HugeDir", ".name1", None),
], ids=["pty-completion-dir-raises-systemexit", "pty-completion-dir-hangs", "pty-completion-getattr-raises-systemexit",
        "pty-completion-property-raises-keyboardinterrupt", "pty-completion-property-hangs",
        "pty-completion-dir-returns-300000-names"])
def test_pty_completion_on_a_hostile_object(pty, lab, cls, suffix, marker):
    """Tab on `o<suffix>`, then Backspace the suffix away and press Enter: the line
    typed survives and runs (`o` shows its repr), however the completion went."""
    shell = pty()
    shell.run(f"o = {cls}()")
    shell.send("o" + suffix)
    shell.expect_text(re.escape("o" + suffix))
    shell.send(TAB)
    if marker is not None:
        shell.expect_text(marker)  # the hostile code runs now (and hangs)
    else:
        shell.read_available(quiet=0.3, limit=2)
    shell.send(BACKSPACE * len(suffix) + "\r")
    shell.expect_text(rf"<__main__\.{cls} object at 0x[0-9a-f]+>", timeout=PROMPTLY)
    assert_still_fine(shell, lab)


def test_pty_ctrl_c_while_a_process_job_is_being_pickled(pty, lab):
    shell = pty(editor=True)
    shell.run("slow = SlowReduce()")
    shell.sendline("len_of(slow) &:process")
    shell.expect_text("reduce-started")
    wait_cooked(shell)
    shell.send(CTRL_C)
    shell.expect_text(r"KeyboardInterrupt|cannot start the job", timeout=PROMPTLY)
    shell.wait_prompt(timeout=PROMPTLY)
    assert_still_fine(shell, lab)


# -- process jobs ---------------------------------------------------------------------------------


def test_pty_process_job_ends_when_its_process_ends_not_its_grandchild(pty, lab):
    shell = pty()
    shell.sendline("leave_grandchild() &:process")
    grandchild = int(lab.mark("grandchild", shell=shell))
    try:
        shell.expect_text(at_pty(done(2)) + r"leave_grandchild\(\)", timeout=PROMPTLY)
        assert_still_fine(shell, lab)
    finally:
        try:
            os.kill(grandchild, signal.SIGKILL)
        except OSError:
            pass


# -- signals --------------------------------------------------------------------------------------


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP"])
def test_pty_signal_while_a_thread_job_holds_the_gil_in_c(pty, lab, signame):
    shell = pty()
    shell.sendline("sum_in_c() &")
    lab.mark("summing", shell=shell)
    signum = getattr(signal, signame)
    shell.child.kill(signum)
    started = time.monotonic()
    pid = shell.child.pid
    gone = wait_gone(pid, PROMPTLY)
    seconds = time.monotonic() - started
    assert gone, f"bgshell still runs {seconds:.1f}s after {signame} while a job sums in C"
    wait_for(lambda: not shell.child.isalive(), PROMPTLY, "the pty child to be reaped")
    assert (shell.child.exitstatus, shell.child.signalstatus) in ((128 + signum, None), (None, signum))


# -- kill -------------------------------------------------------------------------------------------


def test_pty_kill_of_a_thread_job_in_time_sleep_says_why_at_once(pty, lab):
    shell = pty()
    shell.run("time.sleep(30) &")
    out = shell.run("kill 2", timeout=PROMPTLY)
    lines = [line for line in out.splitlines() if line.strip()]
    assert any(re.search(r"\b2\b", line) and re.search(r"(?i)C call|cannot|can't|blocked|until|returns", line)
               for line in lines), f"kill 2 said {lines!r}; it should say why job 2 cannot stop yet"
    assert_still_fine(shell, lab)


def test_pty_kill_stops_a_thread_jobs_subprocess(pty, lab):
    shell = pty()
    shell.run("run_sleeper('sleeper') &")
    sleeper = int(lab.mark("sleeper", shell=shell))
    out = shell.run("kill 2")
    assert wait_gone(sleeper, PROMPTLY), "the job's subprocess (sleep 300) survived kill"
    if not re.search(at_pty(killed(2)) + r"run_sleeper", out, re.MULTILINE):  # with kill's output, or after
        shell.expect_text(at_pty(killed(2)) + r"run_sleeper", timeout=PROMPTLY)
    assert_still_fine(shell, lab)


def test_pty_exit_stops_a_thread_jobs_subprocess(lab):
    """As from a login shell: bgshell is not the session leader, so nothing else
    hangs up what it leaves behind (a wrapper plays the user's bash and stays)."""
    status = lab.marks / "bgshell-exit-status"
    wrapper = lab.dir / "login-shell"
    wrapper.write_text(
        f"#!{sys.executable}\nimport subprocess, sys, time\n"
        f"rc = subprocess.call([{find_bgshell()!r}, *sys.argv[1:]])\n"
        f"open({str(status)!r}, 'w').write(str(rc))\ntime.sleep(60)\n"
    )
    wrapper.chmod(0o700)
    with mock.patch.object(pty_shell, "find_bgshell", lambda: str(wrapper)):
        shell = start_pty(lab)
    try:
        shell.run("run_sleeper('sleeper') &")
        sleeper = int(lab.mark("sleeper", shell=shell))
        shell.send(CTRL_D)
        shell.expect_text(r"There is 1 running job")
        shell.wait_prompt()
        shell.send(CTRL_D)
        assert lab.mark("bgshell-exit-status", timeout=PROMPTLY) == "0"
        assert wait_gone(sleeper, PROMPTLY), "the job's subprocess (sleep 300) outlived the shell"
    finally:
        shell.close()


# -- display ------------------------------------------------------------------------------------------


def test_pty_history_given_as_a_relative_path_stays_put_after_chdir(pty, lab):
    (lab.dir / "rel").mkdir()
    (lab.dir / "sub").mkdir()
    history = lab.dir / "rel" / "hist"
    shell = pty("--history", "rel/hist")
    shell.run("os.chdir('sub')")
    shell.run("after_chdir = 'typed-after-chdir'")
    wait_for(lambda: history.exists() and "typed-after-chdir" in history.read_text(), PROMPTLY,
             "the input typed after os.chdir to reach rel/hist")
    assert not (lab.dir / "sub" / "rel").exists(), "a second history file appeared under the new directory"
    assert_still_fine(shell, lab, history=history)


def test_pty_control_characters_in_a_dead_jobs_message_are_escaped(pty, lab):
    shell = pty()
    start = len(shell.raw)
    shell.sendline("raise_(ValueError('\\x1b]0;pwned\\x07\\x1b[2J')) &")
    shell.expect_text(at_pty(dead(2)) + r".*ValueError: ")
    shell.wait_prompt()
    raw = shell.raw[start:]
    assert "\x1b]0;pwned" not in raw and "pwned\x07" not in raw, "the job retitled the window"
    assert re.search(ESCAPED_ESC + r"\]0;pwned", shell.text), "the message is not shown escaped"
    assert_still_fine(shell, lab)


def test_pty_term_dumb_announces_a_job_end_without_waiting_for_enter(pty, lab):
    shell = pty(env={"TERM": "dumb"})
    shell.run("when_published('go') &")
    (lab.marks / "go").write_text("")  # the job ends now; nothing is typed
    shell.expect_text(at_pty(done(2)) + r"when_published\('go'\)", timeout=PROMPTLY)
    assert_still_fine(shell, lab)


# -- resources ------------------------------------------------------------------------------------------


def test_pty_fds_exhausted_by_a_job(pty, lab):
    shell = pty()
    shell.sendline("hog_fds() &")  # the job keeps every descriptor taken
    lab.mark("fds-held", shell=shell)
    shell.sendline("")  # a fresh prompt, drawn with no file descriptor left
    shell.wait_prompt()
    out = shell.run("6*7")
    assert "42" in out.split(), f"6*7 with no file descriptor left printed {out!r}"
    shell.run("release_fds()")
    assert_still_fine(shell, lab)


def test_pty_memory_of_a_killed_job_is_released(pty, lab):
    shell = pty()
    baseline = int(shell.run("rss_mb()").split()[-1])
    shell.run("hold_memory(400) &")
    lab.mark("memory-held", shell=shell)
    shell.sendline("kill 2")
    shell.expect_text(at_pty(killed(2)) + r"hold_memory\(400\)", timeout=PROMPTLY)
    shell.wait_prompt()
    after = int(shell.run("rss_mb()").split()[-1])
    assert after < baseline + 100, f"RSS {baseline} MB before, {after} MB after the killed job (400 MB held)"
    assert_still_fine(shell, lab)


# =============================================================================== the API
# Each snippet runs in a fresh interpreter with a manager `m` (see adversarial.API_PRELUDE):
# a wedged loop or an unkillable thread must not leak into the test process.

API_CASES = {
    "api-wait-in-a-job-does-not-wait-for-itself": ("manager", """
j = m.new(m.wait)
j.wait_done(SOON)
assert j.state is JobState.COMPLETED, f"m.wait() inside a job: {j.state}"
"""),
    "api-flush-in-a-job-keeps-another-announcement": ("manager", """
a = m.new(one); a.wait_done(SOON)
b = m.new(m.flush); b.wait_done(SOON)
assert a in m.drain_finished(), "a job calling flush() took another job's announcement"
"""),
    "api-status-in-a-job-keeps-another-announcement": ("manager", """
a = m.new(one); a.wait_done(SOON)
b = m.new(m.status); b.wait_done(SOON)
assert a in m.drain_finished(), "a job calling status() took another job's announcement"
"""),
    "api-jobs-waiting-on-each-other-are-killed": ("manager", """
gate, at_a, at_b = threading.Event(), threading.Event(), threading.Event()
a = m.new(lambda: gate.wait() and (at_a.set(), m[2].wait_done()))
b = m.new(lambda: gate.wait() and (at_b.set(), m[1].wait_done()))
gate.set(); at_a.wait(SOON); at_b.wait(SOON)
m.kill(1); m.kill(2)
a.wait_done(SOON); b.wait_done(SOON)
assert (a.state, b.state) == (JobState.KILLED, JobState.KILLED), f"mutual waiters after kill: {a.state} {b.state}"
"""),
    "api-job-kills-itself": ("manager", """
j = m.new(lambda: (m.kill(m.newest.num), spin()))
j.wait_done(SOON)
assert j.state is JobState.KILLED, j.state
"""),
    "api-coroutine-systemexit-leaves-the-loop-alive": ("asyncio", """
j = m.new(bye); j.wait_done(SOON)
assert j.state is JobState.DEAD, f"coroutine raising SystemExit: {j.state}"
assert m.new(ok).get(timeout=SOON) == "ok-async"
"""),
    "api-coroutine-keyboardinterrupt-leaves-the-loop-alive": ("asyncio", """
j = m.new(interrupted); j.wait_done(SOON)
assert j.state is JobState.DEAD, f"coroutine raising KeyboardInterrupt: {j.state}"
assert m.new(ok).get(timeout=SOON) == "ok-async"
"""),
    "api-busy-coroutine-is-killed": ("asyncio", """
j = m.new(busy)
within(lambda: os.path.exists(os.path.join(MARKS, "busy")), SOON, "busy() never started")
m.kill(j.num); j.wait_done(SOON)
assert j.state is JobState.KILLED, f"busy coroutine after kill: {j.state}"
assert m.new(ok).get(timeout=SOON) == "ok-async"
"""),
    "api-coroutine-stopping-the-loop": ("asyncio", """
j = m.new(stopper); j.wait_done(SOON)
assert m.new(ok).get(timeout=SOON) == "ok-async", "the loop stopped for good"
"""),
    "api-coroutine-blocking-the-loop-then-a-new-coroutine": ("asyncio", """
j = m.new(blocker)
within(lambda: os.path.exists(os.path.join(MARKS, "blocking")), SOON, "blocker() never started")
m.kill(j.num)
assert m.new(ok).get(timeout=SOON) == "ok-async", "a blocked loop stops every coroutine job"
"""),
    "api-a-replaced-loop-ends-once-its-held-task-has": ("asyncio", """
import threading
from bgshell.engine.runners import asyncloop
gate = threading.Event()
async def hold():
    gate.wait()  # holds the loop, in a C call, until the test lets it go
    return "held"
j = m.new(hold)
old = asyncloop.shared_loop()
within(lambda: asyncloop._held(old), SOON, "the loop never counted as held")
assert m.new(ok).get(timeout=SOON) == "ok-async", "new coroutines wait for the held loop"
assert asyncloop.shared_loop() is not old
old_thread = asyncloop.thread_of(old)
gate.set()
assert j.get(timeout=SOON) == "held"
within(lambda: old_thread not in {t.ident for t in threading.enumerate()}, SOON,
       "the replaced loop's thread outlived its last task")
assert old.is_closed()
"""),
    "api-coroutines-started-as-the-loop-is-replaced-all-run": ("asyncio", """
import threading
from bgshell.engine.runners import asyncloop
for _ in range(3):
    gate = threading.Event()
    async def hold():
        gate.wait()
    held = m.new(hold)
    old = asyncloop.shared_loop()
    within(lambda: asyncloop._held(old), SOON, "the loop never counted as held")
    started = []
    def start_many():
        for _ in range(40):
            started.append(m.new(ok))
    threads = [threading.Thread(target=start_many) for _ in range(3)]
    for t in threads: t.start()
    gate.set()  # the held loop frees itself (and may end) while jobs are being started
    for t in threads: t.join()
    held.wait_done(SOON)
    stuck = [j for j in started if not j.wait_done(SOON)]
    assert not stuck, f"{len(stuck)} coroutine jobs never ran: {[j.state for j in stuck][:3]}"
"""),
    "api-a-coroutine-stopping-a-replaced-loop-still-ends-its-job": ("asyncio", """
import threading
from bgshell.engine.runners import asyncloop
gate = threading.Event()
async def hold():
    gate.wait()
held = m.new(hold)
old = asyncloop.shared_loop()
last = m.new(stopper)  # queued on the held loop, behind hold()
within(lambda: asyncloop._held(old), SOON, "the loop never counted as held")
assert asyncloop.shared_loop() is not old  # replaced: the old one ends once idle
gate.set()
assert last.wait_done(SOON), f"the job whose coroutine stopped the replaced loop is {last.state}"
assert m.new(ok).get(timeout=SOON) == "ok-async"
"""),
    "api-process-exception-with-required-args": ("process", """
j = m.new(raise_needy, kind="process"); j.wait_done(15)
assert j.state is JobState.DEAD, j.state
assert "needs-1-2" in j.error_summary, f"summary: {j.error_summary!r}"
assert "raise_needy" in (j.traceback_text or ""), f"traceback: {j.traceback_text!r}"
"""),
    "api-process-job-with-a-grandchild": ("process", """
j = m.new(leave_grandchild, kind="process")
j.wait_done(SOON)
assert j.state is JobState.COMPLETED, f"a process job whose child outlives it is {j.state}"
"""),
    "api-kill-stops-a-thread-jobs-subprocess": ("kill", """
j = m.new(run_sleeper, "api-sleeper")
within(lambda: os.path.exists(os.path.join(MARKS, "api-sleeper")), SOON, "no sleeper")
pid = int(open(os.path.join(MARKS, "api-sleeper")).read())
m.kill(j.num)
def gone():
    try:
        with open(f"/proc/{pid}/stat") as f: return f.read().rsplit(")", 1)[1].split()[0] in "ZX"
    except OSError: return True
within(gone, 5, "the thread job's subprocess survived kill")
"""),
    "api-function-label-str-raises-systemexit": ("dunders", """
try:
    j = m.new(ExitStrCallable())
except BaseException as exc:
    raise AssertionError(f"new() raised {type(exc).__name__} from the callable's __str__")
j.wait_done(SOON)
assert str(j) == "<ExitStrCallable object>", str(j)
"""),
    "api-exception-type-without-a-name": ("dunders", """
j = m.new(raise_, Nameless("anon")); j.wait_done(SOON)
assert j.state is JobState.DEAD, f"a job raising a nameless exception type is {j.state}"
"""),
    "api-exception-str-returning-a-hostile-str": ("dunders", """
j = m.new(raise_, SliceBomb()); j.wait_done(SOON)
assert j.state is JobState.DEAD, f"a job whose exception's str is hostile is {j.state}"
"""),
    "api-redirect-stdout-in-one-job-keeps-anothers-output": ("state", """
go = threading.Event()
b = m.new(lambda: go.wait() and print("from-b"))
a = m.new(hold_redirect)
entered.wait(SOON)
go.set(); b.wait_done(SOON)
release.set(); a.wait_done(SOON)
assert b.output.text() == "from-b\\n", f"job b's print went elsewhere: {b.output.text()!r}"
"""),
    "api-raising-threading-profile-then-a-job-on-a-new-thread": ("state", """
def boom(*args):
    raise SystemExit
gate = threading.Event()
held = [m.new(gate.wait) for _ in range(3)]
threading.setprofile(boom)
j = m.new(lambda: 6 * 6)
threading.setprofile(None)
gate.set()
j.wait_done(SOON)
assert j.done(), "a job whose new thread died in a profile hook stays Running"
"""),
}


@pytest.mark.parametrize("name", list(API_CASES))
def test_api(name: str, lab: Lab) -> None:
    _, body = API_CASES[name]
    assert_api_ok(run_api(lab, body))


# =============================================================================== the catalogue

PTY_CASE_COUNT = {  # test function -> (class, number of cases)
    "test_pty_job_reading_the_terminal_waits_and_steals_no_key": ("stdin", 4),
    "test_pty_redirect_stdout_for_a_while_leaves_the_shell_audible": ("state", 1),
    "test_pty_job_replaces_sys_stdin": ("state", 1),
    "test_pty_job_lowers_the_recursion_limit": ("state", 1),
    "test_pty_switch_interval_set_by_a_job_while_the_prompt_is_up_is_kept": ("state", 1),
    "test_pty_stderr_taken_by_a_job_while_the_prompt_is_up_still_writes": ("state", 1),
    "test_pty_job_configures_logging_at_debug_level_adds_no_noise": ("state", 1),
    "test_pty_job_sends_sigint_to_the_shell": ("state", 1),
    "test_pty_kill_of_a_job_blocked_in_jobs_wait": ("manager", 1),
    "test_pty_busy_coroutine_is_killed": ("asyncio", 1),
    "test_pty_coroutine_blocking_the_loop_in_time_sleep_does_not_stop_new_coroutines": ("asyncio", 1),
    "test_pty_ctrl_c_on_an_await_while_the_loop_is_busy": ("asyncio", 1),
    "test_pty_ctrl_c_on_a_top_level_await_shows_the_users_line": ("asyncio", 1),
    "test_pty_await_of_a_coroutine_calling_sys_exit_4_leaves_with_status_4": ("asyncio", 1),
    "test_pty_completion_on_a_hostile_object": ("dunders", 6),
    "test_pty_ctrl_c_while_a_process_job_is_being_pickled": ("dunders", 1),
    "test_pty_process_job_ends_when_its_process_ends_not_its_grandchild": ("process", 1),
    "test_pty_signal_while_a_thread_job_holds_the_gil_in_c": ("signals", 2),
    "test_pty_kill_of_a_thread_job_in_time_sleep_says_why_at_once": ("kill", 1),
    "test_pty_kill_stops_a_thread_jobs_subprocess": ("kill", 1),
    "test_pty_exit_stops_a_thread_jobs_subprocess": ("kill", 1),
    "test_pty_history_given_as_a_relative_path_stays_put_after_chdir": ("display", 1),
    "test_pty_control_characters_in_a_dead_jobs_message_are_escaped": ("display", 1),
    "test_pty_term_dumb_announces_a_job_end_without_waiting_for_enter": ("display", 1),
    "test_pty_fds_exhausted_by_a_job": ("resources", 1),
    "test_pty_memory_of_a_killed_job_is_released": ("resources", 1),
}


def test_the_catalogue_has_at_least_sixty_cases_in_every_class():
    counts: dict[str, int] = {}
    for case in PIPE_CASES:
        counts[case.cls] = counts.get(case.cls, 0) + 1
    counts["asyncio"] = counts.get("asyncio", 0) + 1  # the pipe's await exits4()
    for cls, n in PTY_CASE_COUNT.values():
        counts[cls] = counts.get(cls, 0) + n
    for cls, _ in API_CASES.values():
        counts[cls] = counts.get(cls, 0) + 1
    names = [c.id for c in PIPE_CASES] + list(API_CASES)
    assert len(names) == len(set(names))
    assert set(counts) >= {"stdin", "state", "manager", "dunders", "asyncio", "process", "signals", "kill",
                           "display", "resources"}, counts
    assert sum(counts.values()) >= 60, counts
    assert set(PTY_CASE_COUNT) <= set(globals()), "PTY_CASE_COUNT names a test that does not exist"
