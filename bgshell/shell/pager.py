"""Showing a long text through a pager, as git does: ``output N`` of a job that wrote
2,000 lines must not flood the screen.

The text goes through a pager only when standard output is a terminal and the
text is taller than the screen; otherwise it is written as it is (a pipe, a file,
a short text).  The pager is ``$PAGER`` (split as a shell would; empty or ``cat``
means none), else ``less -R`` when it is installed, else none.  As git does,
``LESS=FRX`` and ``LV=-c`` are set unless already set: ``-X`` leaves the text on
the screen after quitting, ``-R`` keeps colours.

Nothing a pager does may cost the session: a pager that is missing or cannot
start means the text is written plainly (with one line saying why), a pager that
quits or is killed before reading everything simply stops receiving, and Ctrl-C
typed in the pager goes to the pager alone and never interrupts the shell.
"""

from __future__ import annotations

from builtins import print  # bound at import: a job replacing builtins.print cannot silence the shell
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
from contextlib import contextmanager
from typing import Iterator

__all__ = ["show_text", "pager_command", "taller_than_screen"]

#: Environment that git gives its pager unless the user set it.
_PAGER_ENV = {"LESS": "FRX", "LV": "-c"}


def show_text(text: str, who: str = "output") -> None:
    """Write *text* to standard output, through a pager when it is taller than the
    terminal standard output is; *who* names the builtin in messages."""
    command = pager_command(who) if _stdout_is_terminal() and taller_than_screen(text) else None
    if command is None or not _run_pager(command, text, who):
        sys.stdout.write(text)


def _stdout_is_terminal() -> bool:
    try:
        return bool(sys.stdout.isatty()) and os.isatty(1)
    except (AttributeError, ValueError, OSError):
        return False


def taller_than_screen(text: str) -> bool:
    """True when *text*, wrapped at the terminal's width, needs more rows than the
    terminal has below a prompt line."""
    size = shutil.get_terminal_size()
    columns, rows = max(size.columns, 1), max(size.lines - 1, 1)
    needed = 0
    for line in text.splitlines():
        needed += max(1, -(-len(line.expandtabs()) // columns))
        if needed > rows:
            return True
    return False


def pager_command(who: str = "output") -> list[str] | None:
    """The pager to run, as an argument list, or None for none (see the module's rules)."""
    chosen = os.environ.get("PAGER")
    if chosen is None:
        return ["less", "-R"] if shutil.which("less") else None
    try:
        argv = shlex.split(chosen)
    except ValueError:
        argv = []
    if not argv or argv == ["cat"]:
        return None
    if shutil.which(argv[0]) is None:
        print(f"{who}: the pager {shlex.quote(argv[0])} ($PAGER) is not found; shown without it", file=sys.stderr)
        return None
    return argv


def _run_pager(argv: list[str], text: str, who: str) -> bool:
    """Give *text* to the pager *argv* and wait for it to end; False if it could not start."""
    sys.stdout.flush()
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    try:
        data = text.encode(encoding, "replace")
    except LookupError:
        data = text.encode("utf-8", "replace")
    environment = {**_PAGER_ENV, **os.environ}
    with _interrupts_ignored():
        try:
            pager = subprocess.Popen(argv, stdin=subprocess.PIPE, env=environment)
        except (OSError, ValueError) as exc:
            print(f"{who}: cannot start the pager {shlex.quote(argv[0])} ({exc}); shown without it", file=sys.stderr)
            return False
        try:
            pager.stdin.write(data)  # type: ignore[union-attr]
        except OSError:
            pass  # the pager quit (or was killed) before reading it all: fine
        finally:
            try:
                pager.stdin.close()  # type: ignore[union-attr]
            except OSError:
                pass
        _wait(pager)
    return True


def _wait(pager: subprocess.Popen) -> None:
    """Wait for the pager to end, whatever Ctrl-C does meanwhile."""
    while True:
        try:
            pager.wait()
            return
        except KeyboardInterrupt:
            continue


@contextmanager
def _interrupts_ignored() -> Iterator[None]:
    """While the pager runs, Ctrl-C is the pager's: the shell catches SIGINT and does
    nothing with it.  A Python handler rather than SIG_IGN, which the pager would
    inherit (handlers are reset by exec; ignored signals stay ignored)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread gets KeyboardInterrupt; _wait absorbs it anyway
        return
    previous = signal.signal(signal.SIGINT, _ignore)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)


def _ignore(signum: int, frame: object) -> None:
    """SIGINT while the pager runs: the pager has it."""
