"""Quoting what the user typed inside a one-line message.

A message about bad input must stay one line whatever the input holds (newlines,
escape sequences, a megabyte), so the input is shown as a Python string literal,
cut short when long.  Pure text: imports nothing from bgshell.
"""

from __future__ import annotations

__all__ = ["show", "show_name"]


def show(value: str, limit: int = 40) -> str:
    """*value* quoted for a one-line message: escaped, never multi-line, never huge."""
    if len(value) > limit:
        return repr(value[:limit]) + "..."
    return repr(value)


def show_name(name: str) -> str:
    """A command name as typed when it is plain, quoted when it could break the line."""
    return name if len(name) <= 40 and name.isprintable() else show(name)
