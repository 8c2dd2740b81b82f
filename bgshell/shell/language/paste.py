"""Cutting a pasted block into its top-level statements, when some end in ``&``.

A paste of several statements, some ending in ``&`` (or ``&:KIND``), runs as a
pasted shell script does: in order, each ``&`` statement a job of its own, the
others in the foreground.  As one input it would be a SyntaxError (an ``&`` that
ends a line in the middle of the input is no Python), so the block is cut first:

* a piece is one top-level statement: a simple statement's logical line (``x = 1;
  f(x) &`` on one line stays one piece, as it is one job today), or a whole
  compound statement with its body, its ``else``/``elif``/``except``/``finally``
  clauses and its decorators (so ``for ...:\\n    f(i) &`` stays one job);
* it is decided on Python tokens, so an ``&`` inside a string, brackets or a
  comment, ``a & b`` and ``x &= 1`` cut nothing; the trailing ``&`` itself is
  found by ``marker``, the same rule as for any input;
* a block is cut only when it has two pieces or more and one of them ends in a
  marker that has code before it; anything else (text the tokenizer cannot read,
  a first line that is indented, a lone ``&``) is left whole, to be judged as
  today.

Pure text: imports nothing from bgshell outside the language.
"""

from __future__ import annotations

import io
import tokenize
from dataclasses import dataclass

from bgshell.shell.language.compound import BLOCK_CONTINUATIONS
from bgshell.shell.language.marker import find_marker, may_end_a_line

__all__ = ["Piece", "split_pasted"]

_SKIPPED = frozenset({tokenize.NL, tokenize.COMMENT, tokenize.ENCODING})


@dataclass(frozen=True)
class Piece:
    """One top-level statement of a pasted block."""

    text: str
    """The statement's lines, from the start of its first line to the start of the
    next piece (the last piece runs to the end of the block)."""
    line: int
    """The line of the block it starts on, from 1."""
    start: int
    """Its offset in the block."""


def split_pasted(text: str) -> list[Piece] | None:
    """The top-level statements of *text*, when it is a block to run piece by piece
    (see the module's rules); None when it is one input."""
    # Cheap tests before the (pure Python, slow) tokenizer: a cut needs two lines, and
    # an `&` that ends a line (maybe followed by `:NAME` and a comment; see marker).
    stripped = text.strip()
    if not ("\n" in stripped or "\r" in stripped) or not may_end_a_line(text):
        return None
    starts = _statement_starts(text)
    if starts is None or len(starts) < 2:
        return None
    line_offsets = _line_offsets(text)
    offsets = [line_offsets[row - 1] for row in starts] + [len(text)]
    pieces = [Piece(text[offsets[i]:offsets[i + 1]], starts[i], offsets[i]) for i in range(len(starts))]
    if not any(_ends_in_marker(piece.text) for piece in pieces):
        return None
    return pieces


def _ends_in_marker(text: str) -> bool:
    marker = find_marker(text)
    return marker is not None and not marker.lone


def _line_offsets(text: str) -> list[int]:
    """Where each line of *text* starts, as ``io.StringIO(text).readline`` cuts them."""
    offsets, position = [], 0
    for line in io.StringIO(text):  # newline="\n": no translation, so offsets stay exact
        offsets.append(position)
        position += len(line)
    return offsets or [0]


def _statement_starts(text: str) -> list[int] | None:
    """The row (from 1) of each top-level statement's first line; None when the tokens
    cannot be read, or the block does not start at column 0.

    Text that ends inside brackets or a triple-quoted string still has its starts:
    its last statement is not finished yet (Enter should wait for more of it).
    """
    starts: list[int] = []
    depth = 0  # indentation levels
    at_line_start = True
    after_decorator = False
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            kind = token.type
            if kind == tokenize.INDENT:
                if not starts:
                    return None  # an indented first line: Python says why, not us
                depth += 1
            elif kind == tokenize.DEDENT:
                depth -= 1
            elif kind == tokenize.NEWLINE:
                at_line_start = True
            elif kind in _SKIPPED or kind == tokenize.ENDMARKER:
                continue
            elif kind == tokenize.ERRORTOKEN:
                return None
            elif at_line_start:
                at_line_start = False
                if depth == 0 and not after_decorator and not _continues(token):
                    starts.append(token.start[0])
                if depth == 0:
                    after_decorator = token.type == tokenize.OP and token.string == "@"
    except tokenize.TokenError as exc:
        return starts if "EOF" in str(exc.args[0] if exc.args else "") else None
    except Exception:  # IndentationError, SyntaxError (3.12+)...
        return None
    return starts


def _continues(token: tokenize.TokenInfo) -> bool:
    """A line starting with this token belongs to the compound statement above it."""
    return token.type == tokenize.NAME and token.string in BLOCK_CONTINUATIONS
