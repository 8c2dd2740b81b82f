"""Shared fixtures: a fresh job manager that cleans up after itself (engine tests), and
``spawn``, bgshell started in a pty (end-to-end tests)."""

from __future__ import annotations

import pytest

from bgshell.jobs import BackgroundJobManager
from pty_shell import PtyShell

#: Seconds a pty test waits for any single thing to appear.
PTY_TIMEOUT = 10


@pytest.fixture
def jobs():
    """A new ``BackgroundJobManager``; jobs still alive at the end are killed and waited."""
    manager = BackgroundJobManager()
    yield manager
    for job in list(manager.all.values()):
        if job.is_alive():
            job.kill()
    for job in list(manager.all.values()):
        job.wait_done(timeout=10)


@pytest.fixture
def spawn(tmp_path):
    """``spawn(*args, env=..., cpr="off", wait=True)`` starts bgshell in a pty.

    ``XDG_STATE_HOME`` is a fresh directory per test (``tmp_path / "state"``), so
    history never leaks between tests or into the user's home.  Every shell is
    ended for sure at teardown.
    """
    shells: list[PtyShell] = []
    state = tmp_path / "state"
    state.mkdir()

    def _spawn(*args: str, env=None, cpr="off", wait=True) -> PtyShell:
        shell = PtyShell(args, state_dir=state, env=env, cpr=cpr, timeout=PTY_TIMEOUT, cwd=tmp_path)
        shells.append(shell)
        if wait:
            shell.wait_prompt()
        return shell

    _spawn.state_dir = state  # type: ignore[attr-defined]
    yield _spawn
    for shell in shells:
        shell.close()
