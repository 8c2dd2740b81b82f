"""The terminal front end, on prompt_toolkit.

Reads input with a ``PromptSession`` (``>>> `` and ``... ``, Python highlighting,
history with Ctrl-R, completion, Enter that submits only complete input), and shows
a job's end the moment it happens: a job thread only schedules the announcement on
the prompt's event loop, where ``run_in_terminal`` prints it above the prompt and
redraws what was being typed.  ``--notify=prompt`` waits for the next prompt
instead.  While jobs run, a bottom toolbar lists them (prompt_toolkit draws it only
when the terminal answers cursor-position requests; otherwise it is silently left
out).

Only the ``prompt()`` call is wrapped in ``patch_stdout``: wrapping the whole loop
would make foreground output asynchronous.
"""

from __future__ import annotations

import errno
import sys
import threading
from typing import Any, Callable, Iterable

from prompt_toolkit import PromptSession
from prompt_toolkit.application import run_in_terminal
from prompt_toolkit.application.current import set_app
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.filters import Condition, is_searching
from prompt_toolkit.key_binding import KeyBindings
from prompt_toolkit.lexers import Lexer, SimpleLexer
from prompt_toolkit.output import ColorDepth
from prompt_toolkit.patch_stdout import patch_stdout

from bgshell import capture
from bgshell.commands import BUILTINS
from bgshell.completion import complete
from bgshell.joblines import announcements, format_elapsed, short_input
from bgshell.repl import ExitRequest, Shell
from bgshell.source import is_complete

__all__ = ["TerminalFrontend"]

_KINDS = ("thread", "process")

#: The GIL switch interval while the prompt is up and thread jobs run (seconds).
PROMPT_SWITCH_INTERVAL = 0.0005

#: Input longer than this (characters) is shown without colours.  pygments takes
#: about 11 µs a character over dense input, so a pasted megabyte froze the prompt
#: for 11 s; at this size highlighting costs at most a fifth of a second.
HIGHLIGHT_LIMIT = 20_000


class SizeLimitedLexer(Lexer):
    """*lexer*, except that input longer than *limit* characters is left plain."""

    def __init__(self, lexer: Lexer, limit: int) -> None:
        self.lexer = lexer
        self.limit = limit
        self._plain = SimpleLexer()

    def lex_document(self, document: Document) -> Callable[[int], Any]:
        if len(document.text) > self.limit:
            return self._plain.lex_document(document)
        return self.lexer.lex_document(document)

    def invalidation_hash(self) -> Any:
        return self.lexer.invalidation_hash()  # the choice depends on the text, cached with it


class ShellCompleter(Completer):
    """prompt_toolkit adapter for ``bgshell.completion.complete``."""

    def __init__(self, shell: Shell) -> None:
        self.shell = shell

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterable[Completion]:
        try:
            length, candidates = complete(
                document.text_before_cursor,
                self.shell.namespace,
                BUILTINS,
                list(self.shell.jobs.all),
                _KINDS,
            )
        except Exception:  # completion must never break typing
            return
        for candidate in candidates:
            yield Completion(candidate, start_position=-length)


def _ignore_dead_terminal(previous: Any) -> Any:
    """A threading.excepthook that drops prompt_toolkit's output thread hitting EIO.

    When the terminal is closed (SIGHUP) while output flows, patch_stdout's flush
    thread fails writing to the gone pty; the shell is leaving anyway, so that is
    not worth a traceback on a terminal nobody reads.
    """

    def hook(args: Any) -> None:
        exc = args.exc_value
        if (
            isinstance(exc, OSError)
            and exc.errno == errno.EIO
            and args.thread is not None
            and args.thread.name.startswith("patch-stdout")
        ):
            return
        previous(args)

    return hook


class TerminalFrontend:
    """Runs the shell at a terminal until the user leaves; ``run()`` returns the status."""

    def __init__(
        self,
        shell: Shell,
        *,
        history: Any = None,
        notify_immediately: bool = True,
        color: bool = True,
        after_first_prompt: Callable[[], None] | None = None,
    ) -> None:
        self.shell = shell
        #: Called once the first prompt has ended (bgshell.early_prompt's restore).
        self._after_first_prompt = after_first_prompt
        shell.interactive = True
        threading.excepthook = _ignore_dead_terminal(threading.excepthook)
        self.notify_immediately = notify_immediately
        # Highlighting is switched on once the first prompt is up: building the
        # Python lexer compiles dozens of regular expressions (~50 ms, a third of
        # the start-up), which the first prompt does not need to be drawn.
        self._color = color
        self._loaded_lexer: Any = None  # built in a thread, switched on in the loop's
        self.session: PromptSession[str] = PromptSession(
            message=">>> ",
            multiline=True,
            prompt_continuation=lambda width, line, wrap: "... ",
            history=history,
            completer=ShellCompleter(shell),
            complete_while_typing=False,
            key_bindings=self._key_bindings(),
            color_depth=None if color else ColorDepth.DEPTH_1_BIT,
            include_default_pygments_style=Condition(lambda: self.session.lexer is not None),
            enable_open_in_editor=False,
        )
        # Without answers to cursor-position requests prompt_toolkit only leaves the
        # toolbar out; its warning about it would be noise over the prompt.
        self.session.app.cpr_not_supported_callback = None
        # The history's warnings are printed after the prompt returns (see
        # SafeFileHistory.report): written while it closes, they could be lost.
        self._deferred_reports: list[str] = []
        self._report: Callable[[str], None] | None = getattr(history, "report", None)
        if self._report is not None:
            history.report = self._deferred_reports.append
        self.session.app.renderer.cpr_not_supported_callback = None
        shell.jobs.add_finish_listener(self._job_ended)

    # -- reading ---------------------------------------------------------------------------
    def _key_bindings(self) -> KeyBindings:
        bindings = KeyBindings()
        shell = self.shell

        completing = Condition(lambda: self.session.app.current_buffer.complete_state is not None)

        @bindings.add("enter", filter=completing & ~is_searching)
        def _take_completion(event: Any) -> None:
            """Enter on a selected completion takes it, as in IPython; it runs nothing."""
            event.current_buffer.complete_state = None

        # Not while searching: prompt_toolkit's own Enter accepts the Ctrl-R match.
        @bindings.add("enter", filter=~completing & ~is_searching)
        def _enter(event: Any) -> None:
            buffer = event.current_buffer
            document = buffer.document
            text = document.text
            on_blank_line = not document.current_line.strip()
            candidate = text.rstrip() + "\n" if on_blank_line and "\n" in text else text
            # On the last line, Enter runs complete input wherever the cursor is
            # (as in IPython); on an earlier line it edits the block.
            on_last_line = document.cursor_position_row == document.line_count - 1
            if on_last_line and is_complete(candidate, BUILTINS, shell.is_bound):
                buffer.text = text.rstrip() if on_blank_line else text
                buffer.validate_and_handle()
                return
            indent = document.current_line_before_cursor[
                : len(document.current_line_before_cursor) - len(document.current_line_before_cursor.lstrip())
            ]
            if document.current_line_before_cursor.rstrip().endswith(":"):
                indent += "    "
            buffer.insert_text("\n" + indent)

        @bindings.add("escape", "enter")
        def _newline(event: Any) -> None:
            event.current_buffer.insert_text("\n")

        return bindings

    def _toolbar(self) -> str:
        running = self.shell.jobs.running
        if not running:
            return ""
        shown = "  ".join(
            f"[{job.num}] {short_input(job)[:24]} {format_elapsed(job.elapsed)}" for job in running[:4]
        )
        more = f"  +{len(running) - 4} more" if len(running) > 4 else ""
        return f" {len(running)} running: {shown}{more}"

    def read(self) -> str:
        """One complete input from the user (raises ``EOFError``/``KeyboardInterrupt``)."""
        running = self.shell.jobs.running
        switch_interval = sys.getswitchinterval()
        if any(job.kind == "thread" for job in running):
            # CPU-bound thread jobs hold the GIL for a whole switch interval (5 ms)
            # at a time; while the user types, hand it back ten times as often.
            sys.setswitchinterval(min(switch_interval, PROMPT_SWITCH_INTERVAL))
        try:
            with patch_stdout(raw=True):
                capture.install()  # keep job output routed past patch_stdout's own stream
                return self.session.prompt(
                    bottom_toolbar=self._toolbar if running else None,
                    refresh_interval=1.0 if running else 0,
                    pre_run=self._catch_up,
                )
        finally:
            sys.setswitchinterval(switch_interval)
            if self._report is not None:
                for report in self._deferred_reports:
                    self._report(report)
                self._deferred_reports.clear()
            if self._after_first_prompt is not None:
                # prompt_toolkit restored the settings it found (echo off): put
                # the terminal's own back before any code runs.
                self._after_first_prompt()
                self._after_first_prompt = None

    # -- announcing while the prompt is up ----------------------------------------------------
    def _job_ended(self) -> None:
        """Called from a job's thread: wake the prompt's loop (thread-safe)."""
        if not self.notify_immediately:
            return
        app = self.session.app
        loop = getattr(app, "loop", None)
        if app.is_running and loop is not None:
            try:
                loop.call_soon_threadsafe(self._announce_now, app)
            except RuntimeError:  # the loop closed between the check and the call
                pass

    def _catch_up(self) -> None:
        """The prompt is up: announce a job that ended after the loop's last look
        (from here on ``_job_ended`` reaches the running prompt, so no end is
        missed), and start loading the highlighter the first time (or switch on the
        one that finished loading after the last prompt ended).
        """
        app = self.session.app
        if self.notify_immediately:
            app.loop.call_soon(self._announce_now, app)
        if self.session.lexer is None and self._loaded_lexer is not None:
            self._use_loaded_lexer()
        if self._color and self.session.lexer is None:
            self._color = False  # build it once
            threading.Thread(target=self._load_highlighting, args=(app,), daemon=True).start()

    def _load_highlighting(self, app: Any) -> None:
        """Build the lexer in this thread; switch it on in the prompt's own.

        Setting the lexer from here could land in the middle of a render, which
        would then lex in colour but cache the style as it was before (no pygments
        colours), and that prompt would stay uncoloured.  Between two renders, in
        the loop's thread, the change of style is seen and everything is redrawn.
        """
        from prompt_toolkit.lexers import PygmentsLexer
        from pygments.lexers.python import PythonLexer

        self._loaded_lexer = SizeLimitedLexer(PygmentsLexer(PythonLexer), HIGHLIGHT_LIMIT)
        loop = app.loop
        if loop is None or not app.is_running:
            return  # the prompt ended meanwhile; the next one switches it on
        try:
            loop.call_soon_threadsafe(self._switch_on_highlighting, app)
        except RuntimeError:
            pass  # the loop closed between the check and the call: likewise

    def _switch_on_highlighting(self, app: Any) -> None:
        self._use_loaded_lexer()
        app.invalidate()  # redraws what is typed, now in colour

    def _use_loaded_lexer(self) -> None:
        # Through the session's own lexer attribute: the input area caches its
        # fragments by the text and the id of that lexer, so a new lexer object
        # re-lexes what is already typed (a lexer swapped inside a DynamicLexer
        # would leave it plain until the text changes).
        self.session.lexer = self._loaded_lexer

    def _announce_now(self, app: Any) -> None:
        if not app.is_running:
            return  # the prompt ended; the loop announces before the next one
        fresh = self.shell.jobs.drain_finished()
        if not fresh:
            return
        lines = "".join(line + "\n" for line in announcements(fresh))
        out = sys.__stdout__

        def show() -> None:
            out.write(lines)
            out.flush()

        with set_app(app):
            run_in_terminal(show)
        app.invalidate()

    # -- the loop -------------------------------------------------------------------------------
    def run(self) -> int:
        shell = self.shell
        while True:
            shell.announce_finished()
            try:
                text = self.read()
            except KeyboardInterrupt:
                continue
            except EOFError:
                try:
                    shell.request_exit(0)
                except ExitRequest as request:
                    return request.code
                continue
            try:
                shell.handle(text)
            except ExitRequest as request:
                return request.code
            except KeyboardInterrupt:
                print("\nKeyboardInterrupt", file=sys.stderr)
