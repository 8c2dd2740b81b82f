"""Compile input the three ways bgshell runs it.

* ``"single"``, the foreground at a prompt or on a pipe: as ``python3 -i`` does,
  every expression statement at the top level (inside a top-level ``for`` or ``if``
  too) has its value shown through ``sys.displayhook``;
* ``"exec"``, the inputs of ``-c CODE`` and FILE: nothing is shown, as in a script;
* ``"split"``, a background job: the statements, then the last expression apart, whose
  value becomes the job's result (``"single"`` would print from the job's thread).

Like python3's REPL, a ``from __future__`` import stays in force for the inputs
that follow it: the caller passes the flags in force in and gets them back updated.
"""

from __future__ import annotations

import __future__
import ast
import functools
import operator
from dataclasses import dataclass
from types import CodeType
from typing import Any

from bgshell.engine.boundnames import bound_names

__all__ = ["SplitCode", "compile_split", "is_coroutine_code", "is_awaitable", "names_used", "values_of_names_used"]

_FLAGS = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
#: The compiler flags of every ``from __future__`` feature.
FUTURE_FLAGS = functools.reduce(
    operator.or_, (getattr(__future__, name).compiler_flag for name in __future__.all_feature_names), 0
)


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
    #: The ``from __future__`` flags in force after this input.
    future_flags: int = 0
    #: "split" mode only: the names the input binds at its top level (``boundnames``).
    bound_names: tuple[str, ...] = ()


def compile_split(
    source: str, filename: str = "<input>", first_line: int = 1, *, mode: str = "split", future_flags: int = 0
) -> SplitCode:
    """Compile *source*; raise ``SyntaxError`` (never anything else) when it is invalid.

    *first_line* is the line of *filename* that *source* starts at, so tracebacks
    from a script run input by input point at the right lines.  *mode*: "split",
    "single" or "exec" (see above); in the last two, ``body`` is all of it.
    *future_flags*: the future features in force before this input.

    Values of ``ValueError`` from ``compile`` (a NUL byte, for instance) and of
    ``RecursionError``/``MemoryError`` from a pathologically nested input are turned
    into ``SyntaxError`` so that callers have one error to report.
    """
    flags = _FLAGS | (future_flags & FUTURE_FLAGS)
    try:
        try:
            tree = compile(source, filename, "exec", flags=ast.PyCF_ONLY_AST | flags, dont_inherit=True)
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
        names = bound_names(tree) if mode == "split" else ()
        body, last_expr = _compile_tree(tree, filename, mode, flags)
    except SyntaxError:
        raise
    except (ValueError, RecursionError, MemoryError) as exc:
        raise SyntaxError(f"cannot compile this input: {_describe(exc)}") from None
    is_async = is_coroutine_code(body) or is_coroutine_code(last_expr)
    in_force = flags & FUTURE_FLAGS
    for code in (body, last_expr):
        if code is not None:
            in_force |= code.co_flags & FUTURE_FLAGS
    return SplitCode(body, last_expr, is_async, in_force, names)


def _compile_tree(tree: ast.Module, filename: str, mode: str, flags: int) -> tuple[CodeType | None, CodeType | None]:
    """The code objects of *tree* for *mode*; never bgshell's own future features."""
    if not tree.body:
        return None, None
    if mode == "single":
        return compile(ast.Interactive(body=tree.body), filename, "single", flags=flags, dont_inherit=True), None
    if mode == "exec":
        return compile(tree, filename, "exec", flags=flags, dont_inherit=True), None
    last: ast.Expression | None = None
    if isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    body = compile(tree, filename, "exec", flags=flags, dont_inherit=True) if tree.body else None
    last_expr = compile(last, filename, "eval", flags=flags, dont_inherit=True) if last else None
    return body, last_expr


_CO_COROUTINE = 0x0080  # inspect.CO_COROUTINE, without importing inspect at start-up


def is_coroutine_code(code: CodeType | None) -> bool:
    """True if running *code* returns a coroutine (it uses top-level ``await``)."""
    return code is not None and bool(code.co_flags & _CO_COROUTINE)


def is_awaitable(value: object) -> bool:
    """Cheap test for a coroutine, task, future or any object with ``__await__``.

    On the type, as ``await`` itself looks: an instance attribute does not count.
    """
    return hasattr(type(value), "__await__")


def names_used(code: CodeType | None) -> set[str]:
    """Every global or attribute name *code* and the functions inside it mention."""
    if code is None:
        return set()
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, CodeType):
            names |= names_used(const)
    return names


def values_of_names_used(codes: list[CodeType | None], *scopes: dict[str, Any]) -> dict[str, Any]:
    """The names *codes* use, with their values from *scopes* (later scopes win).

    What a job run in another interpreter needs to take along from the shell's
    namespace; dunder names (``__builtins__``, ``__name__``) stay behind.
    """
    used = set().union(*(names_used(code) for code in codes))
    found: dict[str, Any] = {}
    for scope in scopes:
        for name in used:
            if name in scope and not name.startswith("__"):
                found[name] = scope[name]
    return found


def _describe(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "it is nested too deeply"
    if isinstance(exc, MemoryError):
        return "it is too large"
    return str(exc) or type(exc).__name__
