"""Finding a trailing ``&`` (or ``&:KIND``) that sends input to the background.

Decided on Python *tokens*, never on raw text, because ``&`` is also Python's
bitwise and: ``a & b``, ``x &= 1``, ``'a &'``, ``# &`` and ``(a &\\n b)`` are ordinary
Python and must stay so.  A ``&`` at bracket depth 0 that is the last significant
token can never be valid Python, so taking it as "run in the background" takes
nothing away from the language; the same holds for the ``&:KIND`` suffix.  Two
raw-text shortcuts keep megabyte inputs fast (the tokenize module is pure Python on
3.11); each is used only where it provably agrees with the tokens, and the tests
check that agreement on generated input.

Pure text: imports nothing from bgshell.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections import deque
from dataclasses import dataclass, field
from itertools import accumulate

__all__ = ["Marker", "find_marker", "may_end_a_line"]

# Tokens that carry no meaning for "what does this input end with".
_INSIGNIFICANT = frozenset(
    {tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}
)
_OPENERS = frozenset("([{")
_CLOSERS = frozenset(")]}")

# A cheap pre-filter, so that a megabyte of ordinary Python never reaches the (pure
# Python, slow) tokenizer: where the tokenizer finds a trailing `&`, the raw text has
#   * after that `&`'s line, only lines of blanks and comments ("noise lines"), and
#   * after the `&` on its own line: blanks or backslashes, maybe `:NAME`, maybe a
#     comment, then the end of the line.
# So an `&` on the last line with code (or on a line continued into it with a
# backslash, or on a noise line) that the line-local pattern accepts is a candidate,
# and if there is none, there is no marker.  Both patterns are looser than the
# tokenizer (`#` may sit inside a string) and both run in linear time: the reversed
# match is anchored and never needs to backtrack into an earlier line, and a search
# attempt stops at the first character its class rejects, before the next `&`, or
# accepts at once once it reaches a `#`, since a comment always runs to its line end.
_BLANK_CHARS = r"[ \t\f\v\\\x00]"
_NAME_CHARS = r"[^ \t\f\v\r\n\\\x00#&:]"
_REVERSED_NOISE_LINES = re.compile(r"(?:(?:[^\r\n]*#)?" + _BLANK_CHARS + r"*(?:[\r\n]|\Z))*")
_AMP_ENDING_A_LINE = re.compile(
    "&" + _BLANK_CHARS + "*(?::" + _BLANK_CHARS + "*(?:" + _NAME_CHARS + "+" + _BLANK_CHARS + "*)?)?"
    r"(?:#[^\r\n]*)?(?=[\r\n]|\Z)"
)

# The fast path of find_marker (see _find_marker_simple): lines this long or longer,
# made only of ASCII names, numbers, operators (`!` only in `!=`: alone it is an error
# token on 3.11), brackets and blanks, optionally ending in one newline.
_FAST_FROM = 16_384
_NOT_SIMPLE = re.compile(r"[^A-Za-z0-9_ \t+\-*/%@&|^~<>=.,:;()\[\]{}!]|![^=]|!\Z")
_SIMPLE_TAIL = re.compile(r"&[ \t]*(?:(:)[ \t]*(?:([A-Za-z_][A-Za-z0-9_]*)[ \t]*)?)?\n?\Z")
_SIMPLE_LONE = re.compile(r"[ \t&]*")
_NOT_BRACKET = re.compile(r"[^()\[\]{}]+")
_BRACKET_STEP = {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}
_UNDECIDED = object()


@dataclass(frozen=True)
class Marker:
    """A trailing `&`, `&:` or `&:NAME` found on tokens at bracket depth 0."""

    start: int
    """Offset of the `&` in the text."""
    end: int
    """Offset just past the marker's last token."""
    code_end: int
    """Offset just past the last token before the marker on its logical line."""
    kind_name: str | None
    """The NAME after `&:`, "" for a bare `&:`, None for a plain `&`."""
    lone: bool
    """Nothing but other `&`s precedes the marker on its logical line."""
    code_before: bool
    """An earlier logical line holds code (only to word the lone-`&` message)."""


def find_marker(text: str) -> Marker | None:
    """Find a trailing background marker, or None.

    The tokens decide (_find_marker_on_tokens); the two steps before it only skip the
    tokenizer where it provably cannot matter, so that huge inputs stay fast.
    """
    if not _has_marker_candidate(text):
        return None
    if len(text) >= _FAST_FROM:
        found = _find_marker_simple(text)
        if found is not _UNDECIDED:
            return found  # type: ignore[return-value]
    return _find_marker_on_tokens(text)


@dataclass
class _LogicalLine:
    """The last few significant tokens of one logical line, and what precedes them."""

    tail: deque[tokenize.TokenInfo] = field(default_factory=lambda: deque(maxlen=4))
    count: int = 0
    """Significant tokens on the line."""
    not_amp: int = 0
    """Of those, how many are not `&`."""
    code_before: bool = False
    """An earlier logical line holds code."""


def _last_logical_line(text: str) -> tuple[_LogicalLine, list[int]] | None:
    """Tokenize *text*; its last logical line with code, and where each line starts.

    None when the tokens cannot end in a marker at depth 0: any tokenizer failure
    (unterminated string, EOF inside brackets, bad dedent, NUL bytes, surrogates,
    error tokens), unbalanced brackets, or no code at all.  Only the tail of each
    line is kept, so memory stays small whatever the input's size.
    """
    line_starts: list[int] = []
    consumed = 0
    reader = io.StringIO(text)  # newline="\n": no translation, so offsets stay exact

    def readline() -> str:
        nonlocal consumed
        physical = reader.readline()
        line_starts.append(consumed)
        consumed += len(physical)
        return physical

    depth = 0
    line, last = _LogicalLine(), None
    try:
        for token in tokenize.generate_tokens(readline):
            kind = token.type
            if kind == tokenize.NEWLINE:
                if line.count:
                    last = line
                    line = _LogicalLine(code_before=line.code_before or line.not_amp > 0)
                continue
            if kind in _INSIGNIFICANT:
                continue
            if kind == tokenize.ERRORTOKEN:
                return None
            line.tail.append(token)
            line.count += 1
            if kind == tokenize.OP and token.string == "&":
                continue
            if kind == tokenize.OP and token.string in _OPENERS:
                depth += 1
            elif kind == tokenize.OP and token.string in _CLOSERS:
                depth -= 1
                if depth < 0:
                    return None  # a closer with no opener: 3.12+ tokenize stops here too
            line.not_amp += 1
    except Exception:  # TokenError, IndentationError, SyntaxError (3.12+), UnicodeError...
        return None
    if line.count:  # the tokenizer always closes the last line with NEWLINE; be safe anyway
        last = line
    if last is None or depth != 0:
        return None
    return last, line_starts


def _marker_tokens(tail: deque[tokenize.TokenInfo]) -> tuple[int, str | None] | None:
    """How many of the last tokens form a marker, and its kind name; None if none do."""
    final = tail[-1]
    if _is_op(final, "&"):
        return 1, None
    if len(tail) >= 2 and _is_op(final, ":") and _is_op(tail[-2], "&"):
        return 2, ""
    if len(tail) >= 3 and final.type == tokenize.NAME and _is_op(tail[-2], ":") and _is_op(tail[-3], "&"):
        return 3, final.string
    return None


def _find_marker_on_tokens(text: str) -> Marker | None:
    """Find a trailing background marker on Python tokens, or None.

    Where the tokens cannot be read, there is no marker: the text then goes to the
    compiler as Python, which reports the real problem far better than we could.
    """
    scanned = _last_logical_line(text)
    if scanned is None:
        return None
    line, line_starts = scanned
    found = _marker_tokens(line.tail)
    if found is None:
        return None
    size, kind_name = found

    def offset(position: tuple[int, int]) -> int:
        row, col = position
        return line_starts[row - 1] + col if 0 < row <= len(line_starts) else -1

    start = offset(line.tail[-size].start)
    end = offset(line.tail[-1].end)
    if start < 0 or end < 0 or text[start : start + 1] != "&":
        return None  # positions we cannot trust: never guess where the code ends
    # `:` and NAME of the marker count as "not &"; the payload is code only if it has more.
    lone = line.not_amp - (size - 1) <= 0
    code_end = 0 if lone else offset(line.tail[-size - 1].end)
    if code_end < 0:
        return None
    return Marker(start, end, code_end, kind_name, lone, line.code_before)


def _has_marker_candidate(text: str) -> bool:
    """False only when the text cannot end in a background marker (see _AMP_ENDING_A_LINE)."""
    if "&" not in text:
        return False
    noise = _REVERSED_NOISE_LINES.match(text[::-1])
    assert noise is not None  # a starred pattern always matches
    code_end = len(text) - noise.end()  # text[code_end:] is a line break and noise lines
    line_start = _start_of_line(text, code_end)
    while line_start > 0:  # step back over lines that a backslash continues
        before = line_start - 1
        if text[before] == "\n" and before > 0 and text[before - 1] == "\r":
            before -= 1
        if before == 0 or text[before - 1] != "\\":
            break
        line_start = _start_of_line(text, before)
    return _AMP_ENDING_A_LINE.search(text, line_start) is not None


def may_end_a_line(text: str) -> bool:
    """False only when no line of *text* can end in a background marker: a cheap test
    on raw text (the pattern of ``_has_marker_candidate``), before tokenizing."""
    return "&" in text and _AMP_ENDING_A_LINE.search(text) is not None


def _start_of_line(text: str, position: int) -> int:
    """Offset where the line holding text[position] starts; lines end at \\r or \\n."""
    return max(text.rfind("\n", 0, position), text.rfind("\r", 0, position)) + 1


def _find_marker_simple(text: str) -> object:
    """find_marker for one line without strings, comments or backslashes, or _UNDECIDED.

    Why: the tokenize module is pure Python on 3.11 (about 2 microseconds a token), so a
    1 MB line such as ``f(1, 2, ..., 9) &`` would take seconds.  On a line made only of
    ASCII names, numbers, operators, brackets and blanks, every ``&`` character is an
    ``&`` token (no other operator ends in ``&``, and ``&=`` cannot end the text), every
    bracket character is a bracket token, and there is one logical line: reading the
    characters gives exactly what the tokens would.  Anything else is left to tokenize.
    """
    if _NOT_SIMPLE.search(text, 0, len(text) - text.endswith("\n")) is not None:
        return _UNDECIDED
    tail = _SIMPLE_TAIL.search(text)
    if tail is None:
        return None  # the tokens end in something else: `&:=`, `&:1`, `& x`...
    # Bracket depth, as the token loop tracks it: it must never drop below 0 and must
    # end at 0.  accumulate() over the brackets alone keeps the per-character work in C.
    depths = list(accumulate(map(_BRACKET_STEP.__getitem__, _NOT_BRACKET.sub("", text))))
    if depths and (depths[-1] != 0 or min(depths) < 0):
        return None
    start = tail.start()
    colon, name = tail.group(1), tail.group(2)
    kind_name = None if colon is None else (name or "")
    end = tail.end(2) if name else tail.end(1) if colon else start + 1
    lone = _SIMPLE_LONE.fullmatch(text, 0, start) is not None
    code_end = 0 if lone else len(text[:start].rstrip(" \t"))
    return Marker(start, end, code_end, kind_name, lone, code_before=False)


def _is_op(token: tokenize.TokenInfo, string: str) -> bool:
    return token.type == tokenize.OP and token.string == string
