"""The front end for a terminal that understands no escape codes (``TERM=dumb``:
Emacs' shell buffers, some IDE consoles, serial lines).

The terminal edits the line itself; bgshell writes plain prompts and reads lines,
as at a terminal whose echo is off, but a job that ends while the prompt waits is
announced at once, as bash does with ``set -b``: the announcement, then the prompt
again (the terminal keeps what was typed so far).  Inputs go to the history file as
they are read.
"""

from __future__ import annotations

import os
import select
import sys
from typing import Any

from bgshell.frontends.plain import run_prompted
from bgshell.frontends.prompts import prompt_text
from bgshell.shell.joblines import announcements, waiting_line
from bgshell.shell.repl import ExitRequest, Shell

__all__ = ["run_dumb_terminal", "is_dumb"]

STDIN = 0


def is_dumb() -> bool:
    """``TERM`` names a terminal without escape codes (what prompt_toolkit also calls dumb)."""
    return os.environ.get("TERM", "").lower() in ("dumb", "unknown")


class _DumbReader:
    """Reads one line at a time, announcing jobs that end meanwhile when asked to."""

    def __init__(self, shell: Shell, history: Any, notify_immediately: bool) -> None:
        self.shell = shell
        self.history = history
        self.notify_immediately = notify_immediately
        self._events, self._poke = os.pipe()
        for fd in (self._events, self._poke):
            os.set_blocking(fd, False)
        shell.jobs.add_finish_listener(self._job_event)

    def _job_event(self) -> None:
        try:
            os.write(self._poke, b"x")
        except OSError:
            pass  # full: a wake-up is pending anyway

    def read_line(self, prompt_name: str) -> str:
        """The next line typed (one ``read`` of a terminal in line mode gives one
        line); ``""`` at end of file."""
        while True:
            watched = [STDIN, self._events] if self.notify_immediately else [STDIN]
            ready, _, _ = select.select(watched, [], [])
            if STDIN in ready:
                try:
                    data = os.read(STDIN, 65536)
                except OSError:  # the terminal is gone
                    return ""
                if not data:  # Ctrl-D: leave, unless the exit guard lists running jobs first
                    self.shell.request_exit(0)
                    sys.stdout.write(prompt_text(prompt_name))
                    sys.stdout.flush()
                    continue
                line = data.decode("utf-8", "replace")
                if line.strip() and self.history is not None:
                    self.history.append_string(line.rstrip("\n"))
                return line
            self._announce(prompt_name)

    def _announce(self, prompt_name: str) -> None:
        try:
            while os.read(self._events, 512):
                pass
        except BlockingIOError:
            pass
        jobs = self.shell.jobs
        lines = announcements(jobs.drain_finished()) + [waiting_line(job) for job in jobs.drain_waiting()]
        if lines:
            sys.stdout.write("\n" + "".join(line + "\n" for line in lines) + prompt_text(prompt_name))
            sys.stdout.flush()


def run_dumb_terminal(shell: Shell, *, history_path: str | None, notify_immediately: bool) -> int:
    """Run the session at a dumb terminal until the user leaves (or the terminal goes);
    the exit status.  Running jobs are the caller's to stop, as after the line editor."""
    from bgshell.frontends.history import open_history

    shell.interactive = True
    history = open_history(os.path.abspath(history_path) if history_path else None)
    reader = _DumbReader(shell, history, notify_immediately)
    try:
        status = run_prompted(shell, reader.read_line)
    except ExitRequest as request:  # Ctrl-D
        status = request.code
    return status if status is not None else 0
