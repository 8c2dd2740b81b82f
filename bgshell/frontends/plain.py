"""The front end without a line editor: inputs from a pipe, a file or ``-c``, and from
a terminal whose echo is off.

Same language as at the terminal (``&``, builtins), no escape codes.  From a pipe, a
file or ``-c``, no prompts either, and blocks are cut as in a script.  A terminal
with its echo switched off is a program driving bgshell (pexpect's ``replwrap``):
there, as readline does for python3, the prompts ``sys.ps1``/``sys.ps2`` are written
and the typed lines are not echoed, and a block ends with an empty line.  An error
does not stop the inputs that follow.  When the input ends, running jobs are
waited for and announced, so nothing started is lost.
"""

from __future__ import annotations

from builtins import print  # bound at import: a job replacing builtins.print cannot silence the shell
import sys
from typing import Callable, Iterable, Iterator

from bgshell.frontends.prompts import prompt_text
from bgshell.shell.language.script import iter_numbered_inputs
from bgshell.shell.repl import ExitRequest, Shell

__all__ = ["run_lines", "run_prompted", "finish", "stdin_lines", "echo_is_off"]


def run_lines(shell: Shell, lines: Iterable[str]) -> int | None:
    """Run every input in *lines*; return an exit code if the input asked to exit."""
    return _run_inputs(shell, iter_numbered_inputs(lines, shell.grammar, shell.is_bound))


def run_prompted(shell: Shell, read_line: Callable[[str], str] | None = None) -> int | None:
    """Read inputs from standard input behind prompts, as python3 does at a terminal
    whose echo is off; return an exit code if the input asked to exit.  *read_line*
    (given the prompt's name) reads one line, ``sys.stdin.readline`` by default."""
    return _run_inputs(shell, ((1, text) for text in _prompted_inputs(shell, read_line or _read_stdin)))


def _read_stdin(prompt_name: str) -> str:
    return sys.stdin.readline()


def _prompted_inputs(shell: Shell, read_line: Callable[[str], str]) -> Iterator[str]:
    """Complete inputs, each line read after writing ``sys.ps1`` or ``sys.ps2``."""
    lines: list[str] = []
    while True:
        shell.announce_finished()
        prompt_name = "ps2" if lines else "ps1"
        sys.stdout.write(prompt_text(prompt_name))
        sys.stdout.flush()
        line = read_line(prompt_name)
        if not line:
            if lines:
                yield "\n".join(lines)
            return
        lines.append(line.rstrip("\r\n"))
        text = "\n".join(lines)
        if shell.grammar.is_complete(text + ("\n" if not lines[-1] else ""), shell.is_bound):
            yield text
            lines = []


def echo_is_off() -> bool:
    """True when standard input is a terminal whose echo is switched off."""
    try:
        import termios

        return not termios.tcgetattr(sys.stdin.fileno())[3] & termios.ECHO
    except (ImportError, OSError, ValueError):
        return False


def _run_inputs(shell: Shell, inputs: Iterable[tuple[int, str]]) -> int | None:
    for first_line, text in inputs:
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

    Read through ``sys.stdin`` itself, the stream that ``input()`` and ``pdb`` read
    too, so code that reads the next line gets it and the shell goes on after it
    (reading underneath, from its buffer, would find what that stream had already
    taken in).  Bytes that are not UTF-8 become U+FFFD instead of ending the session.
    """
    stream = sys.stdin
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        try:
            reconfigure(errors="replace")
        except (ValueError, OSError):
            pass
    while True:
        line = stream.readline()
        if not line:
            return
        yield line
