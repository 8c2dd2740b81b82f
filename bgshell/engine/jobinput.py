"""What a thread job reads when it reads standard input.

A thread job that calls ``input()`` (or reads ``sys.stdin``, or ``getpass``, or stops
in ``breakpoint()``) would otherwise read the very terminal or pipe the shell reads
its own inputs from: at a terminal it steals the keys the user types at the prompt,
and on a pipe it eats the rest of the script.  So ``sys.stdin`` is a routing object,
as ``sys.stdout`` is (see ``capture``): outside any job it is the real stdin; inside
a job, reads go to the job's own ``JobInput``, which

* without a terminal, is empty: the job gets end of file (``EOFError`` from
  ``input()``), never the script's lines;
* at a terminal (``serve_terminal(True)``, set by the front end), waits for a line
  the user gives it (``fg N`` feeds it), and says it is waiting, once, so the shell
  can announce it (bash's "Stopped (tty input)").

A routing stdin inside a job has no ``fileno()``: ``input()`` then reads through
``readline()`` instead of the terminal's line editor.
"""

from __future__ import annotations

import io
import sys
import threading
from collections import deque
from typing import Any, Callable

from bgshell.engine.jobcontext import own_value, running_job

__all__ = ["JobInput", "RoutingInput", "serve_terminal", "install_input"]

#: How often a job waiting for input wakes up: a kill (an exception raised in its
#: thread) takes effect within this many seconds.
_WAKE_SECONDS = 0.05

_from_terminal = False


def serve_terminal(on: bool) -> None:
    """Whether jobs wait for input from the terminal (True) or see end of file."""
    global _from_terminal
    _from_terminal = on


class JobInput:
    """The lines one job may read; it waits for them only when a terminal serves it."""

    def __init__(self) -> None:
        self._lines: deque[str] = deque()
        self._ready = threading.Condition()
        self._closed = False
        #: True while the job is blocked reading.
        self.waiting = False
        #: Called (from the job's thread) each time the job starts waiting.
        self.on_wait: Callable[[], None] | None = None
        #: The prompt the job showed last (the text ``input(prompt)`` wrote).
        self.prompt = ""

    def feed(self, text: str) -> None:
        """Give the job *text* to read (a line should end in ``\\n``)."""
        with self._ready:
            self._lines.append(text)
            self._ready.notify_all()

    def close(self) -> None:
        """End of file: every read from now on returns ``""``."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()

    def readline(self, size: int = -1) -> str:
        """The next line (``""`` at end of file), waiting for one if a terminal serves jobs."""
        with self._ready:
            while not self._lines and not self._closed and _from_terminal:
                if not self.waiting:
                    self.waiting = True
                    if self.on_wait is not None:
                        self._ready.release()
                        try:
                            self.on_wait()
                        finally:
                            self._ready.acquire()
                self._ready.wait(_WAKE_SECONDS)
            self.waiting = False
            if not self._lines:
                return ""
            line = self._lines.popleft()
            if 0 <= size < len(line):
                self._lines.appendleft(line[size:])
                line = line[:size]
            return line


class _BinaryJobInput:
    """``sys.stdin.buffer`` inside a job: the same lines, as UTF-8 bytes."""

    def __init__(self, source: JobInput) -> None:
        self._source = source

    def readline(self, size: int = -1) -> bytes:
        return self._source.readline(size).encode("utf-8", "surrogateescape")

    def read(self, size: int = -1) -> bytes:
        return _read_all(self.readline, size, b"")


def _read_all(readline: Callable[[int], Any], size: int, empty: Any) -> Any:
    chunks = []
    while size < 0 or sum(map(len, chunks)) < size:
        chunk = readline(-1 if size < 0 else size - sum(map(len, chunks)))
        if not chunk:
            break
        chunks.append(chunk)
    return empty.join(chunks)


class RoutingInput:
    """``sys.stdin``: the real one outside any job, the job's ``JobInput`` inside one."""

    def __init__(self, passthrough: Any) -> None:
        self.passthrough = passthrough

    def _job_input(self) -> Any:
        """Where this job reads from (its own ``sys.stdin`` if it set one), or None
        outside any job."""
        job = running_job()
        if job is None:
            return None
        own = own_value("stdin")
        return job.input if own is None or own is self else own

    def readline(self, size: int = -1) -> str:
        source = self._job_input()
        return self.passthrough.readline(size) if source is None else source.readline(size)

    def read(self, size: int = -1) -> str:
        source = self._job_input()
        return self.passthrough.read(size) if source is None else _read_all(source.readline, size, "")

    def readlines(self, hint: int = -1) -> list[str]:
        return list(iter(self.readline, ""))

    def __iter__(self):
        return iter(self.readline, "")

    def fileno(self) -> int:
        if self._job_input() is not None:  # input() must not go to the terminal itself
            raise io.UnsupportedOperation("a job's stdin has no file descriptor")
        return self.passthrough.fileno()

    def close(self) -> None:
        """Outside any job, close the real stdin; inside one, the job's input ends
        (the shell's stdin is not the job's to close)."""
        source = self._job_input()
        if source is None:
            self.passthrough.close()
        elif isinstance(source, JobInput):
            source.close()
        else:
            source.close()

    def isatty(self) -> bool:
        return False if self._job_input() is not None else self.passthrough.isatty()

    @property
    def buffer(self) -> Any:
        source = self._job_input()
        return self.passthrough.buffer if source is None else _BinaryJobInput(source)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.passthrough, name)


def _getpass_in_jobs(original: Callable[..., str]) -> Callable[..., str]:
    """``getpass.getpass`` that, inside a job, asks through the job's input instead of
    opening the terminal itself (it would fight the prompt for the keys)."""

    def getpass(prompt: str = "Password: ", stream: Any = None) -> str:
        job = running_job()
        if job is None:
            return original(prompt, stream)
        sys.stdout.write(prompt)
        line = job.input.readline()
        if not line:
            raise EOFError
        return line.rstrip("\n")

    getpass.__doc__ = original.__doc__
    return getpass


_install_lock = threading.Lock()


def install_input() -> None:
    """Route ``sys.stdin`` and ``getpass`` for jobs (once; cheap when done already)."""
    if isinstance(sys.stdin, RoutingInput):
        return
    with _install_lock:
        if sys.stdin is not None and not isinstance(sys.stdin, RoutingInput):
            sys.stdin = RoutingInput(sys.stdin)  # type: ignore[assignment]
            import getpass

            getpass.getpass = _getpass_in_jobs(getpass.getpass)
