"""python3's interactive rules that only a terminal shows, and the clients that rely
on them (issue 10).  What a pipe shows is compared with python3 itself in
``test_differential.py``; here bgshell runs in a real pty (pexpect), and what the
user sees is read from the rendered screen (pyte) where redraws matter.
"""

from __future__ import annotations

import os
import re
import subprocess

import pexpect
import pytest
from pexpect import replwrap

from pty_shell import CTRL_D, CTRL_R, ENTER, LEFT, PtyShell, find_bgshell

TIMEOUT = 20
BACKSPACE = "\x7f"
CTRL_Z = "\x1a"
BGSHELL = find_bgshell()


@pytest.fixture
def spawn(tmp_path):
    shells: list[PtyShell] = []
    state = tmp_path / "state"
    state.mkdir()

    def _spawn(*args: str, env=None) -> PtyShell:
        shell = PtyShell(("-q", *args), state_dir=state, env=env, timeout=TIMEOUT, cwd=tmp_path)
        shells.append(shell)
        shell.wait_prompt()
        return shell

    yield _spawn
    for shell in shells:
        shell.close()


def values(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


# -- sys.path, sys.argv, __main__ at the prompt ---------------------------------------------
def test_a_module_in_the_current_directory_imports_at_the_prompt(spawn, tmp_path):
    (tmp_path / "mymodule.py").write_text("ANSWER = 42\n")
    shell = spawn()
    assert values(shell.run("import sys; sys.path[0], sys.argv")) == ["('', [''])"]
    assert values(shell.run("import mymodule; mymodule.ANSWER")) == ["42"]
    bin_dir = os.path.dirname(BGSHELL)
    assert values(shell.run(f"{bin_dir!r} in sys.path")) == ["False"]


# -- sys.ps1 / sys.ps2 --------------------------------------------------------------------
def test_the_prompt_is_str_of_sys_ps1_taken_at_each_prompt(spawn):
    shell = spawn()
    assert values(shell.run("import sys; sys.ps1, sys.ps2")) == ["('>>> ', '... ')"]
    shell.sendline("sys.ps1 = 'in> '")
    shell.expect_text(r"^in>", timeout=TIMEOUT)
    shell.sendline("class Counter:")
    shell.expect_text(r"^\.\.\.")
    shell.sendline("n = 0")
    shell.expect_text(r"^\.\.\.")
    shell.sendline("def __str__(self):")
    shell.expect_text(r"^\.\.\.")
    shell.sendline("Counter.n += 1; return f'[{Counter.n}]> '")
    shell.expect_text(r"^\.\.\.")
    shell.sendline("")
    shell.expect_text(r"^in>")
    shell.sendline("sys.ps1 = Counter()")
    shell.expect_text(r"^\[1\]>")
    shell.sendline("6*7")
    shell.expect_text(r"^42\n\[2\]>")
    shell.sendline("sys.ps2 = '::: '")
    shell.expect_text(r"^\[3\]>")
    shell.sendline("if True:")
    shell.expect_text(r"^:::")


def test_pexpect_replwrap_drives_bgshell_with_pythons_prompt_change(tmp_path):
    """What ``replwrap.python()`` does: set ps1/ps2 to its own markers, then run
    commands and read their output up to the next marker (echo switched off)."""
    env = dict(os.environ, XDG_STATE_HOME=str(tmp_path), PROMPT_TOOLKIT_NO_CPR="1")
    child = pexpect.spawn(BGSHELL, ["-q"], echo=False, encoding="utf-8", env=env, cwd=str(tmp_path))
    try:
        repl = replwrap.REPLWrapper(child, ">>> ", "import sys; sys.ps1={0!r}; sys.ps2={1!r}")
        assert repl.run_command("6*7", timeout=TIMEOUT).split() == ["42"]
        assert repl.run_command("def double(x):\n    return x * 2\n", timeout=TIMEOUT).strip() == ""
        assert repl.run_command("double(21)", timeout=TIMEOUT).split() == ["42"]
        started = repl.run_command("x = double(4) &", timeout=TIMEOUT)
        assert started.splitlines()[0] == "[1] x = double(4)"
        assert "[1]  Done  x = double(4)" in started + repl.run_command("wait", timeout=TIMEOUT)
        assert repl.run_command("x", timeout=TIMEOUT).split() == ["8"]
        out = repl.run_command("1/0", timeout=TIMEOUT)
        assert "ZeroDivisionError: division by zero" in out
    finally:
        child.close(force=True)


# -- Enter and Backspace --------------------------------------------------------------------
def test_enter_in_the_middle_of_a_one_line_def_runs_it(spawn):
    shell = spawn()
    shell.send("def h(n): return n + 1" + LEFT * 6 + ENTER)
    shell.wait_prompt()
    screen = "\n".join(shell.screen())
    assert ">>> def h(n): return n + 1" in screen, screen
    assert "..." not in screen, screen  # not split into two lines
    assert values(shell.run("h(41)")) == ["42"]


def test_enter_on_a_line_recalled_with_ctrl_r_runs_it_whole(spawn):
    shell = spawn()
    shell.run_lines(["def h(n): return n + 1", ""])
    shell.send(CTRL_R + "def h")
    shell.expect_text(r"I-search backward: def h")
    shell.send(ENTER)  # takes the match; the cursor is where the match was found
    shell.send(ENTER)  # runs it
    shell.wait_prompt()
    assert values(shell.run("h(1)")) == ["2"]
    assert not any(row.startswith("...") for row in shell.screen()), shell.screen()


def test_enter_in_the_middle_of_an_incomplete_line_never_splits_it(spawn):
    shell = spawn()
    shell.send("if 1 + 1 == 2:" + LEFT * 8 + ENTER)  # the cursor is inside `1 + 1`
    shell.expect_text(r"^\.\.\.")
    shell.send("x = 'kept'" + ENTER + ENTER)
    shell.wait_prompt()
    assert values(shell.run("x")) == ["'kept'"]


def test_backspace_in_the_indentation_removes_one_level(spawn):
    shell = spawn()
    shell.send("def f():" + ENTER)
    shell.expect_text(r"^\.\.\.")
    shell.send("if True:" + ENTER)  # the next line starts 8 spaces in
    shell.expect_text(r"^\.\.\.")
    shell.send("return 1" + ENTER)
    shell.expect_text(r"^\.\.\.")
    shell.send(BACKSPACE + "return 2" + ENTER + ENTER)  # one level out: 4 spaces
    shell.wait_prompt()
    assert values(shell.run("f()")) == ["1"]
    assert values(shell.run("import inspect; print(inspect.getsource(f))")) == [
        "def f():", "    if True:", "        return 1", "    return 2"]


# -- source kept for inspect, tracebacks and pdb ----------------------------------------------
def test_a_thread_jobs_traceback_shows_the_lines_typed_at_the_prompt(spawn):
    shell = spawn()
    shell.run_lines(["def g(x):", "return 10 / x", ""])
    shell.run("g(0) &")
    shell.run("wait")
    out = shell.run("traceback 1")
    assert re.search(r'File "<python-input-\d+>", line 2, in g\n\s+return 10 / x\n', out), out


def test_debug_opens_pdb_post_mortem_on_the_last_error(spawn):
    shell = spawn()
    shell.run_lines(["def inner(n):", "secret = n * 2", "return secret / 0", ""])
    shell.run("inner(21)")
    shell.sendline("debug")
    shell.expect_text(r"\(Pdb\)")
    shell.sendline("p secret")
    shell.expect_text(r"^42\n")
    shell.sendline("q")
    shell.wait_prompt()
    assert values(shell.run("6*7")) == ["42"]


def test_pdb_pm_works_after_an_error_on_a_pipe(tmp_path):
    script = "def inner(n):\n    secret = n * 2\n    return secret / 0\n\ninner(21)\nimport pdb; pdb.pm()\np secret\nq\n6*7\n"
    done = subprocess.run([BGSHELL], input=script, capture_output=True, text=True, timeout=TIMEOUT, cwd=tmp_path)
    assert "(Pdb) 42" in done.stdout, done.stdout
    assert done.stdout.rstrip().endswith("42")


# -- Ctrl-Z at an idle prompt suspends the shell, as python3 and IPython do ------------------------
def test_ctrl_z_at_an_idle_prompt_suspends_to_bash_and_fg_brings_back_a_sane_prompt(tmp_path):
    env = {"PS1": "BASH$ ", "TERM": "xterm-256color", "PROMPT_TOOLKIT_NO_CPR": "1", "HOME": str(tmp_path),
           "PATH": os.path.dirname(BGSHELL) + os.pathsep + os.environ.get("PATH", ""),
           "XDG_STATE_HOME": str(tmp_path)}
    child = pexpect.spawn("bash", ["--norc", "--noprofile", "-i"], encoding="utf-8", env=env,
                          dimensions=(40, 120), cwd=str(tmp_path), timeout=TIMEOUT)
    child.delaybeforesend = None
    try:
        child.expect_exact("BASH$ ")
        child.sendline("bgshell -q")
        child.expect(">>>")
        child.send("x = 6" + ENTER)
        child.expect(">>>")
        child.send(CTRL_Z)
        child.expect(r"Stopped\s+bgshell -q")
        child.expect_exact("BASH$ ")
        child.sendline("fg")
        child.expect(">>>")
        child.send("x * 7" + ENTER)
        child.expect(r"42\r\n")
        child.expect(">>>")
        child.send("#")  # drawn by the line editor once it reads keys again: then Ctrl-D is a key
        child.expect("#")
        child.send(BACKSPACE + CTRL_D)
        child.expect_exact("BASH$ ")
        child.sendline("echo status=$?")
        child.expect(r"status=0")
    finally:
        child.close(force=True)


# -- the manual ------------------------------------------------------------------------------
def test_the_manual_opens_with_one_documented_command(tmp_path):
    env = dict(os.environ, MANPAGER="cat", PAGER="cat", MANWIDTH="80")
    done = subprocess.run([BGSHELL, "--manual"], capture_output=True, text=True, timeout=TIMEOUT, env=env)
    assert done.returncode == 0, done.stderr
    assert "bgshell - an interactive Python shell" in done.stdout
    assert "JOB KINDS" in done.stdout
