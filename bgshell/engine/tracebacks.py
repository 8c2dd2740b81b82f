"""Turning an exception into text a person can read, whatever the exception does.

Used for the tracebacks of dead jobs and, by the shell, for foreground errors, so the
two look alike.  An exception's ``__str__`` is user code: it may raise anything (even
``SystemExit``), hang, or return megabytes, so every path here is guarded and capped.
"""

from __future__ import annotations

import os.path
import sys
import traceback  # now: a job may hide the module from sys.modules later
from types import CodeType, TracebackType
from typing import Any, Callable, Collection

__all__ = [
    "MAX_LINE", "cap_text", "format_exception", "format_exception_checked", "describe_exception",
    "is_bgshell_frame", "user_frames", "hide_innermost", "cut_before", "type_name", "plain_str",
]


def type_name(obj: object) -> str:
    """The name of *obj*'s class, even if its metaclass makes ``__name__`` raise."""
    try:
        return type.__dict__["__name__"].__get__(type(obj), type)
    except BaseException:
        return "object"


def plain_str(text: str) -> str:
    """*text* as a plain ``str``: a ``str`` subclass's own methods (which may raise
    anything, even ``SystemExit``) are never called on the copy."""
    return "".join((text,)) if type(text) is not str else text


def _package_dir() -> str:
    """The folder of the ``bgshell`` package, wherever it is installed or checked out.

    Taken from the package's module, not from this file's place in it, so moving
    this module leaves the answer right.
    """
    top = sys.modules[__name__.partition(".")[0]]
    return os.path.dirname(os.path.abspath(top.__file__ or "")) + os.path.sep


#: Frames from files under this folder are bgshell's own, left out of tracebacks.
PACKAGE_DIR = _package_dir()

#: Characters of one traceback line kept at most (from both ends): a 10 MB exception
#: message, or a 100,000-character source line, must not be thrown on the screen.
MAX_LINE = 2_000


def is_bgshell_frame(filename: str) -> bool:
    """True for a frame of bgshell's own code (left out of what the user is shown)."""
    return filename.startswith(PACKAGE_DIR)


def cap_text(text: str, limit: int = MAX_LINE) -> str:
    """*text* with every line longer than *limit* cut in its middle, with a note
    saying how much was left out; each line stays one line."""
    if len(text) <= limit:
        return text
    lines = text.split("\n")
    half = limit // 2
    for i, line in enumerate(lines):
        if len(line) > limit:
            lines[i] = f"{line[:half]} [... {len(line) - 2 * half:,} characters not shown ...] {line[-half:]}"
    return "\n".join(lines)


#: The code of bgshell's functions that stand in for C ones (a signal handler raising
#: Ctrl-C's ``KeyboardInterrupt``, ``sys.setrecursionlimit``): python3's own add no
#: frame to a traceback, so theirs are cut.
_HIDDEN_CODES: set[Any] = set()


def hide_innermost(function: Callable[..., Any]) -> None:
    """Leave *function*'s frame out of the tracebacks of what it raises."""
    _HIDDEN_CODES.add(getattr(function, "__func__", function).__code__)


def user_frames(tb: TracebackType | None) -> TracebackType | None:
    """*tb* from its first frame that is not bgshell's own (where the user's code
    starts), up to a function of bgshell's that stands in for a C one and raised it
    (cut off, see ``hide_innermost``)."""
    while tb is not None and is_bgshell_frame(tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    return cut_before(tb, _HIDDEN_CODES)


def cut_before(tb: TracebackType | None, codes: Collection[CodeType]) -> TracebackType | None:
    """*tb*, ended before its first frame running one of *codes* (changed in place)."""
    cursor = tb
    while cursor is not None and cursor.tb_next is not None:
        if cursor.tb_next.tb_frame.f_code in codes:
            cursor.tb_next = None
            break
        cursor = cursor.tb_next
    return tb


def format_exception(exc: BaseException) -> str:
    """Format *exc* with its traceback, leaving out bgshell's own leading frames."""
    return format_exception_checked(exc)[0]


def format_exception_checked(exc: BaseException) -> tuple[str, bool]:
    """``format_exception(exc)``, and whether that is all of it, unchanged: False when a
    line had to be cut short or the exception could not be formatted at all."""
    tb = user_frames(exc.__traceback__)
    try:
        text = "".join(traceback.format_exception(type(exc), exc, tb))
    except BaseException as err:  # a hostile __str__ (even one raising SystemExit)
        return f"{type_name(exc)}: <the exception could not be formatted: {type_name(err)}>\n", False
    capped = cap_text(text)
    return capped, capped is text


def describe_exception(exc: BaseException | None) -> str:
    """``ZeroDivisionError: division by zero`` on one short line, whatever ``__str__``
    does (raises anything, even ``SystemExit``, or returns megabytes)."""
    if exc is None:
        return ""
    name = type_name(exc)
    try:
        text = str(exc)
        if not isinstance(text, str):
            raise TypeError
        text = plain_str(text)
    except BaseException:
        text = "<the exception's message could not be shown>"
    text = " ".join(text[:1000].split())
    if len(text) > 200:
        text = text[:197] + "..."
    return f"{name}: {text}" if text else name
