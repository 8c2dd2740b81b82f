"""Per-job output: each thread job's prints go to that job's own bounded buffer.

Thread jobs share ``sys.stdout`` with the prompt, which is why the seed's manager says
"background jobs are best used with silent functions".  Here one routing stream is
installed as ``sys.stdout`` and one as ``sys.stderr``; each write looks up the job
that is running in the current ``contextvars`` context (every thread job runs in a
context of its own) and goes to that job's buffer, or, outside any job, to the stream
that was there before.  A context variable rather than a thread id, because a job
that hands work to ``asyncio`` or to a worker thread that copies its context keeps
its identity.

What cannot be routed this way (and is documented in the man page): writes to file
descriptors 1 and 2 made by C code or subprocesses, writes to ``sys.__stdout__``, and
plain threads that a job starts, which begin with an empty context.  Process jobs
capture all of it, at the file-descriptor level.
"""

from __future__ import annotations

import sys
import threading
from collections import deque
from typing import Any, TextIO

from bgshell.engine.children import track_subprocesses
from bgshell.engine.jobcontext import current_job, current_output, output_buffer, own_value, running_job
from bgshell.engine.jobinput import install_input
from bgshell.engine.sysguard import install_guard

__all__ = ["JobOutput", "RoutingStream", "current_output", "current_job", "install", "DEFAULT_LIMIT"]

#: How many characters a job keeps; beyond that the oldest are dropped (with a note).
DEFAULT_LIMIT = 4 * 1024 * 1024


#: How far back from the end ``last_line`` looks (characters).
LAST_LINE_SPAN = 400


class JobOutput:
    """A bounded, thread-safe record of what one job wrote, stdout and stderr merged.

    Bounded so that a job printing in a loop cannot exhaust memory: when more than
    *limit* characters are held, whole chunks are dropped from the front and counted,
    so ``text()`` can say how much is missing instead of pretending nothing is.
    """

    __slots__ = ("limit", "_chunks", "_held", "_written", "_dropped", "_lock", "_watchers")

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self.limit = limit
        self._chunks: deque[str] | None = None  # made on the first write: most jobs print nothing
        self._held = 0
        self._written = 0
        self._dropped = 0
        self._lock = threading.Lock()
        self._watchers: list[Any] | None = None  # callbacks told of each write (``watch``)

    def watch(self, callback: Any) -> None:
        """Call *callback()* after each write (from the writing thread) until ``unwatch``:
        how ``fg`` and ``output -f`` follow a job live."""
        with self._lock:
            self._watchers = [*(self._watchers or []), callback]

    def unwatch(self, callback: Any) -> None:
        with self._lock:
            kept = [watcher for watcher in (self._watchers or []) if watcher is not callback]
            self._watchers = kept or None

    def write(self, text: str) -> None:
        """Append *text*, dropping the oldest characters if the limit is passed."""
        if not text:
            return
        self._append(text)
        watchers = self._watchers
        if watchers:
            for watcher in watchers:
                watcher()

    def _append(self, text: str) -> None:
        with self._lock:
            if self._chunks is None:
                self._chunks = deque()
            if len(text) > self.limit:
                cut = len(text) - self.limit
                self._dropped += cut
                self._written += cut
                text = text[cut:]
                if not text:
                    return
            self._chunks.append(text)
            self._held += len(text)
            self._written += len(text)
            while self._held > self.limit:
                excess = self._held - self.limit
                head = self._chunks[0]
                if len(head) <= excess:
                    self._chunks.popleft()
                    self._held -= len(head)
                    self._dropped += len(head)
                else:
                    self._chunks[0] = head[excess:]
                    self._held -= excess
                    self._dropped += excess

    @property
    def written(self) -> int:
        """Characters written in all, including any that were dropped."""
        return self._written

    @property
    def dropped(self) -> int:
        """Characters dropped from the front because the buffer was full."""
        return self._dropped

    def text(self) -> str:
        """What is held, as one string (without any note about dropped output)."""
        with self._lock:
            if not self._chunks:
                return ""
            if len(self._chunks) > 1:
                joined = "".join(self._chunks)
                self._chunks.clear()
                self._chunks.append(joined)
            return self._chunks[0] if self._chunks else ""

    def last_line(self) -> str:
        """The latest line written (the text after the last newline or carriage return,
        or the line before a final newline): what a progress bar shows now."""
        with self._lock:
            if not self._chunks:
                return ""
            tail = ""
            for chunk in reversed(self._chunks):  # print() writes "tick", " ", "34", "\n" apart
                tail = chunk[-LAST_LINE_SPAN:] + tail
                if len(tail) >= LAST_LINE_SPAN:
                    break
        text = tail.rstrip("\r\n")  # a progress line may end in \r as well as start with it
        return text[max(text.rfind("\n"), text.rfind("\r")) + 1:].strip()

    def since(self, position: int) -> tuple[str, int]:
        """What was written from *position* (a value of ``written``) on, and the new
        position; from the oldest character held if those before were dropped."""
        with self._lock:
            if not self._chunks or position >= self._written:
                return "", self._written
            wanted = self._written - position
            pieces: list[str] = []
            for chunk in reversed(self._chunks):  # only the newest chunks: following stays cheap
                pieces.append(chunk)
                wanted -= len(chunk)
                if wanted <= 0:
                    break
            text = "".join(reversed(pieces))
            return (text[-wanted:] if wanted < 0 else text), self._written

    def __len__(self) -> int:
        return self._held


class RoutingStream:
    """A text stream that sends each write to the current job's buffer or passes it on.

    Inside a job that assigned ``sys.stdout`` (or ``sys.stderr``) a stream of its own
    (see ``sysguard``), writes go to that stream instead.  Everything but the
    writing methods is delegated to the stream the write would go to, so code asking
    for ``fileno()``, ``encoding`` or ``isatty()`` sees the real terminal, and a job
    that redirected its output into a ``StringIO`` can call ``getvalue()`` on it.
    Inside a job, ``close()`` closes nothing: the terminal is the shell's.
    """

    def __init__(self, passthrough: TextIO, name: str = "stdout") -> None:
        self._passthrough = passthrough
        self._name = name

    @property
    def passthrough(self) -> TextIO:
        """The stream that receives writes made outside any job."""
        return self._passthrough

    def replace_passthrough(self, stream: TextIO) -> None:
        """Send writes made outside any job to *stream* from now on (a front end puts
        its own terminal stream under the routing)."""
        self._passthrough = stream

    def _own(self) -> Any:
        """The stream the job running here assigned itself (not this one), or None."""
        own = own_value(self._name)
        return None if own is None or own is self else own

    def write(self, text: str) -> int:
        own = self._own()
        if own is not None:
            return own.write(text)
        out = output_buffer()
        if out is None:
            return self._passthrough.write(text)
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        out.write(text)
        return len(text)

    def writelines(self, lines) -> None:  # noqa: ANN001 - same signature as io
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        own = self._own()
        if own is not None:
            own.flush()
        elif output_buffer() is None:
            self._passthrough.flush()

    def close(self) -> None:
        if running_job() is None:
            self._passthrough.close()

    def __getattr__(self, name: str):
        own = self._own()
        return getattr(self._passthrough if own is None else own, name)


_install_lock = threading.Lock()


def install() -> None:
    """Route ``sys.stdout``, ``sys.stderr`` and ``sys.stdin`` for jobs, guard ``sys``
    against assignments made inside jobs, and have ``subprocess`` tell jobs the
    processes they start, unless that is done already.

    Called before every job starts, so it must be cheap when nothing changed.  When
    something else replaced a stream (a front end redirecting output while it draws a
    prompt, say), the new stream is wrapped too, which keeps jobs captured.
    """
    if isinstance(sys.stdout, RoutingStream) and isinstance(sys.stderr, RoutingStream):
        install_input()
        return
    with _install_lock:
        install_guard()
        track_subprocesses()
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            if stream is not None and not isinstance(stream, RoutingStream):
                setattr(sys, name, RoutingStream(stream, name))
        install_input()
