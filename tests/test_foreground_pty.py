"""Job control at a terminal (issue 12), end to end in a real pty: Ctrl-Z on running
code, ``fg``, ``output -f``, jobs waiting for input, and suspending the whole shell
under bash.

Code that must be "still running" when a key arrives waits for a file the test
creates, so no test depends on how fast anything is.
"""

from __future__ import annotations

import re
import termios
import time

import pytest

from pty_shell import CTRL_C, ENTER
from test_terminal import announced, nonblank

CTRL_Z = "\x1a"
TIMEOUT = 10


def wait_cooked(shell, timeout: float = TIMEOUT) -> None:
    """Wait until the input runs: the prompt gave the terminal back (ISIG on), so
    Ctrl-Z and Ctrl-C are signals for the running code, not keys for the editor."""
    deadline = time.monotonic() + timeout
    while not termios.tcgetattr(shell.child.child_fd)[3] & termios.ISIG:
        if time.monotonic() > deadline:
            raise AssertionError("the input never started running")
        time.sleep(0.01)


def start_running(shell, line: str, *, block: bool = False) -> None:
    """Type *line* (a one-line compound statement needs its empty line: *block*) and
    wait until it runs."""
    shell.sendline(line)
    shell.expect_text(re.escape(line) + r"\s*\n")
    if block:
        shell.sendline("")
    wait_cooked(shell)


def editor_up(spawn):
    """A shell whose line editor is up (before it, in the first tenth of a second, the
    early prompt runs inputs as python3 does: Ctrl-Z then stops the whole shell)."""
    shell = spawn()
    shell.wait_editor()
    return shell


@pytest.fixture
def flag(tmp_path):
    """A file whose creation ends the code under test; ``flag.path`` is what the code
    waits for, ``flag.raise_()`` creates it."""

    class Flag:
        path = "go"  # the shell, and its jobs, run in tmp_path

        @staticmethod
        def raise_() -> None:
            (tmp_path / "go").write_text("")

    return Flag()


# -------------------------------------------------------------------------- Ctrl-Z


@pytest.mark.parametrize("how", ["python-loop", "time-sleep"])
def test_ctrl_z_turns_the_running_input_into_a_job_and_gives_the_prompt_back(spawn, flag, how):
    shell = editor_up(spawn)
    shell.run("import os, time")
    step = "pass" if how == "python-loop" else "time.sleep(0.01)"
    shell.run_lines(["def work():", f"while not os.path.exists({flag.path!r}): {step}", "return 'worked'", ""])
    start_running(shell, "work()")
    shell.send(CTRL_Z)
    shell.expect_text(r"^\[1\] work\(\)$")
    shell.wait_prompt()
    # The code goes on, as a thread job: listed, and Ctrl-C at the prompt is not for it.
    assert re.search(r"^\[1\]\s+Running\b.*work\(\)", shell.run("jobs"), re.MULTILINE)
    shell.send("half" + CTRL_C)
    shell.wait_prompt()
    assert re.search(r"^\[1\]\s+Running\b", shell.run("jobs"), re.MULTILINE)
    flag.raise_()
    shell.expect_text(announced(1, "Done", r"work\(\)"), timeout=TIMEOUT)
    shell.wait_prompt()
    assert nonblank(shell.run("result 1")) == ["'worked'"]


def test_ctrl_z_on_a_call_that_holds_the_interpreter_says_it_waits_then_detaches(spawn, flag, tmp_path):
    shell = editor_up(spawn)
    start_running(shell, f"open({flag.path!r}, 'w').close() or sum(range(3 * 10**8))")
    while not (tmp_path / "go").exists():  # the sum has started (the file is made just before)
        time.sleep(0.01)
    shell.send(CTRL_Z)
    shell.expect_text(r"Ctrl-Z waits for the running call to return", timeout=TIMEOUT)
    shell.expect_text(r"^\[1\] open\(.*sum\(range\(3 \* 10\*\*8\)\)$", timeout=60)
    shell.expect_text(announced(1, "Done"), timeout=60)
    shell.wait_prompt()
    assert nonblank(shell.run("result 1")) == [str(sum(range(3 * 10**8)))]


def test_kill_reaches_code_sent_to_the_background(spawn, flag):
    shell = editor_up(spawn)
    shell.run("import os")
    start_running(shell, f"while not os.path.exists({flag.path!r}): pass", block=True)
    shell.send(CTRL_Z)
    shell.expect_text(r"^\[1\] while ")
    shell.wait_prompt()
    out = shell.run("kill 1")
    if not re.search(announced(1, "Killed", "while "), out):  # announced with kill's output, or just after
        shell.expect_text(announced(1, "Killed", "while "), timeout=TIMEOUT)
        shell.wait_prompt()
    assert nonblank(shell.run("6*7")) == ["42"]


def test_an_exception_after_ctrl_z_ends_the_job_dead_not_the_prompt(spawn, flag):
    shell = editor_up(spawn)
    shell.run("import os")
    start_running(shell, f'exec("while not os.path.exists({flag.path!r}): pass") or 1/0')
    shell.send(CTRL_Z)
    shell.expect_text(r"^\[1\] exec")
    shell.wait_prompt()
    flag.raise_()
    shell.expect_text(announced(1, "Dead", "exec") + r".*ZeroDivisionError", timeout=TIMEOUT)
    shell.wait_prompt()
    assert "ZeroDivisionError: division by zero" in shell.run("traceback 1")
    assert nonblank(shell.run("6*7")) == ["42"]


def test_ctrl_z_while_waiting_stops_the_waiting_and_the_job_runs_on(spawn, flag):
    shell = editor_up(spawn)
    shell.run("import os")
    shell.run(f'exec("while not os.path.exists({flag.path!r}): pass") &')
    start_running(shell, "wait")
    shell.send(CTRL_Z)
    shell.wait_prompt()
    assert re.search(r"^\[1\]\s+Running\b", shell.run("jobs"), re.MULTILINE)
    flag.raise_()
    shell.expect_text(announced(1, "Done"), timeout=TIMEOUT)


def test_the_next_input_runs_while_the_detached_code_holds_the_main_thread(spawn, flag):
    """The detached code keeps the thread it ran in; what is typed next runs beside it."""
    shell = editor_up(spawn)
    shell.run("import os, threading")
    start_running(shell, f"while not os.path.exists({flag.path!r}): pass", block=True)
    shell.send(CTRL_Z)
    shell.wait_prompt()
    assert nonblank(shell.run("6*7")) == ["42"]
    assert nonblank(shell.run("threading.current_thread() is threading.main_thread()")) == ["False"]
    flag.raise_()
    shell.expect_text(announced(1, "Done"), timeout=TIMEOUT)
    shell.wait_prompt()
    assert nonblank(shell.run("threading.current_thread() is threading.main_thread()")) == ["True"]


# --------------------------------------------------------------- the whole shell, under bash


def test_ctrl_z_at_the_idle_prompt_stops_the_shell_and_bash_fg_resumes_it(tmp_path):
    import pexpect

    from pty_shell import find_bgshell

    bash = pexpect.spawn("bash", ["--norc", "--noprofile", "-i"], encoding="utf-8", timeout=TIMEOUT,
                         env={"PATH": "/usr/bin:/bin", "PS1": "bash$ ", "TERM": "xterm",
                              "XDG_STATE_HOME": str(tmp_path), "PROMPT_TOOLKIT_NO_CPR": "1"},
                         dimensions=(24, 100))
    try:
        bash.expect_exact("bash$ ")
        bash.sendline(find_bgshell() + " -q")
        bash.expect_exact(">>> ")
        bash.sendline("x = 6*7")
        bash.expect_exact(">>> ")
        bash.send(CTRL_Z)
        bash.expect(r"Stopped")
        bash.expect_exact("bash$ ")
        bash.sendline("fg")
        bash.send("x" + ENTER)
        bash.expect(r"(?<![0-9])42\r\n")
        bash.sendline("exit()")
        bash.expect_exact("bash$ ")
    finally:
        bash.close(force=True)


# ------------------------------------------------------------------------------------ fg

FGKIT = '''
import asyncio, os, sys, time

def ticker(flag, end="\\n"):
    """Print a tick every 50 ms until *flag* exists; return how many."""
    count = 0
    while not os.path.exists(flag):
        print("tick", count, end=end, flush=True)
        count += 1
        time.sleep(0.05)
    return count

async def aticker(flag):
    count = 0
    while not os.path.exists(flag):
        print("tick", count, flush=True)
        count += 1
        await asyncio.sleep(0.05)
    return count
'''


@pytest.fixture
def fgkit(tmp_path):
    """``fgkit`` importable from the shell (its directory is the shell's): jobs that
    print ticks until the test's flag exists."""
    (tmp_path / "fgkit.py").write_text(FGKIT)


def start_ticker(shell, flag, kind: str) -> str:
    """Start a ticking job of *kind*; return the input's label."""
    shell.run("import fgkit")
    call = f"fgkit.aticker({flag.path!r})" if kind == "coroutine" else f"fgkit.ticker({flag.path!r})"
    shell.run(f"{call} &" if kind == "coroutine" else f"{call} &:{kind}")  # a coroutine object runs as one
    return call


def test_fg_shows_what_the_job_wrote_then_its_value_as_foreground_code(spawn, fgkit, flag):
    shell = editor_up(spawn)
    start_ticker(shell, flag, "thread")
    shell.sendline("fg")
    shell.expect_text(r"^tick 0\n")
    shell.expect_text(r"^tick 3\n", timeout=TIMEOUT)  # live: written after fg began
    flag.raise_()
    out = shell.wait_prompt()
    count = int(nonblank(out)[-1])
    assert count > 3
    assert "Done" not in out  # ended in the foreground: nothing to announce
    assert nonblank(shell.run("_ + 1")) == [str(count + 1)]  # the value is bound to _
    assert "Done" not in shell.run("6*7")


@pytest.mark.parametrize("kind", ["thread", "process", "coroutine"])
def test_ctrl_z_in_fg_sends_the_job_back_and_percent_n_brings_it_again(spawn, fgkit, flag, kind):
    shell = editor_up(spawn)
    call = start_ticker(shell, flag, kind)
    start_running(shell, "fg")
    shell.expect_text(r"^tick 1\n", timeout=TIMEOUT)
    shell.send(CTRL_Z)
    shell.expect_text(rf"^\[1\]\+ {re.escape(call)} &$")
    shell.wait_prompt()
    assert re.search(r"^\[1\]\s+Running\b", shell.run("jobs"), re.MULTILINE)
    start_running(shell, "%1")
    shell.expect_text(r"^tick 0\n")  # what it wrote so far, from the start
    flag.raise_()
    out = shell.wait_prompt()
    assert re.fullmatch(r"[0-9]+", nonblank(out)[-1]), out
    assert "Done" not in out + shell.run("6*7")  # ended in the foreground: no announcement


@pytest.mark.parametrize("kind, outcome", [
    ("thread", "KeyboardInterrupt"), ("process", "KeyboardInterrupt"), ("coroutine", "Killed|Cancelled|cancel")])
def test_ctrl_c_in_fg_interrupts_the_job(spawn, fgkit, flag, kind, outcome):
    shell = editor_up(spawn)
    start_ticker(shell, flag, kind)
    start_running(shell, "fg")
    shell.expect_text(r"^tick 1\n", timeout=TIMEOUT)
    shell.send(CTRL_C)
    out = shell.wait_prompt(timeout=TIMEOUT)
    assert re.search(outcome, out), out
    listing = shell.run("jobs")
    assert not re.search(r"Running", listing), listing
    assert nonblank(shell.run("6*7")) == ["42"]


def test_fg_answers_a_job_waiting_for_input(spawn):
    shell = editor_up(spawn)
    shell.sendline('name = input("name? ") &')
    shell.expect_text(announced(1, "Waiting for input", r"name = input"), timeout=TIMEOUT)
    shell.wait_prompt()
    start_running(shell, "fg")
    shell.expect_text(r"^name\? ")  # the job's own prompt (fg's label line has it too)
    shell.sendline("Ada")
    shell.wait_prompt(timeout=TIMEOUT)
    assert nonblank(shell.run("name")) == ["'Ada'"]


def test_output_f_follows_a_progress_line_until_ctrl_c_and_the_job_goes_on(spawn, fgkit, flag):
    shell = editor_up(spawn)
    shell.run("import fgkit")
    shell.run(f"fgkit.ticker({flag.path!r}, end='\\r') &")
    start_running(shell, "output -f 1")
    shell.expect_text(r"tick 3", timeout=TIMEOUT)  # a \r progress line, seen moving
    shell.send(CTRL_C)
    shell.expect_text(r"output -f 1 follows it again")
    shell.wait_prompt()
    assert re.search(r"^\[1\]\s+Running\b", shell.run("jobs"), re.MULTILINE)
    start_running(shell, "output -f %1")
    flag.raise_()
    shell.expect_text(r"^\[1\]  Done", timeout=TIMEOUT)
    shell.wait_prompt()


def test_fg_without_a_running_job_says_so(spawn):
    shell = editor_up(spawn)
    out = shell.run("fg")
    assert nonblank(out) == ["fg: no job is running"], out
    out = shell.run("6*7 &")
    if not re.search(announced(1, "Done"), out):  # announced with the launch, or just after
        shell.expect_text(announced(1, "Done"), timeout=TIMEOUT)
        shell.wait_prompt()
    assert "result 1 shows its outcome" in shell.run("fg 1")


def test_the_toolbar_shows_a_progress_line_moving(spawn, fgkit, flag):
    shell = editor_up(spawn)
    shell.run("import fgkit")
    shell.run(f"fgkit.ticker({flag.path!r}, end='\\r') &")  # a \r progress line, as tqdm draws

    def latest_tick() -> int | None:
        shell.read_available(0.1, limit=0.5)
        rows = [row for row in shell.screen() if row.startswith(" [1] ")]  # the toolbar, under the prompt
        found = re.search(r"^ \[1\] fgkit\.ticker\(\S* \d+\.\ds tick (\d+)$", rows[-1]) if rows else None
        return int(found.group(1)) if found else None

    deadline = time.monotonic() + TIMEOUT
    first = None
    while first is None and time.monotonic() < deadline:
        first = latest_tick()
    assert first is not None, shell.screen()
    later = first
    while later == first and time.monotonic() < deadline:  # redrawn at least once a second
        later = latest_tick()
    assert later is not None and later > first, shell.screen()
    flag.raise_()
