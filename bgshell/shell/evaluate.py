"""The user's namespace and running code in the foreground, as ``python3 -i`` does.

Statements execute; if the input ends in an expression its value is shown by
``sys.displayhook`` (python3's rules: ``None`` is not shown, ``_`` keeps the value).
An exception is shown by ``sys.excepthook`` (by default its traceback, without
bgshell's own frames) and the shell goes on.  Top-level ``await`` runs on the shared
asyncio loop, as in ``python -m asyncio``.
"""

from __future__ import annotations

import builtins
import importlib.machinery
import sys
import types
from typing import Any, Callable

from bgshell.engine.codesplit import compile_split, is_coroutine_code
from bgshell.shell.foreground import Foreground
from bgshell.engine.tracebacks import (
    describe_exception,
    format_exception,
    format_exception_checked,
    plain_str,
    type_name,
    user_frames,
)

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
    # What python3's __main__ holds before any code runs, in python3's order.
    module.__dict__.update(__loader__=importlib.machinery.BuiltinImporter, __spec__=None,
                           __annotations__={}, __builtins__=builtins)
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
        return f"<repr() of {type_name(value)} object failed: {describe_exception(exc)}>"
    if not isinstance(text, str):
        return f"<repr() of {type_name(value)} object returned {type_name(text)}, not str>"
    text = plain_str(text)  # a str subclass's own len() or slicing could raise anything
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
    """Runs input in one namespace in the calling thread, as ``python3 -i`` does.

    Values go through ``sys.displayhook`` and errors through ``sys.excepthook`` when
    the user replaced it (``rich.pretty.install()``, ``rich.traceback.install()``);
    bgshell's own hooks otherwise: python3's behaviour, with bgshell's frames left
    out of tracebacks and huge reprs cut short.  An error sets ``sys.last_exc`` (and
    ``sys.last_type``, ``last_value``, ``last_traceback``), which ``pdb.pm()`` reads.
    """

    def __init__(self, namespace: dict[str, Any], foreground: Foreground | None = None) -> None:
        self.namespace = namespace
        #: Where the outcome of code that Ctrl-Z sent to the background goes.
        self.foreground = foreground
        #: The ``from __future__`` features in force: like python3's REPL, an input's
        #: future import holds for the inputs after it.
        self.future_flags = 0
        sys.displayhook = self.default_displayhook

    def default_displayhook(self, value: Any) -> None:
        """python3's displayhook: ``None`` is not shown, ``_`` (in builtins) keeps the
        value; the repr is cut short past ``MAX_REPR`` and never raises.  The value
        of code sent to the background is its job's result instead."""
        if value is None:
            return
        if self.foreground is not None and self.foreground.keep_value(value):
            return
        builtins._ = None  # type: ignore[attr-defined]
        text = safe_repr(value)
        sys.stdout.write(text + "\n")
        builtins._ = value  # type: ignore[attr-defined]

    def display(self, value: Any) -> None:
        """Show *value* as the interactive interpreter would (through ``sys.displayhook``)."""
        hook = getattr(sys, "displayhook", None)
        if hook is None:
            raise RuntimeError("lost sys.displayhook")
        hook(value)

    def run(self, source: str, filename: str = "<stdin>", first_line: int = 1, *, script: bool = False) -> bool:
        """Run *source*; True if it ran without an exception.

        The values of its expression statements are shown, as at python3's prompt,
        unless it is part of a *script* (``-c`` or FILE), where nothing is.
        ``SystemExit`` (``exit()``) is re-raised for the shell to decide; every other
        exception, ``KeyboardInterrupt`` included, is shown.  *filename* and
        *first_line*: where *source* is, for tracebacks (see ``bgshell.shell.sources``).
        """
        try:
            compiled = compile_split(source, filename, first_line, mode="exec" if script else "single",
                                     future_flags=self.future_flags)
        except SyntaxError as exc:
            self.show_syntax_error(exc)
            return False
        self.future_flags = compiled.future_flags
        code = compiled.body
        return True if code is None else self._shielded(lambda: self._execute(code))

    def run_code(self, code: types.CodeType) -> bool:
        """Run compiled *code* (a module run with ``-m``); True if no exception."""
        return self._shielded(lambda: self._execute(code))

    def _shielded(self, action: Callable[[], Any]) -> bool:
        """Run *action*, showing any exception but ``SystemExit``; True if none."""
        try:
            action()
        except SystemExit:  # exit(), and Terminated (a signal)
            raise
        except BaseException as exc:
            if isinstance(exc, BrokenPipeError):
                from bgshell.shell.readergone import reader_gone

                if reader_gone():
                    raise  # nobody reads our output any more: the front end ends the run
            if self.foreground is not None and self.foreground.keep_error(exc):
                return False  # the code became a job: the job ends with it
            self.show_exception(exc)
            return False
        return True

    def _execute(self, code: types.CodeType) -> Any:
        value = eval(code, self.namespace)
        if is_coroutine_code(code):  # top-level await
            from bgshell.engine.runners.asyncloop import run_foreground

            value = run_foreground(value)
        return value

    def run_file(self, path: str) -> bool:
        """Execute a whole file in the namespace (``PYTHONSTARTUP``); show any error."""

        def run_whole_file() -> None:
            with open(path, "rb") as handle:
                code = compile(handle.read(), path, "exec")
            exec(code, self.namespace)

        return self._shielded(run_whole_file)

    @staticmethod
    def show_syntax_error(exc: SyntaxError) -> None:
        """Show a compile error as ``python3 -i`` does: no traceback, just the spot."""
        _narrow_syntax_error(exc)
        exc.__traceback__ = None
        _remember(exc)
        if not _user_excepthook(exc):
            sys.__excepthook__(type(exc), exc, None)  # python3's own display of it
            sys.stderr.flush()

    @staticmethod
    def show_exception(exc: BaseException) -> None:
        """Show *exc*'s traceback, without bgshell's frames, on stderr."""
        exc.__traceback__ = user_frames(exc.__traceback__)
        _remember(exc)
        if _user_excepthook(exc):
            return
        text, whole = format_exception_checked(exc)
        if whole and type(exc) in _SUGGESTED_BY_C_ONLY:
            # python 3.11 adds "Did you mean: ...?" in its C display alone: use it for
            # these exact types, whose message code is Python's own (never hostile).
            sys.__excepthook__(type(exc), exc, exc.__traceback__)
        else:
            sys.stderr.write(text)
        sys.stderr.flush()


#: Exceptions whose "Did you mean" hint only python's C display adds (3.11; the
#: traceback module adds it from 3.12 on).
_SUGGESTED_BY_C_ONLY = (NameError, AttributeError) if sys.version_info < (3, 12) else ()


def _remember(exc: BaseException) -> None:
    """Keep *exc* where python3 keeps the last error (what ``pdb.pm()`` reads)."""
    sys.last_type, sys.last_value, sys.last_traceback = type(exc), exc, exc.__traceback__
    if sys.version_info >= (3, 12):
        sys.last_exc = exc


def _user_excepthook(exc: BaseException) -> bool:
    """Give *exc* to ``sys.excepthook`` if the user replaced it; True if it was shown."""
    hook = getattr(sys, "excepthook", None)
    if hook is None or hook is sys.__excepthook__:
        return False
    try:
        hook(type(exc), exc, exc.__traceback__)
    except BaseException as failure:  # as python3 does: say so, then show both plainly
        sys.stderr.write("Error in sys.excepthook:\n" + format_exception(failure))
        sys.stderr.write("\nOriginal exception was:\n" + format_exception(exc))
    sys.stderr.flush()
    return True
