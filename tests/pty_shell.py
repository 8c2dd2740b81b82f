"""Drive the installed ``bgshell`` in a real pseudo-terminal, as a user would.

Output is matched after stripping ANSI escape sequences and carriage returns:
syntax highlighting puts escapes between tokens, and prompt_toolkit draws the
prompt's trailing space as a cursor move, so the prompt shows up as ``>>>``.

Every read goes through :meth:`PtyShell.expect_text`, which accumulates the
stripped output and searches it from a cursor that moves past each match, so a
test never matches the same text twice and never depends on sleeps.

Pitfalls this module takes care of (see the project's DESIGN.md):

* ``PROMPT_TOOLKIT_NO_CPR=1``: otherwise prompt_toolkit asks the terminal for
  the cursor position, warns, and waits seconds for an answer.  The one test that
  needs CPR (the bottom toolbar) passes ``cpr="answer"``; the harness then answers
  every ``ESC [ 6 n`` request itself, like a real terminal would, whenever the
  test reads.  ``cpr="ignore"`` plays a terminal that never answers.
* Type only after a prompt is on the screen: typeahead while foreground code runs
  is echoed twice (once by the pty in cooked mode, once by prompt_toolkit).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import sys
import time
from typing import Iterable, Mapping

import pexpect

__all__ = [
    "PtyShell",
    "strip_ansi",
    "find_bgshell",
    "ROWS",
    "COLS",
    "PROMPT",
    "CONTINUATION",
    "PROMPT_AT_LINE_START",
    "CONTINUATION_AT_LINE_START",
    "CTRL_C",
    "CTRL_D",
    "CTRL_R",
    "CTRL_E",
    "TAB",
    "ENTER",
    "ESCAPE",
    "UP",
    "LEFT",
    "PASTE_START",
    "PASTE_END",
]

ROWS, COLS = 40, 120

CTRL_C = "\x03"
CTRL_D = "\x04"
CTRL_R = "\x12"
CTRL_E = "\x05"
TAB = "\t"
ENTER = "\r"
ESCAPE = "\x1b"
UP = "\x1b[A"
LEFT = "\x1b[D"
PASTE_START = "\x1b[200~"
PASTE_END = "\x1b[201~"

#: The primary prompt as it appears in stripped output (its space is a cursor move).
PROMPT = r">>>"
#: The continuation prompt, likewise.
CONTINUATION = r"\.\.\."
#: What the line editor writes when it starts reading keys: bracketed paste on.
EDITOR_UP = re.compile(re.escape("\x1b[?2004h"))
#: A fresh prompt starts a line; redraws of the line being typed do not.
PROMPT_AT_LINE_START = re.compile(r"^>>>", re.MULTILINE)
CONTINUATION_AT_LINE_START = re.compile(r"^\.\.\.", re.MULTILINE)

# ESC sequences a terminal understands, in the shapes prompt_toolkit writes them:
#   CSI: ESC [ (private marker / params / intermediates) final byte
#   OSC: ESC ] ... (BEL | ESC \)
#   two-character escapes: ESC 7, ESC 8, ESC =, ESC >, ESC ( B ...
_ANSI = re.compile(
    r"""
    \x1b\[[0-?]*[ -/]*[@-~]          # CSI ... final byte (colours, cursor moves, ?25l, ?2004h)
  | \x1b\][^\x07\x1b]*(?:\x07|\x1b\\)  # OSC ... terminator (window title)
  | \x1b[()][0-9A-Za-z]              # charset selection
  | \x1b[@-Z\\-_=>78]                # other two-character escapes
    """,
    re.VERBOSE,
)
# An escape sequence that may still be incomplete at the end of what was read.
_PARTIAL_TAIL = re.compile(r"\x1b(?:\[[0-?]*[ -/]*|\][^\x07\x1b]*\x1b?|[()])?\Z")
# Other control characters that carry no text (bell, backspace, shift in/out).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

#: A terminal's answer to a cursor-position request (ESC [ 6 n).
CPR_REQUEST = "\x1b[6n"
CPR_ANSWER = f"\x1b[{ROWS};1R"


def strip_ansi(text: str) -> str:
    """*text* without escape sequences, carriage returns and other control characters."""
    text = _ANSI.sub("", text)
    text = text.replace("\r", "")
    return _CONTROL.sub("", text)


def _as_from_a_terminal() -> None:
    """In the child before exec: the signal dispositions an interactive shell gives.

    A process started in the background of a non-interactive shell (``pytest &``)
    inherits SIGINT and SIGQUIT ignored, and Python keeps an ignored SIGINT ignored,
    so Ctrl-C would do nothing.  A user starts bgshell from an interactive shell.
    """
    for name in ("SIGINT", "SIGQUIT", "SIGHUP", "SIGTERM", "SIGPIPE"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)


def find_bgshell() -> str:
    """The ``bgshell`` command installed next to this Python (the venv's ``bin``)."""
    path = shutil.which("bgshell", path=os.path.dirname(sys.executable))
    if path is None:
        raise RuntimeError(
            f"the bgshell command is not installed next to {sys.executable}; "
            "install the project into this environment (pip install -e .[test])"
        )
    return path


class PtyShell:
    """One ``bgshell`` session in a pty.

    ``text`` holds everything the shell wrote so far, stripped; ``pos`` is where the
    next search starts.  ``raw`` keeps the unstripped output for the few tests that
    look at escape codes (colours).
    """

    def __init__(
        self,
        args: Iterable[str] = (),
        *,
        state_dir: str | os.PathLike[str],
        env: Mapping[str, str | None] | None = None,
        cpr: str = "off",
        timeout: float = 10.0,
        cwd: str | os.PathLike[str] | None = None,
    ) -> None:
        command = find_bgshell()
        environ = dict(os.environ)
        for name in ("PYTHONSTARTUP", "NO_COLOR", "PROMPT_TOOLKIT_NO_CPR", "COLUMNS", "LINES"):
            environ.pop(name, None)
        environ["TERM"] = "xterm-256color"
        environ["XDG_STATE_HOME"] = os.fspath(state_dir)
        if cpr not in ("off", "answer", "ignore"):
            raise ValueError(f"cpr must be 'off', 'answer' or 'ignore', not {cpr!r}")
        if cpr == "off":
            environ["PROMPT_TOOLKIT_NO_CPR"] = "1"
        for name, value in (env or {}).items():
            if value is None:
                environ.pop(name, None)
            else:
                environ[name] = value
        self.answer_cpr = cpr == "answer"
        self.timeout = timeout
        self.raw = ""
        self.text = ""
        self.pos = 0
        self._pending = ""  # a possibly incomplete escape sequence held back
        self.exitstatus: int | None = None
        self.signalstatus: int | None = None
        self.child = pexpect.spawn(
            command,
            list(args),
            encoding="utf-8",
            codec_errors="replace",
            dimensions=(ROWS, COLS),
            env=environ,
            cwd=os.fspath(cwd) if cwd is not None else None,
            timeout=timeout,
            echo=True,
            preexec_fn=_as_from_a_terminal,
        )
        # pexpect sleeps before every send (for password prompts) and after closing;
        # these tests synchronise on output instead, so skip the sleeps.
        self.child.delaybeforesend = None
        self.child.delayafterclose = 0.02
        self.child.delayafterterminate = 0.05

    # -- reading ------------------------------------------------------------------
    def _feed(self, chunk: str) -> None:
        self.raw += chunk
        data = self._pending + chunk
        if self.answer_cpr:
            # Answer the requests in the order they come; one answer per request.
            for _ in range(data.count(CPR_REQUEST)):
                self.child.send(CPR_ANSWER)
        tail = _PARTIAL_TAIL.search(data)
        if tail is not None and len(data) - tail.start() < 256:
            self._pending = data[tail.start():]
            data = data[: tail.start()]
        else:
            self._pending = ""
        self.text += strip_ansi(data)

    def _read_some(self, timeout: float) -> bool:
        """Read what is there (waiting up to *timeout*); False at end of file."""
        try:
            chunk = self.child.read_nonblocking(size=65536, timeout=max(timeout, 0.0))
        except pexpect.TIMEOUT:
            return True
        except pexpect.EOF:
            if self._pending:
                self.text += strip_ansi(self._pending)
                self._pending = ""
            return False
        self._feed(chunk)
        return True

    def expect_text(self, pattern: str | re.Pattern[str], timeout: float | None = None) -> re.Match[str]:
        """Wait until *pattern* (a regex) appears after the cursor; move the cursor past it.

        Fails with the text seen so far when it does not appear in *timeout* seconds
        or the shell ends first.
        """
        regex = re.compile(pattern, re.MULTILINE) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            match = regex.search(self.text, self.pos)
            if match is not None:
                self.pos = match.end()
                return match
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"timed out waiting for {regex.pattern!r}; output after the cursor:\n"
                    f"{self.text[self.pos:][-3000:]!r}"
                )
            if not self._read_some(min(remaining, 0.5)):
                match = regex.search(self.text, self.pos)
                if match is not None:
                    self.pos = match.end()
                    return match
                raise AssertionError(
                    f"bgshell ended while waiting for {regex.pattern!r}; output after the cursor:\n"
                    f"{self.text[self.pos:][-3000:]!r}"
                )

    def expect_raw(self, pattern: re.Pattern[str], start: int = 0, timeout: float | None = None) -> re.Match[str]:
        """Wait until *pattern* appears in the unstripped output from offset *start*
        (escape codes included: for the tests about colours)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            match = pattern.search(self.raw, start)
            if match is not None:
                return match
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._read_some(min(remaining, 0.5)):
                raise AssertionError(f"no {pattern.pattern!r} in the raw output; it ends {self.raw[-500:]!r}")

    def wait_editor(self, timeout: float | None = None) -> None:
        """Wait until the line editor has taken over from the early prompt (it switches
        bracketed paste on); features of the editor alone (toolbar, completion, colours)
        are there from then on."""
        self.expect_raw(EDITOR_UP, 0, timeout)

    def read_available(self, quiet: float = 0.3, limit: float = 5.0) -> str:
        """Read until the shell has been quiet for *quiet* seconds (at most *limit*
        seconds in all); return the new text.  Does not move the cursor.

        For asserting that something did *not* appear.
        """
        start = len(self.text)
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            before = len(self.raw)
            if not self._read_some(min(quiet, max(deadline - time.monotonic(), 0.0))):
                break
            if len(self.raw) == before:
                break
        return self.text[start:]

    def screen(self) -> list[str]:
        """What the terminal shows now: every byte written so far played on a pyte
        screen of the pty's size, one string per row (trailing blanks removed).

        prompt_toolkit redraws in place, so the stripped text holds every redraw;
        the screen holds only what the user sees.
        """
        import pyte

        screen = pyte.Screen(COLS, ROWS)
        stream = pyte.Stream(screen)
        stream.feed(self.raw)
        return [row.rstrip() for row in screen.display]

    def rest(self) -> str:
        """The text after the cursor (not consumed)."""
        return self.text[self.pos:]

    # -- the shell's conversation -----------------------------------------------------
    def wait_prompt(self, timeout: float | None = None) -> str:
        """Wait for the next primary prompt at the start of a line; return the text before it.

        A fresh prompt starts a line.  prompt_toolkit also redraws ``>>> `` with the
        input when the user types or presses Enter, but that redraw follows the
        previous prompt on the same (stripped) line, so it does not count.
        """
        start = self.pos
        match = self.expect_text(PROMPT_AT_LINE_START, timeout)
        return self.text[start:match.start()]

    def send(self, text: str) -> None:
        self.child.send(text)

    def sendline(self, line: str) -> None:
        """Type *line* and press Enter (the caller has waited for the prompt)."""
        self.child.send(line + ENTER)

    def run(self, line: str, timeout: float | None = None) -> str:
        """After a prompt: type one line, press Enter, return what the shell printed
        before the next prompt (the echo of the line itself left out).

        The line must fit on one screen row (``COLS`` less the prompt), since the
        echo is found by its text.
        """
        self.sendline(line)
        # The echo: prompt_toolkit redraws the accepted line, then a newline.  Matching
        # the line's own text skips any announcement (and the prompt drawn again below
        # it) that arrived while the prompt was up.
        self.expect_text(re.escape(line) + r"[ ]*\n", timeout)
        return self.wait_prompt(timeout)

    def run_lines(self, lines: Iterable[str], timeout: float | None = None) -> str:
        """Type a block one line at a time, waiting for the ``...`` prompt after each,
        and return everything from the first line's echo up to the next prompt.

        The shell indents continuation lines itself (4 spaces after a ``:``), so the
        lines of a one-level block are passed without indentation; end a block with
        an empty string, as at ``python3 -i``.
        """
        lines = list(lines)
        start = self.pos
        for line in lines[:-1]:
            self.sendline(line)
            self.expect_text(CONTINUATION_AT_LINE_START, timeout)
        self.sendline(lines[-1])
        match = self.expect_text(PROMPT_AT_LINE_START, timeout)
        return self.text[start:match.start()]

    def paste(self, block: str) -> None:
        """Paste *block* as a terminal does (bracketed paste): all at once, verbatim."""
        self.child.send(PASTE_START + block + PASTE_END)

    # -- ending -------------------------------------------------------------------------
    def expect_exit(self, timeout: float | None = None) -> int | None:
        """Wait for the shell to end; return its exit status (None if a signal ended it)."""
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        while self._read_some(min(max(deadline - time.monotonic(), 0.0), 0.5)):
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"bgshell did not exit within {limit}s; output after the cursor:\n{self.rest()[-3000:]!r}"
                )
        # End of file: the pty is closed; reap the process (it is gone or going).
        while self.child.isalive():
            if time.monotonic() >= deadline:
                raise AssertionError(f"bgshell closed its terminal but did not exit within {limit}s")
            time.sleep(0.02)
        self.child.close()
        self.exitstatus = self.child.exitstatus
        self.signalstatus = self.child.signalstatus
        return self.exitstatus

    def alive(self) -> bool:
        return self.child.isalive()

    def close(self) -> None:
        """End the shell for sure (SIGHUP, then SIGINT, then SIGKILL)."""
        if self.child.isalive():
            try:
                self.child.close(force=True)
            except Exception:
                pass
        if self.child.isalive():
            try:
                self.child.kill(9)
            except Exception:
                pass
        try:
            self.child.close(force=True)
        except Exception:
            pass

    def __enter__(self) -> "PtyShell":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

