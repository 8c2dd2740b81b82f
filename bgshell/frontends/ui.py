"""The line editor: one prompt_toolkit ``Application`` for the whole session, in a thread
of its own (the UI thread), with its own asyncio loop.

Enter is handled at once in the key handler: the finished input is drawn as done,
rendering stops, the terminal goes back to the settings the code gets (``leave``)
and the input goes to the thread that runs it (``frontend.dispatch``); when it has
run, ``come_back`` puts the terminal back in raw mode and draws the next prompt.  No
application, layout or thread is made per input.  While the prompt is up, job
announcements and what other threads print go above it (``abovetheprompt``); Ctrl-Z,
Ctrl-C and resizes arrive through the signal wakeup pipe even while the code runs
(``uisignals``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
from typing import Any

from prompt_toolkit.application import Application
from prompt_toolkit.data_structures import Size
from prompt_toolkit.filters import Condition, is_searching
from prompt_toolkit.input.vt100 import Vt100Input
from prompt_toolkit.key_binding import KeyBindings
from prompt_toolkit.layout import ConditionalContainer, Float, FloatContainer, FormattedTextControl, HSplit, Layout, Window
from prompt_toolkit.layout.dimension import Dimension
from prompt_toolkit.layout.menus import CompletionsMenu
from prompt_toolkit.layout.processors import HighlightIncrementalSearchProcessor, HighlightSelectionProcessor
from prompt_toolkit.lexers import DynamicLexer
from prompt_toolkit.output import ColorDepth
from prompt_toolkit.widgets import SearchToolbar

from bgshell.engine.tracebacks import describe_exception
from bgshell.frontends.abovetheprompt import AboveThePrompt
from bgshell.frontends.fastpaths import DirectReader, FastOutput, FastPaths
from bgshell.frontends.prompts import EOF, prompt_text
from bgshell.frontends.switching import SwitchInterval
from bgshell.frontends.termio import STDIN, STDOUT
from bgshell.frontends.uiparts import (
    HistoryBuffer, MemoBufferControl, completer_for, in_leading_blanks, load_lexer, next_indent, toolbar_text,
)
from bgshell.frontends.uisignals import SignalKeys

__all__ = ["UI"]


class UI(FastPaths, AboveThePrompt, SignalKeys):
    """The session's line editor (see the module's docstring)."""

    def __init__(self, shell: Any, frontend: Any, *, history: Any, color: bool, notify_immediately: bool) -> None:
        self.shell = shell
        self.frontend = frontend
        self.notify_immediately = notify_immediately
        self.editing = False  # the prompt is drawn, the terminal in raw mode, keys read
        self.done = False  # the finished input is being drawn
        self.lexer: Any = None
        self._color = color
        self._init_notes()
        self._stash: list[Any] = []  # keys typed after an Enter, in the same read
        self._detached: Any = None  # the reader's detach, while a line is typed ahead
        self._ticking = False
        #: The switch interval while the prompt is up beside thread jobs (see ``switching``).
        self.switching = SwitchInterval()
        self._size = self._query_size()
        self._ps1 = self._ps2 = ""  # taken at each prompt (the first: the early prompt's)
        self._token: object | None = None  # the foreground input the prompt waits for
        self.ctrl_z_done = threading.Event()
        self._init_fast_paths()
        self.history = history
        self.app = self._build(color)
        self._install_fast_render()

    # -- building --------------------------------------------------------------------
    def _build(self, color: bool) -> Application:
        ui = self
        self.buffer = HistoryBuffer(multiline=True, history=self.history, complete_while_typing=False,
                             completer=completer_for(self.shell, lambda text: ui.notify(f"bgshell: {text}\n")))
        self.search = SearchToolbar()
        self.control = MemoBufferControl(
            self.buffer, lexer=DynamicLexer(lambda: ui.lexer), search_buffer_control=self.search.control,
            preview_search=True, include_default_input_processors=False,
            input_processors=[HighlightIncrementalSearchProcessor(), HighlightSelectionProcessor()])
        done = Condition(lambda: ui.done)
        window = Window(self.control, get_line_prefix=self._prefix, wrap_lines=True, dont_extend_height=True,
                        height=lambda: Dimension(min=8) if self.buffer.complete_state else Dimension())
        toolbar = ConditionalContainer(
            Window(FormattedTextControl(self._toolbar), height=1, style="class:bottom-toolbar"),
            filter=Condition(self._toolbar_shown) & ~done)
        body = HSplit([
            FloatContainer(window, [Float(xcursor=True, ycursor=True, transparent=True,
                                          content=CompletionsMenu(max_height=12, scroll_offset=1, extra_filter=~done))]),
            ConditionalContainer(self.search, ~done),
            toolbar,
        ])
        # A terminal that hung up during start-up is no tty any more: no warning for it
        # (the shell is on its way out).
        Vt100Input._fds_not_a_terminal.add(STDIN)
        self.input = Vt100Input(sys.__stdin__)
        self.input.stdin_reader = DirectReader(STDIN, lambda: not ui.editing, self._detach_reader,
                                               self.switching.typed)
        app: Application = Application(
            layout=Layout(body, focused_element=window), key_bindings=self._bindings(),
            include_default_pygments_style=Condition(lambda: ui.lexer is not None),
            # No cursor position requests: the layout never needs the rows below the
            # prompt (the completion menu reserves its own), and a terminal that does not
            # answer cannot delay or garble a prompt.
            output=FastOutput(sys.__stdout__, lambda: ui._size, term=os.environ.get("TERM"), enable_cpr=False),
            input=self.input, terminal_size_polling_interval=None,
            color_depth=None if color else ColorDepth.DEPTH_1_BIT,
        )
        # prompt_toolkit's breakpoint hook would stop the editor for a pdb that runs in
        # a job and give it the terminal; a job's pdb reads the job's input instead.
        app._enable_breakpointhook = contextlib.nullcontext  # type: ignore[method-assign]
        return app

    def _prefix(self, lineno: int, wrap_count: int) -> Any:
        if wrap_count:
            return ""
        return [("class:prompt", self._ps1 if lineno == 0 else self._ps2)]

    def _toolbar_shown(self) -> bool:
        return bool(self.shell.jobs.running)

    def _toolbar(self) -> str:
        return toolbar_text(self.shell.jobs.running, self._size.columns)

    @staticmethod
    def _query_size() -> Size:
        try:
            columns, rows = os.get_terminal_size(STDOUT)
        except OSError:
            columns, rows = 80, 24
        return Size(rows=rows or 24, columns=columns or 80)

    # -- keys ------------------------------------------------------------------------
    def _bindings(self) -> KeyBindings:
        bindings, ui = KeyBindings(), self
        completing = Condition(lambda: ui.buffer.complete_state is not None)

        @bindings.add("enter", filter=completing & ~is_searching)
        def _take_completion(event: Any) -> None:
            """Enter on a selected completion takes it, as in IPython; it runs nothing."""
            event.current_buffer.complete_state = None

        # Not while searching: prompt_toolkit's own Enter accepts the Ctrl-R match.
        # Ctrl-J is Enter too, as in readline (and for programs that type "\n").
        @bindings.add("enter", filter=~completing & ~is_searching)
        @bindings.add("c-j", filter=~completing & ~is_searching)
        def _enter(event: Any) -> None:
            ui.enter(event.current_buffer)

        @bindings.add("escape", "enter")
        def _newline(event: Any) -> None:
            event.current_buffer.insert_text("\n")

        @bindings.add("backspace", filter=Condition(in_leading_blanks))
        def _dedent(event: Any) -> None:
            """Backspace in an indentation removes one level (four spaces)."""
            before = event.current_buffer.document.current_line_before_cursor
            event.current_buffer.delete_before_cursor(len(before) - (len(before) - 1) // 4 * 4)

        @bindings.add("c-c", filter=~is_searching)  # while searching: abort the search
        def _abort(event: Any) -> None:
            ui.abort_line()

        @bindings.add("c-d", filter=Condition(lambda: not ui.buffer.text))
        def _eof(event: Any) -> None:
            ui.submit(EOF)

        @bindings.add("c-z")
        def _suspend(event: Any) -> None:
            ui.suspend()

        return bindings

    def enter(self, buffer: HistoryBuffer) -> None:
        """Enter: on the last line, complete input runs wherever the cursor is (a one-line
        compound statement too); elsewhere, or while incomplete, a new line with the
        indentation, never splitting the line the cursor is in."""
        document = buffer.document
        text = document.text
        on_blank_line = not document.current_line.strip()
        candidate = text.rstrip() + "\n" if on_blank_line and "\n" in text else text
        on_last_line = document.cursor_position_row == document.line_count - 1
        mid_line = on_last_line and not document.is_cursor_at_the_end
        complete = self.shell.grammar.is_complete
        if on_last_line and (complete(candidate, self.shell.is_bound)
                             or (mid_line and complete(text + "\n", self.shell.is_bound))):
            if on_blank_line:
                buffer.text = text.rstrip()
            self.submit(buffer.text)
            return
        if mid_line:
            buffer.cursor_position = len(text)
            document = buffer.document
        buffer.insert_text("\n" + next_indent(document.current_line_before_cursor))

    def abort_line(self) -> None:
        """Ctrl-C at the prompt: the line stays on screen as typed, a new prompt below."""
        self._done_render()
        self.buffer.reset()
        self._new_prompt()

    def _done_render(self) -> None:
        self.done = True
        try:
            if not self._render_done_fast():
                self.app._redraw(render_as_done=True)
        finally:
            self.done = False

    # -- an input: leave the terminal to the code, come back after -------------------
    def submit(self, text: Any) -> None:
        """Complete input (or ``EOF``): draw it as done, give the terminal to the code,
        and have it run."""
        self._stash = self.app.key_processor.empty_queue()  # typed after the Enter
        self._done_render()
        if text is not EOF and not text.strip():
            self.buffer.reset()
            self._write_notes(self._announcements())  # an empty line shows them, as in bash
            self._new_prompt()
            return
        if text is not EOF:
            self.store_history(text)  # on disk before the code runs: a crash loses nothing
        free = self.frontend.claim_main()
        self.leave()
        self._token = token = object()
        self.ctrl_z_done.clear()
        self.frontend.dispatch(text, token, free)

    def leave(self) -> None:
        """The terminal goes to the code: its own settings, keys not read, no drawing."""
        self.app._running_in_terminal = True  # blocks every render until we are back
        self.editing = False
        self.frontend.modes.to_cooked()
        self.switching.restore()

    def _detach_reader(self) -> None:
        """A line typed ahead while code runs: stop reading until the prompt is back."""
        if self._detached is None:
            self._detached = self.input.detach()
            self._detached.__enter__()

    def foreground_done(self, token: object) -> None:
        """From the thread that ran an input: it has ended; the prompt comes back."""
        try:
            self.app.loop.call_soon_threadsafe(self.come_back, token)
        except (RuntimeError, AttributeError):
            pass  # the loop is gone: the session is over

    def come_back(self, token: object | None) -> None:
        """The code is done with the terminal (or Ctrl-Z took it back): next prompt."""
        if token is not None and token is not self._token:
            return  # an input that Ctrl-Z sent to the background: we came back already
        self._token = None
        if self._detached is not None:
            self._detached.__exit__(None, None, None)
            self._detached = None
        self.frontend.modes.to_raw()
        self._write_notes()
        self.buffer.reset()
        self._new_prompt()

    def _new_prompt(self) -> None:
        self._ps1, self._ps2 = prompt_text("ps1"), prompt_text("ps2")  # str() at each prompt
        self.editing = True
        self.app._running_in_terminal = False
        self._draw_prompt(cacheable=not self.buffer.text and not self._toolbar_shown() and not self._stash)
        if self._stash:
            keys, self._stash = self._stash, []
            self.app.key_processor.feed_multiple(keys)
            self.app.key_processor.process_keys()
        self._after_prompt()

    def _after_prompt(self) -> None:
        running = self.shell.jobs.running
        if running and any(job.kind == "thread" for job in running):
            self.switching.lower()
        if running and not self._ticking:
            self._ticking = True
            self.app.loop.call_later(1.0, self._tick)
        if self.notify_immediately:
            self.announce()

    def store_history(self, text: str) -> None:
        """Keep *text* in the history file (the buffer takes it in at the next prompt),
        unless it repeats the last entry."""
        strings = self.history.get_strings()
        if text.strip() and (not strings or strings[-1] != text):
            self.history.append_string(text)

    def _tick(self) -> None:
        """The toolbar: redrawn once a second while jobs run."""
        if not self.shell.jobs.running:
            self._ticking = False
            self.app.invalidate()
            return
        if self.editing:
            self.app.invalidate()
            self.switching.tick()
        self.app.loop.call_later(1.0, self._tick)

    # -- the session -------------------------------------------------------------------
    async def session(self, partial: str, typeahead: bytes, shown: str, signal_fds: list[int]) -> None:
        """Run the editor until the shell quits; *partial*, *typeahead* and the prompt
        *shown* are what the early prompt leaves to it."""
        self.ui_thread = threading.get_ident()
        self._ps1, self._ps2 = shown, prompt_text("ps2")
        self.app.loop = loop = asyncio.get_running_loop()
        for fd in signal_fds:
            if fd >= 0:
                loop.add_reader(fd, self.on_signals, fd)
        self.editing = True
        if self._color:
            loop.call_later(0.05, load_lexer, self._lexer_loaded)
        # What was typed at the early prompt becomes the editor's, as if typed here:
        # after the first drawing, before any read of the terminal (call_soon).
        self.app.pre_run_callables.append(lambda: loop.call_soon(self._take_over, partial, typeahead))
        # An error in a callback gets one line above the prompt, not prompt_toolkit's
        # "Press ENTER to continue" (which would wait for a key).
        loop.set_exception_handler(self._loop_error)
        await self.app.run_async(handle_sigint=False, set_exception_handler=False)
        self.editing = False

    def _take_over(self, partial: str, typeahead: bytes) -> None:
        """Before the editor reads a key: the early prompt's line and unread keys are
        its own, in order."""
        if partial:
            self.buffer.text = partial
            self.buffer.cursor_position = len(partial)
        if typeahead:
            # Through the input's own parser: a paste or an escape sequence cut in two
            # by the handover goes on with the next read.
            self.input.vt100_parser.feed(self.input.stdin_reader.decode(typeahead))
            keys, self.input._buffer = self.input._buffer, []
            self.app.key_processor.feed_multiple(keys)
            self.app.key_processor.process_keys()
        self._after_prompt()
        self.app.invalidate()

    def _loop_error(self, loop: Any, context: dict[str, Any]) -> None:
        error = context.get("exception")
        detail = describe_exception(error) if error is not None else str(context.get("message", "?"))
        self.notify(f"bgshell: internal error in the line editor (it goes on): {detail}\n")

    def _lexer_loaded(self, lexer: Any) -> None:
        """In the lexer's thread: switch highlighting on in the loop's own thread."""
        try:
            self.app.loop.call_soon_threadsafe(self._use_lexer, lexer)
        except (RuntimeError, AttributeError):
            pass  # the editor has ended

    def _use_lexer(self, lexer: Any) -> None:
        self.lexer = lexer
        self.app.invalidate()

    def quit(self) -> None:
        """End the editor (the shell leaves); the terminal keeps the code's settings."""
        if self._detached is not None:
            self._detached.__exit__(None, None, None)
            self._detached = None
        self.app._running_in_terminal = True  # no done-render: no prompt is drawn
        if self.app.is_running and not self.app.future.done():
            self.app.exit()
