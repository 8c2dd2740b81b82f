"""Cutting a stream of lines (a pipe, ``-c CODE``, a FILE) into inputs.

At a terminal the user ends a block with an empty line, as in ``python3 -i``.  A
script cannot be read that way: functions have empty lines inside them.  So here a
compound statement goes on through empty lines and ends when a line starts again at
column 0 (and is not its ``else``/``except``/... or a closing bracket), or at the end
of the input.  A simple statement or a builtin is complete on its own line and runs
as soon as it is read, so a pipe fed slowly gets answers line by line.
"""

from __future__ import annotations

from typing import Callable, Iterable, Iterator

from bgshell.shell.language.classify import Grammar
from bgshell.shell.language.compound import BLOCK_CONTINUATIONS, COMPOUND_KEYWORDS

__all__ = ["iter_numbered_inputs"]


def _continues_block(line: str) -> bool:
    """True if a column-0 *line* belongs to the block above it."""
    stripped = line.lstrip()
    if stripped[:1] in (")", "]", "}"):
        return True
    word = stripped.split(None, 1)[0].rstrip(":") if stripped else ""
    return word in BLOCK_CONTINUATIONS


def iter_numbered_inputs(
    lines: Iterable[str],
    grammar: Grammar,
    is_bound: Callable[[str], bool],
) -> Iterator[tuple[int, str]]:
    """Each complete input in *lines* (each line with or without its newline), with
    the line number (from 1) it starts at."""
    buffer: list[str] = []
    start = 0
    for number, raw in enumerate(lines, 1):
        line = raw.rstrip("\r\n")
        if buffer:
            starts_anew = line[:1] not in ("", " ", "\t", "#") and not _continues_block(line)
            if starts_anew and grammar.is_complete("\n".join(buffer) + "\n\n", is_bound):
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
        if grammar.is_complete(text, is_bound) and not _opens_block(text):
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
    return word in COMPOUND_KEYWORDS or first.startswith("@")
