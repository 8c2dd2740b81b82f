"""``bgshell`` on the command line: python3's options where python3 has them, bgshell's
own after them, then a front end.

As with python3, ``-c CODE``, ``-m MODULE`` and ``FILE`` end the options: what
follows is the code's ``sys.argv``.  ``-E``, ``-s`` and ``-I`` change how the
interpreter itself starts, so when one is asked for and the running interpreter
lacks it, bgshell starts again under ``python -E/-s/-I -m bgshell``.
prompt_toolkit is imported only when a terminal front end is really needed.
"""

from __future__ import annotations

from builtins import print  # bound at import: a job replacing builtins.print cannot silence the shell
import argparse
import errno
import os
import signal
import sys
import warnings
from typing import Any

from bgshell import __version__
from bgshell.engine.kinds import USER_KINDS
from bgshell.engine.runners.clusters import cluster
from bgshell.shell import watchdog
from bgshell.shell.launch import Launch
from bgshell.shell.termination import Terminated, begin_leaving, install_handlers, signals_ignored

__all__ = ["main", "build_parser"]

#: bgshell's long options that take their value as the next argument.
_LONG_WITH_VALUE = frozenset({"--notify", "--history", "--kind", "--cluster"})
#: Interpreter flags bgshell takes as python3 does, and the ``sys.flags`` each sets.
_INTERPRETER_FLAGS = {"-E": "ignore_environment", "-s": "no_user_site", "-I": "isolated"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bgshell",
        description="An interactive Python shell where a trailing & runs the input as a background job.",
        epilog="See man bgshell (or bgshell --manual) for the builtins, job specs and notifications.",
    )
    parser.add_argument("-c", metavar="CODE", dest="command", help="run CODE (same language as the prompt), then exit")
    parser.add_argument("-m", metavar="MODULE", dest="module", help="run library module MODULE as __main__, then exit")
    parser.add_argument("-i", dest="interactive", action="store_true",
                        help="stay interactive after -c CODE, -m MODULE or FILE")
    parser.add_argument("-q", dest="quiet", action="store_true", help="no banner at the first prompt")
    parser.add_argument("-u", dest="unbuffered", action="store_true", help="unbuffered stdout and stderr")
    parser.add_argument("-E", dest="ignore_environment", action="store_true",
                        help="ignore PYTHON* environment variables (PYTHONPATH, PYTHONSTARTUP...)")
    parser.add_argument("-s", dest="no_user_site", action="store_true", help="no user site directory in sys.path")
    parser.add_argument("-I", dest="isolated", action="store_true",
                        help="isolate from the user's environment (implies -E, -s, and no script directory in sys.path)")
    parser.add_argument("--version", action="version", version=f"bgshell {__version__}")
    parser.add_argument("--manual", action="store_true", help="show the manual page and exit")
    parser.add_argument("--no-color", action="store_true", help="no colours (also when NO_COLOR is set)")
    parser.add_argument(
        "--notify", choices=("immediate", "prompt"), default="immediate",
        help="announce a finished job at once above the prompt (default), or at the next prompt",
    )
    parser.add_argument("--history", metavar="FILE", help="history file (default: $XDG_STATE_HOME/bgshell/history)")
    parser.add_argument(
        "--kind", choices=USER_KINDS, default=USER_KINDS[0],
        help=f"how EXPR & runs by default (default: {USER_KINDS[0]}); change it later with the kind builtin",
    )
    parser.add_argument(
        "--cluster", metavar="local[:N]|ADDRESS", type=cluster,
        help="cluster jobs (EXPR &:cluster) run on a local dask cluster of N workers started in the background, "
             "or on the scheduler at ADDRESS (tcp://HOST:PORT); needs bgshell[dask]",
    )
    parser.add_argument("file", nargs="?", metavar="FILE", help="run FILE's inputs, then exit (unless -i)")
    parser.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS",
                        help="arguments for FILE, CODE or MODULE (sys.argv[1:])")
    return parser


def _split_target(argv: list[str]) -> tuple[list[str], tuple[str, list[str]] | None]:
    """Options before ``-c CODE`` or ``-m MODULE``, and ``(option, [CODE, ARGS...])``.

    As with python3, everything after CODE or MODULE belongs to its ``sys.argv``,
    even what looks like an option.  None when neither is given (a FILE ends the
    options too: argparse's REMAINDER keeps what follows it).
    """
    skip = False
    for index, arg in enumerate(argv):
        if skip:  # the value of a long option
            skip = False
            continue
        if arg == "--" or not arg.startswith("-") or arg == "-":
            return argv, None
        if arg.startswith("--"):
            skip = arg in _LONG_WITH_VALUE
            continue
        for position, letter in enumerate(arg[1:], 1):
            if letter in "cm":  # -c CODE, -cCODE, -ic CODE
                value = arg[position + 1:]
                before = argv[:index] + ([arg[:position]] if position > 1 else [])
                if value:
                    return before, (letter, [value, *argv[index + 1:]])
                if index + 1 == len(argv):
                    return argv, None  # argparse says "expected one argument"
                return before, (letter, argv[index + 1:])
            if letter not in "iqusEI":
                break
    return argv, None


def parse(argv: list[str]) -> tuple[argparse.Namespace, Launch]:
    """The options, and how the session starts."""
    before, target = _split_target(argv)
    options = build_parser().parse_args(before)
    if target is not None:
        letter, (value, *args) = target
        return options, Launch("command" if letter == "c" else "module", value, args)
    if options.file is not None and options.file != "-":
        return options, Launch("file", options.file, options.args)
    return options, Launch("interactive", None, options.args)


def _restart_with_interpreter_flags(options: argparse.Namespace, argv: list[str]) -> None:
    """Start again under ``python -E/-s/-I -m bgshell`` if a flag asked for is not in
    effect (they change how the interpreter itself starts up)."""
    wanted = [flag for flag, name in _INTERPRETER_FLAGS.items() if getattr(options, name)]
    if all(getattr(sys.flags, _INTERPRETER_FLAGS[flag]) for flag in wanted):
        return
    _flush_quietly()
    package = __name__.partition(".")[0]
    os.execv(sys.executable, [sys.executable, *wanted, "-m", package, *argv])


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    options, launch = parse(arguments)
    if options.manual:
        from bgshell.frontends.manual import show_manual

        return show_manual()
    _restart_with_interpreter_flags(options, arguments)
    if options.unbuffered:
        for stream in (sys.stdout, sys.stderr):
            stream.reconfigure(write_through=True)  # type: ignore[union-attr]
    install_handlers()
    watchdog.start()  # after the handlers: it makes SIGTERM and SIGHUP one-shot
    _replace_closed_streams()

    from bgshell.frontends.session import run_session
    from bgshell.shell.repl import ScriptInterrupted, Shell

    shell = Shell(default_kind=options.kind)
    try:
        try:
            return _leave(shell, run_session(shell, options, launch))
        except Terminated as exc:  # SIGTERM / SIGHUP: history is on disk already
            return _leave(shell, exc.code, quietly=True)
        except ScriptInterrupted:  # its traceback is shown: end as python3 does, by SIGINT
            _leave(shell, 130)
            _flush_quietly()
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGINT)
            return 130
        except KeyboardInterrupt:  # Ctrl-C between two inputs of a pipe, -c or FILE
            print("\nbgshell: interrupted; stopping the running jobs", file=sys.stderr)
            return _leave(shell, 130)
        except BrokenPipeError:
            from bgshell.shell import readergone

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


def _leave(shell: Any, status: int, *, quietly: bool = False) -> int:
    """Stop running jobs and what runners keep ready; if a job will not stop, exit
    without waiting for it.

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
        watchdog.stop()
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
