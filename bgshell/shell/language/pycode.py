"""What Python's own compiler says about a piece of text: does it compile, and would
``python3 -i`` run it now or ask for another line?

Compiling here only *tests* the text, so compiler warnings are silenced (the code
warns again, once, when it really runs).  Pure text: imports nothing from bgshell.
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from bgshell.shell.language.compound import COMPOUND_NODES

__all__ = ["PYTHON_BLANKS", "is_blank", "compiles", "python_complete"]

#: What python's tokenizer takes for blanks (str.strip also takes U+0085, U+00A0, ...).
PYTHON_BLANKS = " \t\f\r\n"
# Whitespace and comments only (Python's own notion: a comment ends at \r or \n).
_BLANK = re.compile(r"(?:[ \t\f\r\n]|#[^\r\n]*(?![^\r\n]))*")


def is_blank(text: str, start: int = 0) -> bool:
    """True when text[start:] holds only whitespace and comments."""
    return _BLANK.fullmatch(text, start) is not None


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence compiler warnings while we only *test* source.

    Otherwise `x is 1 &` would print its SyntaxWarning once here and again when the
    code really runs.  Not with ``catch_warnings``: changing the filters that way
    makes every module forget which warnings it has shown, so a warning python3
    shows once per place would come back after each input.  A rule put first in the
    list (and taken out again) changes nothing that is remembered; the cost is that
    a job thread's warning in that instant is dropped.
    """
    rule = ("ignore", None, Warning, None, 0)
    warnings.filters.insert(0, rule)
    try:
        yield
    finally:
        for index, item in enumerate(warnings.filters):
            if item is rule:
                del warnings.filters[index]
                break


def compiles(code: str) -> bool:
    """Does *code* compile as a module?  compile() raises a whole zoo for bad input
    (SyntaxError, ValueError for NUL bytes and surrogates, OverflowError,
    RecursionError and MemoryError for deep nesting): any of them means "no"."""
    try:
        with _quiet():
            compile(code, "<input>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
    except Exception:
        return False
    return True


# Compiler flags codeop uses (Include/cpython/compile.h) to tell incomplete input.
_DONT_IMPLY_DEDENT = 0x200
_ALLOW_INCOMPLETE_INPUT = 0x4000


def _compile_command(source: str, symbol: str) -> object:
    """``codeop.compile_command`` with top-level ``await`` allowed, as the shell runs it:
    a code object, None when more input could complete it, or SyntaxError.

    Written out rather than called because codeop silences warnings with
    ``catch_warnings`` (see ``_quiet``) and compiles a last time unsilenced.
    """
    # As codeop: only comment lines (split at \n alone) compile as `pass`; but U+0085,
    # U+00A0... are no blanks to python (str.strip takes them): such a line is an error.
    lines = (line.strip(PYTHON_BLANKS) for line in source.split("\n"))
    if not any(line and not line.startswith("#") for line in lines):
        source = "pass" if symbol != "eval" else source
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    incomplete = flags | _DONT_IMPLY_DEDENT | _ALLOW_INCOMPLETE_INPUT
    try:
        return compile(source, "<input>", symbol, incomplete, dont_inherit=True)
    except SyntaxError:
        try:
            compile(source + "\n", "<input>", symbol, incomplete, dont_inherit=True)
            return None
        except SyntaxError as error:
            if type(error).__name__ == "_IncompleteInputError" or "incomplete input" in str(error):
                return None
    return compile(source, "<input>", symbol, flags, dont_inherit=True)


def python_complete(source: str) -> bool:
    """Would Enter run *source* (True) or open a continuation line (False)?

    As ``python3 -i`` judges it (codeop, "single" mode), with two additions: a
    pasted block of several statements is judged whole, and a last line of blanks
    (an auto-indent left by the editor) counts as the empty line that ends a block.
    """
    if is_blank(source):
        return True
    last_break = source.rfind("\n")
    if last_break >= 0 and not source[last_break + 1 :].strip(" \t\f"):
        source = source[: last_break + 1]
    try:
        with _quiet():
            compiled = _compile_command(source, "single")
    except SyntaxError:
        return _block_complete(source)
    except Exception:  # ValueError (NUL), OverflowError, RecursionError, MemoryError
        return True  # no further line can fix these: submit so the error shows
    return compiled is not None


def _block_complete(source: str) -> bool:
    """Completeness of input that "single" mode rejected: a real error, or a block.

    A block (several statements, as pasted) is judged in "exec" mode; if its last
    statement is compound, it also needs the empty line python -i would ask for, so
    the user can still add to that statement before it runs.
    """
    try:
        with _quiet():
            tree = ast.parse(source)
    except SyntaxError:
        try:
            with _quiet():
                return _compile_command(source, "exec") is not None
        except Exception:
            return True
    except Exception:  # RecursionError, MemoryError, ValueError...
        return True
    if len(tree.body) < 2:
        return True  # one statement that "single" rejected: a genuine error
    # A block ending in a compound statement waits for its empty line, as python -i would.
    ends_open = isinstance(tree.body[-1], COMPOUND_NODES) and not source.endswith(("\n", "\r"))
    return not ends_open
