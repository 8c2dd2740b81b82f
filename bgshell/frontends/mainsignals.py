"""The main thread's side of Ctrl-C and Ctrl-Z in the terminal front end.

CPython runs signal handlers in the main thread only, which runs the user's code; the
UI thread reads each signal from the wakeup pipe at once.  Ctrl-C raises
``KeyboardInterrupt`` only for the foreground's input (never for code that Ctrl-Z
sent to the background), including an input taken at Enter whose run has not begun;
Ctrl-Z's work is the UI thread's, the handler only waits for it.  When the main
thread is asleep in a blocking call and the signal went to another thread, the UI
thread wakes it (``check_relay``) with a signal of its own, whose handler does nothing,
so no handler ever runs twice.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
from typing import Any

from bgshell.engine.runners.thread import raise_in_thread
from bgshell.engine.sigmask import leave_signals_to_main
from bgshell.shell.follow import INTERRUPT
from bgshell.shell.foreground import DetachRequest
from bgshell.shell.watchdog import POKE

__all__ = ["MainSignals", "SIGNAL_RELAY_DELAY", "CTRL_Z_WAIT"]

#: The longest the main thread's SIGTSTP handler waits for the UI thread.
CTRL_Z_WAIT = 0.1

#: How long the UI thread gives the main thread to run its Ctrl-C or Ctrl-Z handler
#: before it sends the signal again (seconds; see ``check_relay``).
SIGNAL_RELAY_DELAY = 0.03


class MainSignals:
    """Mixed into ``TerminalFrontend``: the handlers, and the relay the UI thread runs."""

    shell: Any
    ui: Any
    _main: int
    _main_idle: bool
    _handling: bool
    _interrupt_pending: bool
    #: Ctrl-Z reached the main thread after Enter, before the input's run had begun.
    _tstp_missed: bool = False
    _unhandled: set[int]

    def _on_sigint(self, signum: int, frame: Any) -> None:
        """Ctrl-C while code runs: only the foreground's code is interrupted."""
        self._unhandled.discard(signum)
        foreground = self.shell.foreground
        if foreground.interruptible(self._main):
            raise KeyboardInterrupt
        if self.input_on_its_way():
            if self._handling:
                raise KeyboardInterrupt  # the input's run has not begun yet: python3 stops it too
            self._interrupt_pending = True  # the input is on its way to this thread

    def _on_sigtstp(self, signum: int, frame: Any) -> None:
        """Ctrl-Z while code runs: the UI thread does the work (the wakeup byte told it,
        even if this handler runs late); here the main thread only waits for it, so
        the UI thread need not fight for the interpreter at every step.  A builtin that
        waits in this thread stops waiting."""
        self._unhandled.discard(signum)
        if self.ui is not None and self.input_on_its_way():
            self._tstp_missed = True  # sent again once its run has begun: see check_relay
        run = self.shell.foreground.of_thread(self._main)
        if self.ui is None or run is None:
            return
        self.ui.ctrl_z_done.wait(CTRL_Z_WAIT)
        if run.builtin and not run.finished:
            raise DetachRequest

    def _early_sigint(self, signum: int, frame: Any) -> None:
        """Ctrl-C before the editor is up: python's, and noted (see ``relay_until``)."""
        self._unhandled.discard(signum)
        raise KeyboardInterrupt

    def relay_until(self, go_fd: int, signal_fds: list[int]) -> None:
        """A thread of its own while the early prompt answers (the UI thread is busy
        importing the editor, then waits for an early input to end): until *go_fd* says
        the early prompt is over, a Ctrl-C (its number read on one of *signal_fds*) that
        the main thread has not acted on wakes it up, as ``check_relay`` does for the
        editor.  Other numbers read here are dropped: the editor has no handler for them
        yet (it reads the terminal's size anew)."""
        leave_signals_to_main()
        watched = [go_fd] + [fd for fd in signal_fds if fd >= 0]
        while go_fd not in select.select(watched, [], [])[0]:
            for fd in select.select(watched[1:], [], [], 0)[0]:
                with contextlib.suppress(BlockingIOError, InterruptedError):
                    numbers = os.read(fd, 512)
                    if not numbers:  # the watchdog is gone: the editor sees to it
                        watched.remove(fd)
                    elif signal.SIGINT in numbers:
                        self._unhandled.add(signal.SIGINT)
            if signal.SIGINT in self._unhandled and not select.select([go_fd], [], [], SIGNAL_RELAY_DELAY)[0]:
                self.check_relay(signal.SIGINT)
        self._unhandled.discard(signal.SIGINT)

    def signal_seen(self, signum: int) -> float | None:
        """From the UI thread, which read *signum* on the wakeup pipe.  Ctrl-C for a
        foreground input that runs in a helper is raised there.  Returns when to check
        that the main thread ran its handler (None: no need; see ``check_relay``)."""
        self._unhandled.add(signum)
        run = self.shell.foreground.current()
        if signum == signal.SIGINT and run is not None and run.thread_id != self._main:
            if run.builtin:
                run.wake(INTERRUPT)
            else:
                raise_in_thread(run.thread_id, KeyboardInterrupt)
            return None
        if self._main_needs(signum) or (signum == signal.SIGTSTP and not self._main_idle):
            return SIGNAL_RELAY_DELAY
        return None

    def check_relay(self, signum: int) -> None:
        """From the UI thread, a moment after *signum* came: if the main thread needs its
        handler and has not run it, wake the main thread up so that it runs it.
        The kernel may have handed the first one to another thread (then the main
        thread, asleep in a C call, never heard of it), or it landed just before the
        main thread entered a blocking call (``time.sleep``), which only set CPython's
        flag.  What is sent is ``POKE``, whose handler does nothing: it interrupts the
        blocking call, and Python then runs the handler of the signal still pending;
        if that handler ran after all (this thread read the signal late), nothing
        runs twice."""
        if signum == signal.SIGTSTP and self._tstp_missed and self._main_needs(signum):
            self._tstp_missed = False  # it came before the builtin's run began: once more
            signal.pthread_kill(self._main, signal.SIGTSTP)
        elif signum in self._unhandled and self._main_needs(signum):
            self._unhandled.discard(signum)
            signal.pthread_kill(self._main, POKE)

    def input_on_its_way(self) -> bool:
        """The main thread has taken an input (at Enter) whose run has not begun yet.
        Read from any thread, without a lock: the UI thread only polls it."""
        return not self._main_idle and self.shell.foreground.of_thread(self._main) is None

    def _main_needs(self, signum: int) -> bool:
        """Ctrl-C: the main thread runs the foreground; Ctrl-Z: it runs a builtin that
        waits (its handler tells it to stop waiting)."""
        if signum == signal.SIGINT:
            foreground = self.shell.foreground
            return foreground.interruptible(self._main) or self.input_on_its_way()
        run = self.shell.foreground.of_thread(self._main)
        return signum == signal.SIGTSTP and run is not None and run.builtin and not run.finished
