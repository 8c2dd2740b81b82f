"""Cutting a stream of lines (a pipe, ``-c CODE``, a FILE) into inputs.

At a terminal the user ends a block with an empty line, as in ``python3 -i``.  A
script cannot be read that way: functions have empty lines inside them.  So here a
compound statement goes on through empty lines and ends when a line starts again at
column 0 (and is not its ``else``/``except``/... or a closing bracket), or at the end
of the input.  A simple statement or a builtin is complete on its own line and runs
as soon as it is read, so a pipe fed slowly gets answers line by line.
"""

from __future__ import annotations

from typing import Callable, Collection, Iterable, Iterator

from bgshell.source import is_complete

__all__ = ["iter_inputs", "iter_numbered_inputs"]

_CONTINUATIONS = ("else", "elif", "except", "finally")


def _continues_block(line: str) -> bool:
    """True if a column-0 *line* belongs to the block above it."""
    stripped = line.lstrip()
    if stripped[:1] in (")", "]", "}"):
        return True
    word = stripped.split(None, 1)[0].rstrip(":") if stripped else ""
    return word in _CONTINUATIONS


def iter_inputs(
    lines: Iterable[str],
    builtins: Collection[str],
    is_bound: Callable[[str], bool],
) -> Iterator[str]:
    """Yield each complete input from *lines* (each line without or with its newline)."""
    for _, text in iter_numbered_inputs(lines, builtins, is_bound):
        yield text


def iter_numbered_inputs(
    lines: Iterable[str],
    builtins: Collection[str],
    is_bound: Callable[[str], bool],
) -> Iterator[tuple[int, str]]:
    """Like ``iter_inputs``, with the line number (from 1) each input starts at."""
    buffer: list[str] = []
    start = 0
    for number, raw in enumerate(lines, 1):
        line = raw.rstrip("\r\n")
        if buffer:
            starts_anew = line[:1] not in ("", " ", "\t", "#") and not _continues_block(line)
            if starts_anew and is_complete("\n".join(buffer) + "\n\n", builtins, is_bound):
                yield start, "\n".join(buffer)
                buffer = []
            else:
                buffer.append(line)
                continue
        if not line.strip() and not buffer:
            continue
        if not buffer:
            start = number
        buffer.append(line)
        text = "\n".join(buffer)
        if is_complete(text, builtins, is_bound) and not _opens_block(text):
            yield start, text
            buffer = []
    if buffer and "\n".join(buffer).strip():
        yield start, "\n".join(buffer)


def _opens_block(text: str) -> bool:
    """A compound statement waits for its end even when it already compiles."""
    first_line = text.lstrip().split("\n", 1)[0]
    first = first_line.split(None, 1)[0] if first_line.strip() else ""
    word = first.rstrip(":").split("(")[0]
    if word == "match":  # a soft keyword: `match = 3` is an assignment
        return first_line.rstrip().endswith(":")
    return word in _COMPOUND or first.startswith("@")


_COMPOUND = frozenset({"def", "class", "if", "for", "while", "with", "try", "async"})
