"""Compile interactive input the way ``python3 -i`` treats it.

A REPL executes every statement of an input but the last, and if the last one is an
expression it evaluates it so that its value can be shown and kept in ``_``.
Compiling in ``'single'`` mode would do that too, but it prints through
``sys.displayhook`` from whatever thread runs the code, which is wrong for background
jobs.  So both the foreground evaluator and background statement jobs split the AST
themselves, here, once.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from types import CodeType

__all__ = ["SplitCode", "compile_split"]

#: ``from __future__`` flags are not carried between inputs: like ``python3 -i``
#: a future import only affects the input it appears in.
_FLAGS = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT


@dataclass(frozen=True)
class SplitCode:
    """Input compiled in two parts: statements to ``exec``, then an expression to ``eval``.

    Either part may be ``None``: a lone expression has no statements, and input that
    ends in a statement has no value.  ``is_async`` says that top-level ``await`` (or
    ``async for``/``async with``) appears, so the code object returns a coroutine.
    """

    body: CodeType | None
    last_expr: CodeType | None
    is_async: bool


def compile_split(source: str, filename: str = "<input>", first_line: int = 1) -> SplitCode:
    """Compile *source*; raise ``SyntaxError`` (never anything else) when it is invalid.

    *first_line* is the line of *filename* that *source* starts at, so tracebacks
    from a script run input by input point at the right lines.

    Values of ``ValueError`` from ``compile`` (a NUL byte, for instance) and of
    ``RecursionError``/``MemoryError`` from a pathologically nested input are turned
    into ``SyntaxError`` so that callers have one error to report.
    """
    try:
        try:
            tree = ast.parse(source, filename, "exec")
        except SyntaxError as exc:
            if first_line > 1 and exc.lineno is not None:
                # CPython may have read the text from the file at the unshifted line.
                lines = source.splitlines()
                if 0 < exc.lineno <= len(lines):
                    exc.text = lines[exc.lineno - 1] + "\n"
                exc.lineno += first_line - 1
                if getattr(exc, "end_lineno", None) is not None:
                    exc.end_lineno += first_line - 1
            raise
        if first_line > 1:
            ast.increment_lineno(tree, first_line - 1)
        last: ast.Expression | None = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        body = compile(tree, filename, "exec", flags=_FLAGS) if tree.body else None
        last_expr = compile(last, filename, "eval", flags=_FLAGS) if last else None
    except SyntaxError:
        raise
    except (ValueError, RecursionError, MemoryError) as exc:
        raise SyntaxError(f"cannot compile this input: {_describe(exc)}") from None
    is_async = any(
        code is not None and bool(code.co_flags & _CO_COROUTINE)
        for code in (body, last_expr)
    )
    return SplitCode(body, last_expr, is_async)


_CO_COROUTINE = 0x0080  # inspect.CO_COROUTINE, without importing inspect at start-up


def _describe(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "it is nested too deeply"
    if isinstance(exc, MemoryError):
        return "it is too large"
    return str(exc) or type(exc).__name__
