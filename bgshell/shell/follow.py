"""Following a job live in the foreground: what ``fg`` and ``output -f`` share.

The job's output is written to the terminal as it comes, from a given place in it;
while following for ``fg``, a job that waits for input gets the next line typed at
the terminal (the terminal is in its line-editing mode, as for any foreground
code), and Ctrl-D there is its end of file.  One ``select`` waits for everything:
a pipe the job's writes, waits and end poke, the terminal when the job waits for a
line, and the foreground run's wake-up pipe (Ctrl-Z sent the run back: stop
following).  Ctrl-C interrupts the ``select`` with ``KeyboardInterrupt``; the
caller decides what it means.
"""

from __future__ import annotations

import os
import select
import sys
import threading
from typing import Any

__all__ = ["Follower", "INTERRUPT", "DETACH"]

STDIN = 0
#: What a run's wake-up pipe carries: Ctrl-C for a run in a helper thread, Ctrl-Z.
INTERRUPT, DETACH = b"c", b"z"


class _JobEvents:
    """A pipe that becomes readable when the job writes, starts waiting or ends."""

    def __init__(self, job: Any) -> None:
        self.job = job
        self._lock = threading.Lock()
        self._closed = False
        self.fd, self._write_fd = os.pipe()
        for fd in (self.fd, self._write_fd):
            os.set_blocking(fd, False)
        job.output.watch(self.poke)
        job.add_waiting_hook(self.poke)
        job.add_ended_hook(self.poke)

    def poke(self, *_: Any) -> None:
        """(From the job's thread.)  After ``close`` the pipe's numbers may belong to
        another file: nothing is written then."""
        with self._lock:
            if self._closed:
                return
            try:
                os.write(self._write_fd, b"x")
            except BlockingIOError:
                pass  # full: it is readable

    def drain(self) -> None:
        try:
            while os.read(self.fd, 4096):
                pass
        except BlockingIOError:
            pass

    def close(self) -> None:
        self.job.output.unwatch(self.poke)
        self.job.remove_waiting_hook(self.poke)
        with self._lock:
            self._closed = True
            os.close(self.fd)
            os.close(self._write_fd)


class Follower:
    """Writes one job's output live; ``position`` is how far it has written."""

    def __init__(self, job: Any, position: int = 0) -> None:
        self.job = job
        self.position = position

    def follow(self, wake_fd: int, *, answer_input: bool) -> bool:
        """Follow until the job ends (True) or the run is sent back (False).  Raises
        ``KeyboardInterrupt`` on Ctrl-C."""
        events = _JobEvents(self.job)
        try:
            while True:
                self._write_new()
                if self.job.state.finished:
                    self._write_new()
                    return True
                watched = [events.fd, wake_fd]
                if answer_input and self.job.waiting_for_input:
                    watched.append(STDIN)
                ready, _, _ = select.select(watched, [], [])
                if wake_fd in ready and _woken(wake_fd):
                    return False
                if events.fd in ready:
                    events.drain()
                if STDIN in ready:
                    self._pass_a_line()
        finally:
            events.close()

    def _write_new(self) -> None:
        text, self.position = self.job.output.since(self.position)
        if text:
            sys.stdout.write(text)
            sys.stdout.flush()

    def _pass_a_line(self) -> None:
        """The line typed at the terminal goes to the job; Ctrl-D is its end of file."""
        try:
            data = os.read(STDIN, 65536)
        except OSError:
            data = b""
        if data:
            self.job.input.feed(data.decode("utf-8", "replace"))
        else:
            self.job.input.close()


def _woken(wake_fd: int) -> bool:
    """Read the wake-up pipe: True for Ctrl-Z; Ctrl-C raises ``KeyboardInterrupt``."""
    try:
        data = os.read(wake_fd, 64)
    except BlockingIOError:
        return False
    if INTERRUPT in data:
        raise KeyboardInterrupt
    return bool(data)
