"""The first prompt, before the line editor is ready.

Importing prompt_toolkit takes about 100 ms, most of bgshell's start.  Meanwhile (it
is imported in the UI thread) this reader, standard library only, draws the prompt at
once, echoes printable keys, handles Backspace and Ctrl-D, and runs a complete line
itself: the first answer never waits for the editor.  When the editor is ready, or
at the first key this reader leaves to it (an escape sequence, Tab, Ctrl-R, Enter on
incomplete input), it stops and hands over the line being typed and the bytes not
read yet; the editor draws its prompt over this one.
"""

from __future__ import annotations

import codecs
import os
import select
import signal
import termios
from typing import Callable

from bgshell.frontends.prompts import EOF
from bgshell.frontends.termio import STDIN, STDOUT, write_all

__all__ = ["early_read", "EarlyExit"]


class EarlyExit(Exception):
    """Ctrl-D on the empty early prompt."""


def _quiet_mode(saved: list) -> list:
    """No echo, no line editing, Enter kept as ``\\r``, Ctrl-C, Ctrl-Z and Ctrl-\\ as keys
    (not signals), as the editor reads them: a key typed while the editor takes over
    reaches it as a key."""
    quiet = [list(item) if isinstance(item, list) else item for item in saved]
    quiet[0] &= ~termios.ICRNL
    quiet[3] &= ~(termios.ECHO | termios.ICANON | termios.ISIG)
    quiet[6][termios.VMIN], quiet[6][termios.VTIME] = 1, 0
    return quiet


def early_read(prompt: Callable[[], str], ready_fd: int, is_complete: Callable[[str], bool],
               run: Callable[[object], None]) -> tuple[str, bytes, str]:
    """Draw the prompt (*prompt* gives it: ``str(sys.ps1)``, taken anew each time) and
    answer complete lines (*run* runs one in the terminal's own settings; Ctrl-D on an
    empty line runs ``EOF``) until *ready_fd* says the editor is ready.  Returns the
    line being typed, the unread bytes and the prompt shown (the editor shows the
    same one).  ``EarlyExit`` from *run*, or at the terminal's end, ends it."""
    try:
        saved = termios.tcgetattr(STDIN)
    except (termios.error, OSError):
        return "", b"", prompt()
    quiet = _quiet_mode(saved)
    _set_mode(quiet)
    reader = _EarlyLine(prompt, is_complete, run, lambda on: _set_mode(saved if on else quiet))
    handed_over = False
    try:
        _answer_until_ready(reader, ready_fd)
        if reader.leftover is not None:
            select.select([ready_fd], [], [])  # the editor takes over from here
        handed_over = True
    finally:
        reader.back_to_prompt_start()
        if not handed_over:  # else still no echo: keys typed until the editor reads wait unseen
            _set_mode(saved)
    return reader.line, (reader.leftover or b"") + reader.undecoded(), reader.shown


def _answer_until_ready(reader: _EarlyLine, ready_fd: int) -> None:
    """Draw the prompt and answer keys until the editor is ready or takes a key.

    A SIGINT here (sent by a job, say; the terminal's Ctrl-C is a key in this mode)
    is Ctrl-C at the prompt, wherever it lands, the first drawing included.  On the
    way out SIGINT is made to end nothing until the editor's own handler is in place
    (as at its idle prompt); the caller puts python's back if the editor never comes.
    """
    drawn = False
    while True:
        try:
            if not drawn:
                drawn = True
                reader.draw_prompt()
            data = _next_keys(ready_fd)
            if data is not None:
                reader.feed(data)
            if data is None or reader.leftover is not None:
                signal.signal(signal.SIGINT, _no_interrupt)
                return
        except KeyboardInterrupt:
            reader.feed(b"\x03")


def _no_interrupt(signum: int, frame: object) -> None:
    """SIGINT while the early prompt hands over to the editor: nothing to interrupt."""


def _next_keys(ready_fd: int) -> bytes | None:
    """The next bytes typed, or None once *ready_fd* says the editor is ready."""
    while True:
        try:
            ready, _, _ = select.select([STDIN, ready_fd], [], [])
        except InterruptedError:
            continue
        if ready_fd in ready and STDIN not in ready:
            return None
        try:
            data = os.read(STDIN, 4096)
        except OSError:  # the terminal hung up
            data = b""
        if not data:
            raise EarlyExit
        return data


def _set_mode(mode: list) -> None:
    try:
        termios.tcsetattr(STDIN, termios.TCSANOW, mode)
    except (termios.error, OSError):
        pass  # the terminal hung up: SIGHUP ends the shell


class _EarlyLine:
    """The line typed at the early prompt, and what to do with each key."""

    def __init__(self, prompt: Callable[[], str], is_complete: Callable[[str], bool], run: Callable[[object], None],
                 cooked: Callable[[bool], None]) -> None:
        self._prompt = prompt
        self.shown = ""
        self.line = ""
        self.leftover: bytes | None = None
        self._is_complete = is_complete
        self._run = run
        self._cooked = cooked
        self._decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")

    def feed(self, data: bytes) -> None:
        text = self._decoder.decode(data)
        echo: list[str] = []
        for index, char in enumerate(text):
            if char in "\r\n":
                if not self._is_complete(self.line):
                    self.leftover = text[index:].encode("utf-8", "surrogateescape")
                    break
                write_all(STDOUT, ("".join(echo) + "\r\n").encode("utf-8", "surrogateescape"))
                echo = []
                self._run_line()
            elif char in "\x7f\x08":
                if self.line:
                    self.line = self.line[:-1]
                    echo.append("\b \b")
            elif char == "\x03":  # Ctrl-C: the line goes, as at the editor's prompt
                write_all(STDOUT, ("".join(echo) + "\r\n").encode("utf-8", "surrogateescape"))
                echo = []
                self.line = ""
                self.draw_prompt()
            elif char == "\x04" and not self.line:
                write_all(STDOUT, ("".join(echo) + "\r\n").encode("utf-8", "surrogateescape"))
                echo = []
                self._run_line(EOF)
            elif char >= " ":
                self.line += char
                echo.append(char)
            else:  # a key for the real editor
                self.leftover = text[index:].encode("utf-8", "surrogateescape")
                break
        if echo:
            write_all(STDOUT, "".join(echo).encode("utf-8", "surrogateescape"))

    def _run_line(self, text: object = None) -> None:
        line, self.line = self.line, ""
        if text is None:
            text = line if line.strip() else None
        if text is not None:
            try:
                self._cooked(True)
                try:
                    self._run(text)
                finally:
                    self._cooked(False)
            except KeyboardInterrupt:
                # Ctrl-C after Enter, before the run's own handling began (the terminal
                # sends SIGINT from the moment it is cooked): python3 says so too.
                write_all(STDOUT, b"\r\nKeyboardInterrupt\r\n")
        self.draw_prompt()

    def draw_prompt(self) -> None:
        self.shown = self._prompt()
        write_all(STDOUT, self.shown.encode("utf-8", "replace"))

    def undecoded(self) -> bytes:
        """The start of a character whose other bytes are not read yet."""
        return self._decoder.getstate()[0]

    def back_to_prompt_start(self) -> None:
        """Back to column 0 of the prompt's first row: the editor draws over it."""
        try:
            columns = os.get_terminal_size(STDOUT).columns
        except OSError:
            columns = 80
        up = (len(self.shown) + len(self.line)) // max(columns, 1)
        write_all(STDOUT, (f"\x1b[{up}A" if up else "").encode() + b"\r")
