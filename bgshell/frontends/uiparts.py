"""Pieces of the line editor: the completer, the lexer, the job toolbar, the input
control, and the indentation rules of Enter and Backspace.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any, Callable, Iterable

from prompt_toolkit.application.current import get_app
from prompt_toolkit.buffer import Buffer
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.layout.controls import BufferControl, UIContent
from prompt_toolkit.lexers import Lexer, SimpleLexer

from bgshell.engine.kinds import USER_KINDS
from bgshell.shell.commands import BUILTINS, JOB_BUILTINS
from bgshell.shell.completion import complete
from bgshell.shell.joblines import format_elapsed, short_input

__all__ = [
    "HIGHLIGHT_LIMIT", "SizeLimitedLexer", "completer_for", "toolbar_text", "clip_words", "next_indent", "in_leading_blanks",
    "MemoBufferControl", "HistoryBuffer", "load_lexer",
]

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


def load_lexer(done: Callable[[Lexer], None]) -> None:
    """Build the Python lexer in a thread (compiling pygments' patterns takes ~50 ms)
    and hand it to *done* there."""

    def build() -> None:
        from prompt_toolkit.lexers import PygmentsLexer
        from pygments.lexers.python import PythonLexer

        done(SizeLimitedLexer(PygmentsLexer(PythonLexer), HIGHLIGHT_LIMIT))

    threading.Thread(target=build, name="bgshell-lexer", daemon=True).start()


class _ShellCompleter(Completer):
    """``bgshell.shell.completion.complete`` for prompt_toolkit.

    Completion touches the user's objects (``__dir__``, properties), which may raise
    anything, even ``SystemExit``: nothing escapes from here.
    """

    def __init__(self, shell: Any) -> None:
        self.shell = shell

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterable[Completion]:
        try:
            length, candidates = complete(
                document.text_before_cursor, self.shell.namespace, BUILTINS, list(self.shell.jobs.all),
                USER_KINDS, JOB_BUILTINS,
            )
        except BaseException:  # completion must never break typing, or end the shell
            return
        for candidate in candidates:
            yield Completion(candidate, start_position=-length)


#: The longest Tab waits for completion before it gives up (an object whose
#: ``__dir__`` hangs): the prompt goes on, the completion's thread is left behind.
COMPLETION_PATIENCE = 0.5


class _AbandonableCompleter(Completer):
    """Runs *completer* in a thread of its own and waits a moment for it; if it does
    not finish (a hanging ``__dir__`` or property), Tab offers nothing and *report*
    says why, once, and the prompt goes on."""

    def __init__(self, completer: Completer, report: Callable[[str], None]) -> None:
        self._completer = completer
        self._report = report

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterable[Completion]:
        found: list[Completion] = []
        finished = threading.Event()

        def work() -> None:
            try:
                found.extend(self._completer.get_completions(document, complete_event))
            except BaseException:
                pass
            finished.set()

        threading.Thread(target=work, name="bgshell-completion", daemon=True).start()
        if not finished.wait(COMPLETION_PATIENCE):
            self._report(f"Tab: completion gave up after {COMPLETION_PATIENCE:g}s "
                         "(an object's __dir__ or attribute does not return)")
            return []
        return found


def completer_for(shell: Any, report: Callable[[str], None]) -> Completer:
    """The shell's completer, run in a thread of its own that the prompt can leave
    behind: an object whose ``__dir__`` hangs never freezes the prompt for long."""
    return _AbandonableCompleter(_ShellCompleter(shell), report)


#: How much of a job's input, and of the latest line it printed, the toolbar shows.
TOOLBAR_INPUT, TOOLBAR_LINE = 24, 40


def toolbar_text(jobs: list[Any], width: int) -> str:
    """One line for the running *jobs*: number, input, elapsed time and the latest line
    each printed, as many as fit in *width* without cutting a word, then ``+N more``."""
    now_parts: list[str] = []
    used = 1
    for index, job in enumerate(jobs):
        latest = job.output.last_line() if hasattr(job.output, "last_line") else ""
        part = f"[{job.num}] {clip_words(short_input(job), TOOLBAR_INPUT)} {format_elapsed(job.elapsed)}"
        if latest:
            part += " " + clip_words(latest, TOOLBAR_LINE, keep_end=True)
        more = f"  +{len(jobs) - index - 1} more" if index + 1 < len(jobs) else ""
        if used + len(part) + len(more) > width:
            if now_parts:
                return " " + "  ".join(now_parts) + f"  +{len(jobs) - index} more"
            part = clip_words(part, max(width - used - len(more), 1))
        now_parts.append(part)
        used += len(part) + 2
    return " " + "  ".join(now_parts)


def clip_words(text: str, limit: int, *, keep_end: bool = False) -> str:
    """*text* in at most *limit* characters, cut between words, ``…`` where it was cut;
    *keep_end*: the end kept (a progress line's numbers are at its end).  Only a word
    longer than the room left is cut inside."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return "…"[:limit]
    if keep_end:
        space = text.find(" ", len(text) - limit + 1)
        return "…" + (text[space + 1:] if space != -1 else text[len(text) - limit + 1:])
    space = text.rfind(" ", 0, limit)
    return (text[:space] if space > 0 else text[: limit - 1]) + "…"


def next_indent(line_before_cursor: str) -> str:
    """The indentation a new line gets: the current one, a level more after ``:``."""
    indent = line_before_cursor[: len(line_before_cursor) - len(line_before_cursor.lstrip())]
    return indent + "    " if line_before_cursor.rstrip().endswith(":") else indent


def in_leading_blanks() -> bool:
    """The cursor is in a line's indentation, past at least one space."""
    buffer = get_app().current_buffer
    before = buffer.document.current_line_before_cursor
    return bool(before) and not before.strip(" ") and not buffer.selection_state


class _Loaded:
    """Stands for the history-loading task of a buffer whose history is already in."""

    def cancel(self) -> None:
        pass


class HistoryBuffer(Buffer):
    """A ``Buffer`` that takes the history in at once, when a prompt starts, instead of
    in a background task: an Up typed before that task ran would find no history, and
    keys typed ahead must be handled in order."""

    def load_history_if_not_yet_loaded(self) -> None:
        if self._load_history_task is None:
            strings = self.history.get_strings()
            self._working_lines = deque([*strings, self.text])
            self._Buffer__working_index = len(strings)
            self._load_history_task = _Loaded()


class MemoBufferControl(BufferControl):
    """A ``BufferControl`` that makes its content once per render: a render asks for it
    four times (the heights of the split and of the window, then the drawing), about
    0.1 ms each."""

    _memo_key: Any = None
    _memo: UIContent | None = None

    def create_content(self, width: int, height: int, preview_search: bool = False) -> UIContent:
        buffer = self.buffer
        search = self.search_buffer_control
        key = (get_app().render_counter, width, preview_search, buffer.text, buffer.cursor_position,
               search.buffer.text if search is not None else None)
        if key != self._memo_key or self._memo is None:
            self._memo = BufferControl.create_content(self, width, height, preview_search)
            self._memo_key = key
        return self._memo
