"""The user's namespace and running code in the foreground, as ``python3 -i`` does.

Statements execute; if the input ends in an expression its value is printed with
``repr`` and kept in ``_`` (``None`` is not printed).  An exception prints its
traceback without bgshell's own frames and the shell goes on.  Top-level ``await``
runs on the shared asyncio loop, as in ``python -m asyncio``.
"""

from __future__ import annotations

import builtins
import sys
import types
from typing import Any, Callable, TextIO

from bgshell.codesplit import compile_split
from bgshell.jobs import describe_exception, format_exception

__all__ = ["make_namespace", "Evaluator", "safe_repr", "MAX_REPR"]

#: Characters of a value's repr shown at most; the whole value stays in ``_``.
MAX_REPR = 200_000


class Quitter:
    """``exit``/``quit`` for the shell: like site's, but without closing ``sys.stdin``.

    site's ``exit()`` closes stdin before raising ``SystemExit``; when the shell's
    exit guard keeps the session going, the next prompt would read a closed file.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Use {self.name}() or Ctrl-D (i.e. EOF) to exit"

    def __call__(self, code: Any = None) -> None:
        raise SystemExit(code)


def install_quitters() -> None:
    """Replace ``builtins.exit``/``quit`` with ``Quitter`` (this process only)."""
    builtins.exit = Quitter("exit")  # type: ignore[assignment]
    builtins.quit = Quitter("quit")  # type: ignore[assignment]


def make_namespace(**names: Any) -> dict[str, Any]:
    """A fresh ``__main__`` module's namespace, installed as ``sys.modules['__main__']``.

    Being the real ``__main__`` lets pickle (and cloudpickle, for process jobs) find
    classes and functions defined at the prompt, as in ``python3 -i``.
    """
    module = types.ModuleType("__main__", None)
    module.__dict__["__builtins__"] = builtins
    module.__dict__.update(names)
    sys.modules["__main__"] = module
    return module.__dict__


def safe_repr(value: Any, limit: int = MAX_REPR) -> str:
    """``repr(value)``, or one line saying why it could not be shown; cut at *limit*."""
    try:
        text = repr(value)
    except KeyboardInterrupt:
        raise  # Ctrl-C on a hanging __repr__: reported as an interrupted input
    except BaseException as exc:  # a hostile __repr__, even one raising SystemExit
        return f"<repr() of {type(value).__name__} object failed: {describe_exception(exc)}>"
    if not isinstance(text, str):
        return f"<repr() of {type(value).__name__} object returned {type(text).__name__}, not str>"
    if len(text) > limit:
        text = f"{text[:limit]}\n[... {len(text) - limit:,} more characters not shown; the value is in _]"
    return text


#: A syntax error's line is shown at most this wide, around the error.
_SYNTAX_WINDOW = 160


def _narrow_syntax_error(exc: SyntaxError) -> None:
    """Cut a very long offending line (a 1 MB paste) to a window around the error."""
    text, offset = exc.text, exc.offset
    if not isinstance(text, str) or len(text) <= _SYNTAX_WINDOW or not isinstance(offset, int):
        return
    text = text.rstrip("\r\n")
    start = max(0, min(offset - 1 - _SYNTAX_WINDOW // 2, len(text) - _SYNTAX_WINDOW))
    exc.text = "..." + text[start:start + _SYNTAX_WINDOW] + "...\n"
    exc.offset = offset - start + 3
    end = getattr(exc, "end_offset", None)
    if isinstance(end, int):
        exc.end_offset = min(end - start + 3, len(exc.text))


class Evaluator:
    """Runs input in one namespace in the calling (main) thread."""

    def __init__(self, namespace: dict[str, Any], filename: str = "<stdin>") -> None:
        self.namespace = namespace
        self.filename = filename

    def display(self, value: Any, out: TextIO | None = None) -> None:
        """Print *value* like the interactive interpreter, and keep it in ``_``."""
        if value is None:
            return
        self.namespace["_"] = value
        print(safe_repr(value), file=out or sys.stdout)

    def run(self, source: str, first_line: int = 1) -> bool:
        """Run *source*; True if it ran without an exception.

        ``SystemExit`` (``exit()``) is re-raised for the shell to decide; every other
        exception, ``KeyboardInterrupt`` included, is printed.  *first_line*: where
        *source* starts in ``self.filename``.
        """
        try:
            split = compile_split(source, self.filename, first_line)
        except SyntaxError as exc:
            self.show_syntax_error(exc)
            return False
        def run_parts() -> None:
            if split.body is not None:
                self._execute(split.body)
            if split.last_expr is not None:
                self.display(self._execute(split.last_expr))

        return self._shielded(run_parts)

    def _shielded(self, action: Callable[[], None]) -> bool:
        """Run *action*, printing any exception but ``SystemExit``; True if none."""
        try:
            action()
        except SystemExit:  # exit(), and Terminated (a signal)
            raise
        except BaseException as exc:
            if isinstance(exc, BrokenPipeError):
                from bgshell.readergone import reader_gone

                if reader_gone():
                    raise  # nobody reads our output any more: the front end ends the run
            self.show_exception(exc)
            return False
        return True

    def _execute(self, code: types.CodeType) -> Any:
        value = eval(code, self.namespace)
        if code.co_flags & 0x0080:  # CO_COROUTINE: top-level await
            from bgshell.runners.coroutine import run_foreground

            value = run_foreground(value)
        return value

    def run_file(self, path: str) -> bool:
        """Execute a whole file in the namespace (``PYTHONSTARTUP``); print any error."""

        def run_whole_file() -> None:
            with open(path, "rb") as handle:
                code = compile(handle.read(), path, "exec")
            exec(code, self.namespace)

        return self._shielded(run_whole_file)

    @staticmethod
    def show_syntax_error(exc: SyntaxError) -> None:
        """Print a compile error as ``python3 -i`` does: no traceback, just the spot."""
        import traceback

        _narrow_syntax_error(exc)
        sys.stderr.write("".join(traceback.format_exception_only(type(exc), exc)))
        sys.stderr.flush()

    @staticmethod
    def show_exception(exc: BaseException) -> None:
        """Print *exc*'s traceback, without bgshell's frames, to stderr."""
        sys.stderr.write(format_exception(exc))
        sys.stderr.flush()
