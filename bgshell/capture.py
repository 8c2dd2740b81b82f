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

import contextvars
import sys
import threading
from collections import deque
from typing import TextIO

__all__ = ["JobOutput", "current_output", "install", "DEFAULT_LIMIT"]

#: How many characters a job keeps; beyond that the oldest are dropped (with a note).
DEFAULT_LIMIT = 4 * 1024 * 1024

#: The output buffer of the job running in this context, if any.
current_output: contextvars.ContextVar[JobOutput | None] = contextvars.ContextVar(
    "bgshell_current_output", default=None
)


class JobOutput:
    """A bounded, thread-safe record of what one job wrote, stdout and stderr merged.

    Bounded so that a job printing in a loop cannot exhaust memory: when more than
    *limit* characters are held, whole chunks are dropped from the front and counted,
    so ``text()`` can say how much is missing instead of pretending nothing is.
    """

    __slots__ = ("limit", "_chunks", "_held", "_written", "_dropped", "_lock")

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self.limit = limit
        self._chunks: deque[str] | None = None  # made on the first write: most jobs print nothing
        self._held = 0
        self._written = 0
        self._dropped = 0
        self._lock = threading.Lock()

    def write(self, text: str) -> None:
        """Append *text*, dropping the oldest characters if the limit is passed."""
        if not text:
            return
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

    def __len__(self) -> int:
        return self._held


class RoutingStream:
    """A text stream that sends each write to the current job's buffer or passes it on.

    Everything but ``write``/``writelines``/``flush`` is delegated to the stream it
    wraps, so code asking for ``fileno()``, ``encoding`` or ``isatty()`` sees the real
    terminal.
    """

    def __init__(self, passthrough: TextIO) -> None:
        self._passthrough = passthrough

    @property
    def passthrough(self) -> TextIO:
        """The stream that receives writes made outside any job."""
        return self._passthrough

    def write(self, text: str) -> int:
        out = current_output.get()
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
        if current_output.get() is None:
            self._passthrough.flush()

    def __getattr__(self, name: str):
        return getattr(self._passthrough, name)


_install_lock = threading.Lock()


def install() -> None:
    """Put routing streams in ``sys.stdout``/``sys.stderr`` unless they are there already.

    Called before every job starts, so it must be cheap when nothing changed.  When
    something else replaced a stream (a front end redirecting output while it draws a
    prompt, say), the new stream is wrapped too, which keeps jobs captured.
    """
    if isinstance(sys.stdout, RoutingStream) and isinstance(sys.stderr, RoutingStream):
        return
    with _install_lock:
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            if stream is not None and not isinstance(stream, RoutingStream):
                setattr(sys, name, RoutingStream(stream))
