"""``output N`` through a pager (issue 12), as git does: only when standard output is a
terminal and the text is taller than it; ``$PAGER``, else ``less -R``, else none;
and nothing the pager does (missing, quitting early, Ctrl-C) costs the session.

Through a ``repl.Shell`` with standard output taken for a terminal, in a child
Python for Ctrl-C (a signal to the test process itself would be too risky), and
once in a real pty.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bgshell.shell import pager
from shellkit import HANG, needs_bgshell, run, settle, shell  # noqa: F401  (shell: the fixture)
from test_python_contract import spawn  # noqa: F401  (the fixture: bgshell -q in a pty)


@pytest.fixture
def paging(monkeypatch, tmp_path):
    """stdout counts as a terminal of 80x24; ``PAGER`` copies its input to a file."""
    monkeypatch.setattr(pager, "_stdout_is_terminal", lambda: True)
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("LINES", "24")
    paged = tmp_path / "paged"
    monkeypatch.setenv("PAGER", f"sh -c 'cat > {paged}; echo \"$LESS\" > {paged}.env'")
    return paged


def test_output_taller_than_the_screen_goes_through_the_pager(shell, capsys, paging):
    run(shell, capsys, "for i in range(100): print('line', i) &")
    settle(shell)
    out, err = run(shell, capsys, "output 1")
    assert (out, err) == ("", "")
    assert paging.read_text() == "".join(f"line {i}\n" for i in range(100))
    assert Path(f"{paging}.env").read_text() == "FRX\n"  # as git sets it


def test_output_that_fits_is_printed_as_before(shell, capsys, paging):
    run(shell, capsys, "print('short') &")
    settle(shell)
    assert run(shell, capsys, "output 1") == ("short\n", "")
    assert not paging.exists()


def test_output_is_never_paged_when_stdout_is_not_a_terminal(shell, capsys, paging, monkeypatch):
    monkeypatch.setattr(pager, "_stdout_is_terminal", lambda: False)
    run(shell, capsys, "for i in range(100): print(i) &")
    settle(shell)
    out, _ = run(shell, capsys, "output 1")
    assert out.splitlines() == [str(i) for i in range(100)]
    assert not paging.exists()


def test_a_missing_pager_means_plain_output_and_one_line(shell, capsys, paging, monkeypatch):
    monkeypatch.setenv("PAGER", "no-such-pager-here -R")
    run(shell, capsys, "for i in range(100): print(i) &")
    settle(shell)
    out, err = run(shell, capsys, "output 1")
    assert out.splitlines() == [str(i) for i in range(100)]
    assert err == "output: the pager no-such-pager-here ($PAGER) is not found; shown without it\n"
    assert not shell.failed


def test_a_pager_that_quits_at_once_costs_nothing(shell, capsys, paging, monkeypatch):
    monkeypatch.setenv("PAGER", "true")
    run(shell, capsys, "for i in range(20000): print(i) &")  # more than a pipe holds
    settle(shell)
    assert run(shell, capsys, "output 1", "6 * 7") == ("42\n", "")


@pytest.mark.parametrize("value, expected", [("", None), ("cat", None), ("less -S", ["less", "-S"])])
def test_pager_choice(monkeypatch, value, expected):
    monkeypatch.setenv("PAGER", value)
    if expected and shutil.which(expected[0]) is None:
        pytest.skip(f"{expected[0]} is not installed")
    assert pager.pager_command() == expected


def test_without_pager_less_is_the_pager_when_installed(monkeypatch):
    monkeypatch.delenv("PAGER", raising=False)
    assert pager.pager_command() == (["less", "-R"] if shutil.which("less") else None)


def test_ctrl_c_in_the_pager_returns_to_the_shell(tmp_path):
    """The pager gets a Ctrl-C (SIGINT to the whole foreground group, here sent by the
    pager itself to the shell): the shell waits for the pager and carries on."""
    copy = tmp_path / "copy"
    script = textwrap.dedent(f"""
        import os, signal
        signal.signal(signal.SIGINT, signal.default_int_handler)
        from bgshell.shell import pager
        pager._stdout_is_terminal = lambda: True
        os.environ.update(COLUMNS="80", LINES="24",
                          PAGER="sh -c 'kill -INT $PPID; cat > {copy}'")
        pager.show_text("".join(f"{{i}}\\n" for i in range(500)))
        try:
            signal.raise_signal(signal.SIGINT)
        except KeyboardInterrupt:
            print("back, and Ctrl-C works again")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=HANG)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "back, and Ctrl-C works again\n"
    assert copy.read_text().count("\n") == 500


@needs_bgshell
def test_pty_output_taller_than_the_terminal_goes_through_pager(spawn, tmp_path):
    paged = tmp_path / "paged"
    shell = spawn(env={"PAGER": f"sh -c 'cat > {paged}; echo paged-by-the-pager'"})
    shell.run("print('\\n'.join(f'row {i}' for i in range(300))) &")
    shell.run("wait")
    out = shell.run("output 1")
    assert "paged-by-the-pager" in out and "row 299" not in out
    assert paged.read_text().splitlines()[-1] == "row 299"
    assert "6" in shell.run("2 * 3")
