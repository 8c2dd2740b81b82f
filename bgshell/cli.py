"""``bgshell`` on the command line: parse the arguments, pick a front end, run.

At a terminal (stdin and stdout both ttys) the prompt_toolkit front end is used;
otherwise the plain one, which reads lines and writes no escape codes.  ``-c CODE``
and ``FILE`` run their inputs the plain way, then stay interactive with ``-i``.
prompt_toolkit is imported only when a terminal front end is really needed.
"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import sys
import warnings
from typing import Any

from bgshell import __version__
from bgshell.termination import Terminated, begin_leaving, install_handlers, signals_ignored

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bgshell",
        description="An interactive Python shell where a trailing & runs the input as a background job.",
        epilog="See man bgshell for the builtins, job specs and notifications.",
    )
    parser.add_argument("-c", metavar="CODE", dest="command", help="run CODE (same language as the prompt), then exit")
    parser.add_argument("-i", dest="interactive", action="store_true", help="stay interactive after -c CODE or FILE")
    parser.add_argument("--version", action="version", version=f"bgshell {__version__}")
    parser.add_argument("--no-color", action="store_true", help="no colours (also when NO_COLOR is set)")
    parser.add_argument(
        "--notify", choices=("immediate", "prompt"), default="immediate",
        help="announce a finished job at once above the prompt (default), or at the next prompt",
    )
    parser.add_argument("--history", metavar="FILE", help="history file (default: $XDG_STATE_HOME/bgshell/history)")
    parser.add_argument(
        "--kind", choices=("thread", "process"), default="thread",
        help="how EXPR & runs by default (default: thread); change it later with the kind builtin",
    )
    parser.add_argument("file", nargs="?", metavar="FILE", help="run FILE's inputs, then exit (unless -i)")
    parser.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS", help="arguments for FILE or CODE (sys.argv[1:])")
    return parser


def _split_command(argv: list[str]) -> tuple[list[str], list[str] | None]:
    """Options before ``-c CODE`` and ``[CODE, ARGS...]`` (None without ``-c``).

    As with ``python3 -c``, everything after CODE belongs to the code's
    ``sys.argv`` even when it looks like an option.
    """
    for index, arg in enumerate(argv):
        if arg == "--":
            return argv, None
        if not arg.startswith("-") or arg == "-":
            return argv, None  # FILE: argparse's REMAINDER already keeps what follows
        if arg == "-c":
            if index + 1 == len(argv):
                return argv, None  # argparse says "-c: expected one argument"
            return argv[:index], argv[index + 1:]
        if arg.startswith("-c") and not arg.startswith("--"):
            return argv[:index], [arg[2:], *argv[index + 1:]]
    return argv, None


def main(argv: list[str] | None = None) -> int:
    before, command = _split_command(sys.argv[1:] if argv is None else argv)
    options = build_parser().parse_args(before)
    if command is not None:
        options.command, options.args, options.file = command[0], command[1:], None
    install_handlers()
    _replace_closed_streams()

    from bgshell.repl import Shell

    shell = Shell(default_kind=options.kind)
    try:
        try:
            return _run(shell, options)
        except Terminated as exc:  # SIGTERM / SIGHUP: history is on disk already
            return _leave(shell, exc.code, quietly=True)
        except BrokenPipeError:
            from bgshell import readergone

            if not readergone.reader_gone():
                raise
            readergone.silence_stdout()  # `bgshell FILE | head`: stop quietly, as a filter would
            return _leave(shell, readergone.EXIT_STATUS)
        except OSError as exc:
            if exc.errno != errno.EIO:
                raise
            begin_leaving()  # a SIGHUP is on its way: it must not interrupt the cleanup
            return _leave(shell, 128 + signal.SIGHUP, quietly=True)  # the terminal went away
    except Terminated as exc:  # a signal landed just as another way out was taken
        return _leave(shell, exc.code, quietly=True)


def _run(shell: Any, options: argparse.Namespace) -> int:
    """Run the inputs the options name, or the terminal; return the exit status."""
    from bgshell.plain import finish, run_lines, stdin_lines

    at_terminal = sys.stdin.isatty() and sys.stdout.isatty()
    color = not options.no_color and not os.environ.get("NO_COLOR")
    status: int | None = None
    stay = options.interactive

    if options.command is not None:
        sys.argv = ["-c", *options.args]
        shell.evaluator.filename = "<string>"
        status = run_lines(shell, options.command.splitlines())
    elif options.file is not None:
        sys.argv = [options.file, *options.args]
        try:
            with open(options.file, encoding="utf-8", errors="replace") as handle:
                lines = handle.read().splitlines()
        except OSError as exc:
            print(f"bgshell: cannot open file {options.file!r}: {exc.strerror}", file=sys.stderr)
            return 2
        shell.evaluator.filename = options.file
        status = run_lines(shell, lines)
    else:
        sys.argv = [""]
        stay = True
        if at_terminal:
            _run_startup_file(shell)

    if status is None and stay:
        shell.evaluator.filename = "<stdin>"
        if at_terminal:
            status = _run_terminal(shell, options, color)
            return _leave(shell, status)
        status = run_lines(shell, stdin_lines())
    # Also after exit(): what was started is waited for, not lost.
    if not finish(shell):
        return _leave(shell, 130)
    return status if status is not None else (1 if shell.failed else 0)


def _run_startup_file(shell: object) -> None:
    path = os.environ.get("PYTHONSTARTUP")
    if path and os.path.isfile(path):
        shell.evaluator.run_file(path)  # type: ignore[attr-defined]


def _run_terminal(shell: object, options: argparse.Namespace, color: bool) -> int:
    from bgshell.early_prompt import draw_early_prompt

    print(f"bgshell {__version__} on Python {sys.version.split()[0]}. EXPR & runs it in the background; help lists the builtins.")
    restore_terminal = draw_early_prompt()  # before the slow import of prompt_toolkit

    from bgshell.history import open_history
    from bgshell.terminal import TerminalFrontend

    frontend = TerminalFrontend(
        shell,  # type: ignore[arg-type]
        history=open_history(options.history),
        notify_immediately=options.notify == "immediate",
        color=color,
        after_first_prompt=restore_terminal,
    )
    return frontend.run()


def _leave(shell: Any, status: int, *, quietly: bool = False) -> int:
    """Stop running jobs; if one will not stop, exit without waiting for it.

    Signals are ignored meanwhile: a second SIGTERM must not cut the cleanup short.
    *quietly*, when a signal or a lost terminal ends the shell: the signal may have
    landed inside prompt_toolkit's or asyncio's machinery, whose half-built objects
    then complain as they are collected ("unclosed event loop", "coroutine was never
    awaited"); that is no news to anyone, so it is not printed.
    """
    if quietly:
        warnings.simplefilter("ignore")
        sys.unraisablehook = lambda unraisable: None
    with signals_ignored():
        stopped = shell.stop_jobs()
        if not stopped:
            _flush_quietly()
            os._exit(status)
    return status


def _flush_quietly() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass  # the terminal may be gone


def _replace_closed_streams() -> None:
    """Started with fd 0, 1 or 2 closed, Python sets the stream to None: use
    /dev/null instead, so a closed stdin is empty input, as for python3."""
    if sys.stdin is None:
        sys.stdin = open(os.devnull, encoding="utf-8")
    if sys.stdout is None:
        sys.stdout = open(os.devnull, "w", encoding="utf-8")
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")
