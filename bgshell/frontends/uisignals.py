"""The signals the line editor acts on, read from the signal wakeup pipe in its loop
(so they arrive even while the main thread is inside a C call): Ctrl-Z while an
input runs sends it to the background, Ctrl-C is passed on to where the foreground
runs, a resize redraws; Ctrl-Z at the idle prompt (a key, in raw mode) stops the
whole shell as python3's does.  A mixin of the line editor (``ui.UI``).
"""

from __future__ import annotations

import os
import signal
from typing import Any

from bgshell.frontends.termio import STDOUT, stop_the_process, write_all
from bgshell.shell import watchdog
from bgshell.shell.joblines import short_input

__all__ = ["SignalKeys"]

#: Seconds between two looks for the run of an input that Ctrl-Z came just before,
#: and how long to look (the run begins microseconds after Enter, more under load).
CTRL_Z_RETRY, CTRL_Z_PATIENCE = 0.002, 1.0


class SignalKeys:
    """Mixed into the UI: what it does for Ctrl-Z, Ctrl-C and resizes."""

    app: Any
    shell: Any
    frontend: Any
    editing: bool
    ctrl_z_done: Any
    _size: Any

    def on_signals(self, fd: int) -> None:
        """Signal numbers, one byte each, from the watchdog or the wakeup pipe."""
        try:
            data = os.read(fd, 512)
        except (BlockingIOError, InterruptedError):
            return
        if not data:  # the watchdog is gone: the main thread points the wakeup fd here
            self.app.loop.remove_reader(fd)
            self.frontend.signals_lost()
            return
        for signum in data:
            if signum == signal.SIGTSTP:
                self.ctrl_z()
            if signum in (signal.SIGINT, signal.SIGTSTP):
                delay = self.frontend.signal_seen(signum)
                if delay is not None:
                    self.app.loop.call_later(delay, self.frontend.check_relay, signum)
            if signum == signal.SIGWINCH:
                self._size = self._query_size()
                if self.editing:
                    self.app._on_resize()

    def ctrl_z(self) -> None:
        """Ctrl-Z while an input runs: Python code goes on as a job, a builtin that waits
        stops waiting; the prompt comes back at once for code."""
        watchdog.ctrl_z_done()
        try:
            run = self.shell.foreground.current()
            write_all(STDOUT, b"\r\n")  # ends the ^Z's line
            if run is None and self.frontend.input_on_its_way():
                # Enter gave the terminal back, the input's run has not begun: Ctrl-Z
                # is for it all the same (a builtin's is sent again by the main thread).
                self.app.loop.call_later(CTRL_Z_RETRY, self._ctrl_z_once_running,
                                         self.app.loop.time() + CTRL_Z_PATIENCE)
            elif run is not None:
                self._detach(run)
        finally:
            self.ctrl_z_done.set()

    def _ctrl_z_once_running(self, give_up_at: float) -> None:
        run = self.shell.foreground.current()
        if run is not None:
            if not run.builtin:
                self._detach(run)
        elif self.frontend.input_on_its_way() and self.app.loop.time() < give_up_at:
            self.app.loop.call_later(CTRL_Z_RETRY, self._ctrl_z_once_running, give_up_at)

    def _detach(self, run: Any) -> None:
        """Python code goes on as a job and the prompt comes back (a builtin: nothing)."""
        job = self.shell.foreground.detach(run)
        if job is not None:
            write_all(STDOUT, f"[{job.num}] {short_input(job)}\r\n".encode("utf-8", "replace"))
            self.come_back(None)

    def suspend(self) -> None:
        """Ctrl-Z at the idle prompt: stop the whole shell, as python3 does; ``fg`` in
        the shell that started it brings the prompt back."""
        self.app.renderer.erase()

        def after() -> None:
            self._size = self._query_size()
            self.frontend.modes.to_raw()
            self.editing = True
            self.app._running_in_terminal = False
            self.app.renderer.reset()
            self.app._redraw()

        stop_the_process(self.leave, after)
