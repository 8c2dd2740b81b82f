"""The terminal itself: its two modes, writing to it, reading a line from it while a
job waits for one, and the signals it sends.

The line editor (``ui``) owns the terminal in raw mode while the prompt is up; while
foreground code runs, the terminal has the settings bgshell found at start (echo,
line editing, signals, flow control): what ``python3 -i`` gives its code.  One
``tcsetattr`` each way, no more.  No prompt_toolkit here.
"""

from __future__ import annotations

import ctypes
import errno
import os
import select
import signal
import termios
import threading
from typing import Callable

__all__ = [
    "STDIN", "STDOUT", "TerminalModes", "write_all", "read_line", "QUIET_SIGNALS", "block_quiet_signals",
    "stop_the_process",
]

STDIN, STDOUT = 0, 1

#: Signals that only the main thread takes (its handlers decide; the UI thread learns
#: of them through the wakeup pipe).  Other threads block them, so that the kernel
#: hands them to the main thread, whose blocking call they interrupt.
QUIET_SIGNALS = frozenset({signal.SIGINT, signal.SIGTSTP, signal.SIGWINCH})


def block_quiet_signals() -> None:
    """In a thread other than the main one: leave the quiet signals to the main thread."""
    signal.pthread_sigmask(signal.SIG_BLOCK, QUIET_SIGNALS)


def write_all(fd: int, data: bytes) -> None:
    """Write all of *data* to *fd* (a terminal may take it in pieces).  A terminal that
    hung up (EIO) takes nothing more, quietly: SIGHUP is on its way, and the shell
    leaves by it."""
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view):]
        except InterruptedError:
            continue
        except OSError as exc:
            if exc.errno != errno.EIO:
                raise
            return


class TerminalModes:
    """The terminal's settings for code (as found at start) and for the line editor
    (the raw mode prompt_toolkit sets: no echo, no line editing, no signals, no flow
    control, Enter kept as ``\r``)."""

    def __init__(self, fd: int = STDIN) -> None:
        self.fd = fd
        self.cooked = termios.tcgetattr(fd)
        raw = termios.tcgetattr(fd)
        raw[3] &= ~(termios.ECHO | termios.ICANON | termios.IEXTEN | termios.ISIG)  # lflag
        raw[0] &= ~(termios.IXON | termios.IXOFF | termios.ICRNL | termios.INLCR | termios.IGNCR)  # iflag
        raw[6][termios.VMIN] = 1
        self.raw = raw

    def to_cooked(self) -> None:
        """The code's turn: echo, line editing, Ctrl-C and Ctrl-Z as signals."""
        self._set(self.cooked)

    def to_raw(self) -> None:
        """The line editor's turn."""
        self._set(self.raw)

    def _set(self, mode: list) -> None:
        try:
            termios.tcsetattr(self.fd, termios.TCSANOW, mode)
        except (termios.error, OSError):
            pass  # the terminal is gone (hung up): nothing left to set


def read_line(wake_fd: int | None = None, fd: int = STDIN) -> str | None:
    """A line typed at the terminal (in its line-editing mode), without its newline;
    None at end of file, or when *wake_fd* becomes readable first (the reader was
    sent to the background).  Never keeps reading after that: a ``read`` blocked on
    the terminal would steal the keys of the prompt that comes back."""
    data = b""
    while not data.endswith(b"\n"):
        watched = [fd] if wake_fd is None else [fd, wake_fd]
        try:
            ready, _, _ = select.select(watched, [], [])
        except InterruptedError:
            continue
        if wake_fd is not None and wake_fd in ready:
            return None
        chunk = os.read(fd, 4096)
        if not chunk:
            return None if not data else data.decode("utf-8", "replace")
        data += chunk
    return data[:-1].decode("utf-8", "replace")


def stop_the_process(before: Callable[[], None], after: Callable[[], None]) -> None:
    """Stop the whole process as SIGTSTP's default action does (Ctrl-Z at the idle
    prompt), from a thread that blocks SIGTSTP, even though the main thread has a
    Python handler for it.

    The handler is set to the default at the C level only (prompt_toolkit does the
    same for SIGINT), the signal sent to this very thread, which stops with the
    process before ``pthread_kill`` returns; then the handler is put back.
    """
    api = ctypes.pythonapi
    api.PyOS_setsig.restype = api.PyOS_getsig.restype = ctypes.c_void_p
    api.PyOS_setsig.argtypes = (ctypes.c_int, ctypes.c_void_p)
    api.PyOS_getsig.argtypes = (ctypes.c_int,)
    before()
    previous = api.PyOS_getsig(signal.SIGTSTP)
    api.PyOS_setsig(signal.SIGTSTP, 0)  # SIG_DFL
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTSTP})
    try:
        signal.pthread_kill(threading.get_ident(), signal.SIGTSTP)
    finally:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTSTP})
        api.PyOS_setsig(signal.SIGTSTP, previous)
        after()
