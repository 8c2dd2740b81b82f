"""Noticing that whoever read standard output has gone (``bgshell FILE | head``).

A Unix filter whose reader exits dies of SIGPIPE without a word, and the calling
shell reports status 141.  Python ignores SIGPIPE and raises ``BrokenPipeError`` at
every later write instead, so a script would print a traceback for each line it has
left.  bgshell keeps SIGPIPE ignored -- dying on the spot would leave process jobs
behind -- and turns the first write that finds the reader gone
into an orderly, quiet exit with the status a filter would have had.

Whether the reader is gone is asked of the kernel (``poll``: a pipe without a reader
reports POLLERR, a socket whose peer left POLLHUP), never guessed from the exception:
a ``BrokenPipeError`` from the user's own pipe to a subprocess is a normal error.
"""

from __future__ import annotations

import os
import select
import signal

__all__ = ["EXIT_STATUS", "reader_gone", "silence_stdout"]

#: What a shell reports for a filter killed by SIGPIPE.
EXIT_STATUS = 128 + signal.SIGPIPE

_STDOUT_FD = 1


def reader_gone(fd: int = _STDOUT_FD) -> bool:
    """True if *fd* is a pipe or socket that nobody reads any more."""
    try:
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        events = poller.poll(0)
    except (OSError, ValueError):
        return False
    return any(mask & (select.POLLERR | select.POLLHUP) for _, mask in events)


def silence_stdout() -> None:
    """Point fd 1 at /dev/null, so that what is still buffered for it (and the
    interpreter's last flush at exit) goes nowhere instead of failing again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, _STDOUT_FD)
    finally:
        os.close(devnull)
