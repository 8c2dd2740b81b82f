"""The terminal front end: the main thread runs the user's code, the UI thread edits.

Threads (see ``ui`` for the line editor):

* the main thread runs each foreground input (``shell.handle``), and nothing else
  once the editor is up.  CPython runs signal handlers only there (``mainsignals``):
  SIGINT raises ``KeyboardInterrupt`` only if the main thread's input is still the
  foreground (not code that Ctrl-Z sent to the background); SIGTSTP only
  waits for the UI thread, which does the work; SIGWINCH only wakes it.  The C-level
  handler writes each signal to the wakeup pipe, which the UI thread reads at once,
  even while the main thread is inside a C call;
* the UI thread imports prompt_toolkit and runs the editor; until it is ready, the
  early prompt (``early_prompt``) answers in the main thread, and a relay thread does
  for Ctrl-C what the UI thread does later (``MainSignals.relay_until``);
* a helper thread runs a foreground input when the main thread is still busy with
  code that Ctrl-Z sent to the background.

Other threads block SIGINT, SIGTSTP and SIGWINCH, so the kernel hands them to the
main thread (whose blocking call they then interrupt).
"""

from __future__ import annotations

from builtins import print  # bound at import: a job replacing builtins.print cannot silence the shell
import os
import queue
import signal
import sys
import threading
from typing import Any

from bgshell.engine import capture, children, jobinput
from bgshell.engine.capture import RoutingStream
from bgshell.engine.sigmask import leave_signals_to_main
from bgshell.engine.sysguard import recursion_held
from bgshell.engine.tracebacks import describe_exception, hide_innermost
from bgshell.frontends.early_prompt import EarlyExit, early_read
from bgshell.frontends.mainsignals import MainSignals
from bgshell.frontends.prompts import EOF, prompt_text
from bgshell.frontends.termio import TerminalModes, block_quiet_signals
from bgshell.shell.foreground import DetachRequest
from bgshell.shell import termination, watchdog
from bgshell.shell.repl import ExitRequest, Shell

__all__ = ["TerminalFrontend", "TerminalStream"]

#: How long an input typed just as detached code returned waits for the main thread
#: to finish that input (seconds; it takes microseconds).
MAIN_FREE_WAIT = 0.5
#: Seconds between two tries to load the editor when a resource was missing.
EDITOR_RETRY = 1.0


#: Put in the main thread's inbox: point the signal wakeup fd at what reads it again.
REARM = object()


class TerminalStream:
    """The terminal's text stream under the shell's routing stream: foreground code
    writes straight through; while the prompt is up, what any other thread prints
    goes above it."""

    def __init__(self, real: Any, frontend: TerminalFrontend) -> None:
        self.real = real
        self._frontend = frontend

    def write(self, text: str) -> int:
        ui = self._frontend.ui
        if ui is not None and ui.editing and threading.get_ident() != getattr(ui, "ui_thread", None):
            ui.notify(text)
            return len(text)
        return self.real.write(text)

    def flush(self) -> None:
        self.real.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def _let_go(go_w: int) -> None:
    """Tell the UI and relay threads that the early prompt is over (see ``relay_until``)."""
    try:
        os.write(go_w, b"x")
    finally:
        os.close(go_w)


class TerminalFrontend(MainSignals):
    """Runs the shell at a terminal until the user leaves; ``run()`` returns the status."""

    def __init__(self, shell: Shell, *, history_path: str | None = None, notify_immediately: bool = True,
                 color: bool = True) -> None:
        self.shell = shell
        shell.interactive = True
        jobinput.serve_terminal(True)
        # Resolved now: the file stays where it was named, whatever os.chdir does later.
        self.history_path = os.path.abspath(history_path) if history_path else None
        self.notify_immediately = notify_immediately
        self.color = color
        self.ui: Any = None
        self.modes: TerminalModes | None = None
        self.exit_code: int | None = None
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()
        self._main_idle = True
        self._lock = threading.Condition()
        self._main = threading.get_ident()
        #: Signals the UI thread read on the wakeup pipe that the main thread's handler
        #: has not run for yet.
        self._unhandled: set[int] = set()
        #: The main thread is inside ``shell.handle`` (Ctrl-C stops an input even before
        #: its run has begun: the terminal gave ISIG back at Enter).
        self._handling = False
        #: Ctrl-C came after Enter, before the input reached the main thread.
        self._interrupt_pending = False
        #: Why the editor could not load yet (see ``_build_ui``), until said.
        self._editor_trouble = self._editor_trouble_said = ""
        self._try_editor_again = threading.Event()
        self._wakeup_r, self._wakeup_w = os.pipe()
        for fd in (self._wakeup_r, self._wakeup_w):
            os.set_blocking(fd, False)

    # -- start and end ------------------------------------------------------------------
    def run(self) -> int:
        from bgshell.frontends.history import open_history

        self.modes = TerminalModes()  # the settings found at start: the code's
        self.history = open_history(self.history_path)  # its warnings come before the first prompt
        ready_r, ready_w = os.pipe()
        go_r, go_w = os.pipe()  # the main thread lets the UI thread go on
        built: list[Any] = []
        self._early_signals()
        switch = sys.getswitchinterval()
        sys.setswitchinterval(0.0005)  # the early prompt answers while the import runs
        relay = threading.Thread(target=self.relay_until, args=(go_r, [watchdog.signals_fd(), self._wakeup_r]),
                                 name="bgshell-early-relay", daemon=True)
        relay.start()
        ui_thread = threading.Thread(target=self._ui_main, args=(built, relay, go_r, ready_w), name="bgshell-ui",
                                     daemon=True)
        ui_thread.start()
        try:
            partial, typeahead, shown = early_read(lambda: prompt_text("ps1"), ready_r, self._early_complete, self._early_run)
        except EarlyExit:
            if self.exit_code is None:  # the terminal is gone
                self.exit_code = self._exit_on_hangup()
            partial, typeahead, shown = "", b"", ""
        finally:
            sys.setswitchinterval(switch)
            os.close(ready_r)
        if self.exit_code is not None or not built or isinstance(built[0], BaseException):
            signal.signal(signal.SIGINT, signal.default_int_handler)  # no editor: python's Ctrl-C
            _let_go(go_w)
            if built and isinstance(built[0], BaseException):
                raise built[0]
            return self.exit_code or 0
        self.ui = built[0]
        self._install()
        built[:] = [partial, typeahead, shown]
        _let_go(go_w)
        try:
            self._serve()
        finally:
            self._stop_ui(ui_thread)
        return self.exit_code or 0

    def _early_signals(self) -> None:
        """Until the editor is up, Ctrl-C is python's (``KeyboardInterrupt`` wherever the
        main thread is), but it is noted, so that a thread of bgshell's can wake a main
        thread that missed it (``relay_until``)."""
        termination.arm_poke()
        signal.signal(signal.SIGINT, self._early_sigint)
        hide_innermost(self._early_sigint)
        self.arm_signals()

    def _ui_main(self, built: list[Any], relay: threading.Thread, go_r: int, ready_w: int) -> None:
        """The UI thread: import prompt_toolkit, build the editor, then run it."""
        import asyncio

        leave_signals_to_main()
        try:
            ui = self._build_ui()
            self.history.report = lambda warning: ui.notify(f"bgshell: {warning}\n")
            built.append(ui)
        except BaseException as exc:  # shown by the main thread
            built.append(exc)
        try:
            os.write(ready_w, b"x")
        except OSError:
            pass  # the session ended at the early prompt
        os.close(ready_w)
        relay.join()  # it ends when the early prompt does
        os.close(go_r)
        if len(built) != 3:
            return
        partial, typeahead, shown = built
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self.ui.session(partial, typeahead, shown,
                                                    [watchdog.signals_fd(), self._wakeup_r]))
        except EOFError:
            pass  # prompt_toolkit's word for a terminal that closed: the session ends (SIGHUP says how)
        finally:
            self._inbox.put(None)
            loop.close()

    def _install(self) -> None:
        """Signal handlers, the wakeup pipe, and the streams under the routing ones."""
        self.shell.jobs.add_finish_listener(self.ui.job_event)
        signal.signal(signal.SIGINT, self._on_sigint)
        hide_innermost(self._on_sigint)
        signal.signal(signal.SIGTSTP, self._on_sigtstp)
        signal.signal(signal.SIGWINCH, lambda signum, frame: None)  # only the wakeup byte matters
        termination.arm_poke()  # only interrupts a blocking call: see check_relay
        self.arm_signals()
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            if isinstance(stream, RoutingStream):
                stream.replace_passthrough(TerminalStream(stream.passthrough, self))
            else:
                setattr(sys, name, TerminalStream(stream, self))
        capture.install()
        children.track_subprocesses()  # also: any thread's processes get the main thread's mask

    def _stop_ui(self, ui_thread: threading.Thread) -> None:
        ui = self.ui
        if ui is not None:
            try:
                ui.app.loop.call_soon_threadsafe(ui.quit)
            except (RuntimeError, AttributeError):
                pass
        ui_thread.join(2)
        if self.modes is not None:
            self.modes.to_cooked()
        if not watchdog.keep_signals():
            signal.set_wakeup_fd(-1)

    # -- the early prompt -----------------------------------------------------------------
    def _build_ui(self) -> Any:
        """Import prompt_toolkit and build the editor, while the early prompt answers.

        A job typed at the early prompt may take what the import needs: the recursion
        limit is held until the editor is built (``recursion_held``), and when the
        import fails for want of a resource (no file descriptor or memory left), it is
        tried again after each input and every ``EDITOR_RETRY`` seconds, the early
        prompt answering until it succeeds (``_early_run`` says why, once).  Any other
        failure ends the session, as a broken install must.
        """
        with recursion_held():  # a job typed at the early prompt may lower the limit
            while True:
                try:
                    from bgshell.frontends.ui import UI

                    return UI(self.shell, self, history=self.history, color=self.color,
                              notify_immediately=self.notify_immediately)
                except (OSError, MemoryError, RecursionError) as exc:
                    self._editor_trouble = describe_exception(exc)
                self._try_editor_again.wait(EDITOR_RETRY)  # or sooner: after the next input
                self._try_editor_again.clear()

    def _early_complete(self, line: str) -> bool:
        return self.shell.grammar.is_complete(line, self.shell.is_bound)

    def _early_run(self, text: Any) -> None:
        if text is not EOF:
            self.history.append_string(text)  # on disk before it runs, as at the editor
        self._execute(text)
        if self.exit_code is not None:
            raise EarlyExit
        trouble = self._editor_trouble
        if trouble and trouble != self._editor_trouble_said:
            self._editor_trouble_said = trouble
            print(f"bgshell: the line editor could not load yet ({trouble}); lines are read "
                  "plainly until it can", file=sys.stderr)
        self._try_editor_again.set()

    def _exit_on_hangup(self) -> int:
        """The terminal closed at the early prompt: jobs are stopped, the shell leaves."""
        self.shell.stop_jobs()
        return 0

    # -- running inputs -------------------------------------------------------------------
    def claim_main(self) -> bool:
        """From the UI thread, before it gives the terminal to the code: take the main
        thread for the next input if it is free (False: the main thread runs code that
        Ctrl-Z sent to the background, and the input runs in a helper).  From here on a
        Ctrl-C is the input's, even before its run has begun."""
        with self._lock:
            if not self._main_idle and self.shell.foreground.of_thread(self._main) is None:
                # The code Ctrl-Z sent back has returned (its end may be announced already):
                # the main thread is finishing that input, and takes this one next.
                self._lock.wait_for(lambda: self._main_idle, MAIN_FREE_WAIT)
            free, self._main_idle = self._main_idle, False
        return free

    def dispatch(self, text: Any, token: object, free: bool) -> None:
        """From the UI thread: run *text* in the main thread if ``claim_main`` took it,
        else in a helper thread."""
        if free:
            self._inbox.put((text, token))
        else:
            threading.Thread(target=self._in_helper, args=(text, token), name="bgshell-foreground",
                             daemon=True).start()

    def _serve(self) -> None:
        """The main thread's loop: run what the UI hands over until the session ends."""
        while self.exit_code is None:
            item = self._inbox.get()
            if item is None:
                return
            if item is REARM:
                self.arm_signals()
                continue
            text, token = item
            self._execute(text)
            with self._lock:
                self._main_idle = True
                self._interrupt_pending = False  # a Ctrl-C as the input ended: not the next one's
                self._tstp_missed = False
                self._lock.notify_all()
            self.arm_signals()  # the user's asyncio may have taken the wakeup fd
            self._done(token)

    def arm_signals(self) -> None:
        """From the main thread: signal numbers go to the watchdog, which passes them on
        to the UI thread, or, without a watchdog, to the UI thread directly."""
        if not watchdog.keep_signals():
            signal.set_wakeup_fd(self._wakeup_w, warn_on_full_buffer=False)

    def signals_lost(self) -> None:
        """From the UI thread: the watchdog is gone; the main thread re-arms when idle."""
        with self._lock:
            idle = self._main_idle
        if idle:
            self._inbox.put(REARM)

    def _in_helper(self, text: Any, token: object) -> None:
        block_quiet_signals()
        self._execute(text)
        self._done(token)

    def _done(self, token: object) -> None:
        if self.exit_code is not None:
            self._leave_now()
        elif self.ui is not None:
            self.ui.foreground_done(token)

    def _execute(self, text: Any) -> None:
        """Run one input (or the end of input) and announce what ended meanwhile."""
        shell = self.shell
        try:
            if text is EOF:
                shell.request_exit(0)
            else:
                self._handling = threading.get_ident() == self._main
                try:
                    if self._handling and self._interrupt_pending:
                        self._interrupt_pending = False
                        raise KeyboardInterrupt  # Ctrl-C came between Enter and now
                    shell.handle(text)
                finally:
                    self._handling = False
        except ExitRequest as request:
            self.exit_code = request.code
        except KeyboardInterrupt:
            print("\nKeyboardInterrupt", file=sys.stderr)
        except DetachRequest:
            pass  # Ctrl-Z sent a waiting builtin back: the prompt is back
        if self.exit_code is None:
            shell.announce_finished()

    def _leave_now(self) -> None:
        """The session ends: the editor stops, and the main thread's loop too."""
        ui = self.ui
        if ui is not None:
            try:
                ui.app.loop.call_soon_threadsafe(ui.quit)
            except (RuntimeError, AttributeError):
                pass
        self._inbox.put(None)
        if threading.get_ident() != self._main and not self._main_idle:
            # The main thread runs code that Ctrl-Z sent to the background: stop it,
            # or leave without it if it cannot be stopped (a C call).
            if not self.shell.stop_jobs():
                if self.modes is not None:
                    self.modes.to_cooked()
                os._exit(self.exit_code or 0)
