"""A whole session: the inputs the command line names (``-c CODE``, ``-m MODULE``,
``FILE``), then, when interactive, the terminal front end or the lines of a pipe.

python3's order and rules: ``sys.path``, ``sys.argv`` and ``__main__`` are set up
first (``bgshell.shell.launch``); ``PYTHONSTARTUP`` runs before the first prompt of a
session that starts interactive (not after ``-c``, ``-m`` or ``FILE``, and not under
``-E``), at a terminal only: unlike python3 -i, not for a pipe, which is a program's
input, not the user's session; ``sys.ps1`` and ``sys.ps2`` exist once the interactive
part begins.
"""

from __future__ import annotations

from builtins import print  # bound at import: a job replacing builtins.print cannot silence the shell
import argparse
import ast
import os
import sys
import tokenize
import zipfile
from importlib.machinery import SourceFileLoader

from bgshell import __version__
from bgshell.frontends.dumb import is_dumb, run_dumb_terminal
from bgshell.frontends.plain import echo_is_off, finish, run_lines, run_prompted, stdin_lines
from bgshell.shell.clustercmd import start_session_cluster
from bgshell.shell.launch import Launch, ModuleNotRunnable, module_code, prepare_sys
from bgshell.shell.repl import Shell
from bgshell.shell.sources import remember_source

__all__ = ["run_session", "BANNER"]

BANNER = (f"bgshell {__version__} on Python {sys.version.split()[0]}. "
          "EXPR & runs it in the background; help lists the builtins.")


def run_session(shell: Shell, options: argparse.Namespace, launch: Launch) -> int:
    """Run what *launch* names, then stay interactive if asked; return the exit status."""
    prepare_sys(launch)
    start_session_cluster(shell, getattr(options, "cluster", None))
    status = _run_target(shell, launch)
    if status is None and (options.interactive or launch.mode == "interactive"):
        if launch.mode == "interactive" and sys.stdin.isatty() and not sys.flags.ignore_environment:
            _run_startup_file(shell)
        shell.script_name = None
        sys.ps1, sys.ps2 = ">>> ", "... "
        at_terminal = sys.stdin.isatty() and sys.stdout.isatty() and not echo_is_off()
        if at_terminal and not is_dumb():
            return _run_terminal(shell, options)
        if at_terminal:
            _banner(options)
            return run_dumb_terminal(shell, history_path=options.history,
                                     notify_immediately=options.notify == "immediate")
        status = run_prompted(shell) if sys.stdin.isatty() else run_lines(shell, stdin_lines())
    # Also after exit(): what was started is waited for, not lost.
    if not finish(shell):
        return 130
    return status if status is not None else (1 if shell.failed else 0)


def _run_target(shell: Shell, launch: Launch) -> int | None:
    """Run ``-c``'s code, ``-m``'s module or FILE; an exit status if it asked to exit."""
    if launch.mode == "command":
        code = launch.target or ""
        shell.script_name = "<string>"
        remember_source("<string>", code)
        return run_lines(shell, code.splitlines())
    if launch.mode == "file":
        return _run_file(shell, launch.target or "")
    if launch.mode == "module":
        try:
            code = module_code(launch.target or "", shell.namespace)
        except ModuleNotRunnable as exc:
            print(f"bgshell: {exc}", file=sys.stderr)
            return 1
        return shell.run_module(code)
    return None


def _run_file(shell: Shell, path: str) -> int | None:
    """Run FILE input by input, as the script python3 would run: its encoding from its
    coding line or BOM, ``__file__`` and tracebacks with its absolute path, its
    docstring in ``__doc__``; a directory (or zip file) runs its ``__main__`` module."""
    if os.path.isdir(path) or zipfile.is_zipfile(path):
        try:
            code = module_code("__main__", shell.namespace)
            sys.argv[0] = path  # as given, as python3 leaves it for a directory or zip file
        except ModuleNotRunnable:
            print(f"bgshell: can't find '__main__' module in {os.path.abspath(path)!r}", file=sys.stderr)
            return 1
        return shell.run_module(code)
    full = os.path.abspath(path)
    try:
        with tokenize.open(full) as handle:
            text = handle.read()
    except (OSError, SyntaxError) as exc:
        problem = f"[Errno {exc.errno}] {exc.strerror}" if isinstance(exc, OSError) else str(exc)
        print(f"bgshell: can't open file {full!r}: {problem}", file=sys.stderr)
        return 2
    shell.namespace.update(__doc__=_docstring(text), __loader__=SourceFileLoader("__main__", full),
                           __file__=full, __cached__=None)
    shell.script_name = full
    remember_source(full, text)  # what ran, even if the file changes meanwhile
    return run_lines(shell, text.splitlines())


def _docstring(text: str) -> str | None:
    try:
        return ast.get_docstring(ast.parse(text), clean=False)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _run_startup_file(shell: Shell) -> None:
    path = os.environ.get("PYTHONSTARTUP")
    if path and os.path.isfile(path):
        shell.evaluator.run_file(path)


def _banner(options: argparse.Namespace) -> None:
    if not options.quiet:
        print(BANNER)
        sys.stdout.flush()


def _run_terminal(shell: Shell, options: argparse.Namespace) -> int:
    _banner(options)

    from bgshell.frontends.terminal import TerminalFrontend

    frontend = TerminalFrontend(
        shell,
        history_path=options.history,
        notify_immediately=options.notify == "immediate",
        color=not options.no_color and not os.environ.get("NO_COLOR"),
    )
    return frontend.run()
