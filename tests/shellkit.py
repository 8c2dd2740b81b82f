"""What the tests of the shell's builtins share: a ``repl.Shell`` that cleans up after
itself, feeding it inputs, and waiting for jobs.

Tests synchronise on events and on jobs ending, never on sleeps; ``until`` polls a
condition that no event announces (a job has started running), with a deadline
that only turns a hang into a failure.
"""

from __future__ import annotations

import builtins
import os
import shutil
import sys
import threading
import time

import pytest

from bgshell.engine.states import JobState
from bgshell.shell.repl import Shell

__all__ = ["HANG", "BGSHELL", "needs_bgshell", "shell", "run", "until", "settle", "gated"]

#: Only turns a hang into a failure; nothing asserts a time.


HANG = 60

#: The installed command, for the tests that run it (on a pipe, in a pty).


BGSHELL = shutil.which("bgshell", path=os.path.dirname(sys.executable))
needs_bgshell = pytest.mark.skipif(BGSHELL is None, reason="bgshell is not installed in this venv")


@pytest.fixture
def shell():
    """A Shell; its namespace is ``__main__`` while it lives, its jobs end with it."""
    saved_main = sys.modules.get("__main__")
    saved_exit, saved_quit = builtins.exit, builtins.quit
    sh = Shell()
    yield sh
    for job in list(sh.jobs.all.values()):
        if job.is_alive():
            job.kill(force=True)
    for value in sh.namespace.values():
        if isinstance(value, threading.Event):
            value.set()
    for job in list(sh.jobs.all.values()):
        job.wait_done(timeout=HANG)
    builtins.exit, builtins.quit = saved_exit, saved_quit
    if saved_main is not None:
        sys.modules["__main__"] = saved_main


def run(shell: Shell, capsys, *inputs: str) -> tuple[str, str]:
    for text in inputs:
        shell.handle(text)
    captured = capsys.readouterr()
    return captured.out, captured.err


def until(condition, what: str) -> None:
    """Wait for *condition()* where no event says it has come true (polling, with a
    deadline that only turns a hang into a failure)."""
    deadline = time.monotonic() + HANG
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        threading.Event().wait(0.01)


def settle(shell: Shell) -> None:
    """Wait until every job has ended, without announcing any."""
    for job in list(shell.jobs.all.values()):
        assert job.wait_done(timeout=HANG)


def gated(shell: Shell, capsys, count: int = 1) -> list[threading.Event]:
    """Start *count* jobs, job N blocked on ``gate{N}``; wait until each runs."""
    gates = []
    for _ in range(count):
        num = len(shell.jobs.all) + 1
        gate = shell.namespace[f"gate{num}"] = threading.Event()
        run(shell, capsys, f"gate{num}.wait() &")
        until(lambda: shell.jobs[num].state is JobState.RUNNING, f"job {num} runs")
        gates.append(gate)
    return gates
