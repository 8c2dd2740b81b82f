"""The front end without a terminal: inputs from a pipe, a file or ``-c``.

Same language as at the terminal (``&``, builtins), no prompts and no escape codes.
An error does not stop the inputs that follow.  When the input ends, running jobs
are waited for and announced, so nothing started is lost.
"""

from __future__ import annotations

import sys
from typing import Iterable

from bgshell.commands import BUILTINS
from bgshell.repl import ExitRequest, Shell
from bgshell.script import iter_numbered_inputs

__all__ = ["run_lines", "finish"]


def run_lines(shell: Shell, lines: Iterable[str]) -> int | None:
    """Run every input in *lines*; return an exit code if the input asked to exit."""
    for first_line, text in iter_numbered_inputs(lines, BUILTINS, shell.is_bound):
        shell.announce_finished()
        try:
            shell.handle(text, first_line)
        except ExitRequest as request:
            return request.code
        sys.stdout.flush()
    shell.announce_finished()
    return None


def finish(shell: Shell) -> bool:
    """At the end of input: wait for running jobs and announce them.

    Returns False if Ctrl-C stopped the waiting (the caller then stops the jobs).
    """
    try:
        while shell.jobs.running:
            for job in shell.jobs.running:
                job.wait_done()
            shell.announce_finished()
    except KeyboardInterrupt:
        print("\nbgshell: interrupted; stopping the running jobs", file=sys.stderr)
        return False
    finally:
        shell.announce_finished()
    return True


def stdin_lines() -> Iterable[str]:
    """Lines of standard input, read one at a time (a pipe fed slowly answers at once).

    Bytes that are not UTF-8 become U+FFFD instead of ending the session.
    """
    stream = sys.stdin.buffer if hasattr(sys.stdin, "buffer") else None
    if stream is None:
        yield from sys.stdin
        return
    while True:
        raw = stream.readline()
        if not raw:
            return
        yield raw.decode("utf-8", errors="replace")
