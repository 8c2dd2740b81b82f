"""Pure functions on input text: empty, a builtin, Python, or Python sent to the background?

The shell reads a line (or a block) and must decide, before running anything:

* whether pressing Enter submits it or opens a continuation line (`is_complete`),
* what it is (`classify`): nothing, a builtin such as ``jobs`` or ``kill %1``, Python to
  run now, Python to run as a background job because it ends in ``&``, or a mistake
  that deserves one clear line instead of a confusing traceback.

Everything here works on text only, imports no UI and never raises (except
`parse_jobspec`, whose whole job is to reject bad specs with `JobSpecError`): a
classifier that crashes on odd input would take the whole shell down with it.

The trailing ``&`` is decided on Python *tokens*, never on raw text, because ``&`` is
also Python's bitwise and: ``a & b``, ``x &= 1``, ``'a &'``, ``# &`` and ``(a &\\n b)``
are ordinary Python and must stay so.  A ``&`` at bracket depth 0 that is the last
significant token can never be valid Python, so treating it as "run in the background"
takes nothing away from the language.  The same holds for the ``&:KIND`` suffix.
Two raw-text shortcuts keep megabyte inputs fast (the tokenize module is pure Python
on 3.11); each is used only where it provably agrees with the tokens, and the tests
check that agreement on generated input.
"""

import ast
import codeop
import io
import re
import tokenize
import warnings
from collections import deque
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from itertools import accumulate
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "BACKGROUND_KINDS",
    "Classified",
    "JobSpec",
    "JobSpecError",
    "classify",
    "is_complete",
    "parse_jobspec",
    "split_background",
]

BACKGROUND_KINDS: tuple[str, ...] = ("thread", "process")
"""Job kinds that the ``&:KIND`` suffix may name (a unique prefix such as ``&:p`` works)."""


@dataclass(frozen=True)
class Classified:
    """What one input is, and what the shell needs to act on it.

    Only the fields that matter for ``kind`` are filled; the others keep their defaults,
    so a caller can dispatch on ``kind`` alone.
    """

    kind: Literal["empty", "python", "background", "builtin", "error"]
    code: str = ""
    """python: the input unchanged; background: the input without the trailing ``&``."""
    job_kind: str | None = None
    """background only: a name from BACKGROUND_KINDS, or None for the session default."""
    name: str = ""
    """builtin only: the builtin's name, without any ``%``."""
    args: tuple[str, ...] = ()
    """builtin only: its arguments, split the way a POSIX shell would."""
    message: str = ""
    """error only: one line saying what was wrong and what would be right."""


@dataclass(frozen=True)
class JobSpec:
    """A parsed job reference: exactly one of the two fields is set."""

    number: int | None
    """The job number, for ``N`` and ``%N``."""
    relative: str | None
    """``"+"`` for the newest job (``%+``, ``%%``), ``"-"`` for the one before it (``%-``)."""


class JobSpecError(ValueError):
    """A job spec that names no job; the message is one line fit to show the user."""


# --------------------------------------------------------------------------- helpers

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

# The fast path of _find_marker (see _find_marker_simple): lines this long or longer,
# made only of ASCII names, numbers, operators (`!` only in `!=`: alone it is an error
# token on 3.11), brackets and blanks, optionally ending in one newline.
_FAST_FROM = 16_384
_NOT_SIMPLE = re.compile(r"[^A-Za-z0-9_ \t+\-*/%@&|^~<>=.,:;()\[\]{}!]|![^=]|!\Z")
_SIMPLE_TAIL = re.compile(r"&[ \t]*(?:(:)[ \t]*(?:([A-Za-z_][A-Za-z0-9_]*)[ \t]*)?)?\n?\Z")
_SIMPLE_LONE = re.compile(r"[ \t&]*")
_NOT_BRACKET = re.compile(r"[^()\[\]{}]+")
_BRACKET_STEP = {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}
_UNDECIDED = object()

# Whitespace and comments only (Python's own notion: a comment ends at \r or \n).
_BLANK = re.compile(r"(?:[ \t\f\r\n]|#[^\r\n]*(?![^\r\n]))*")
# Whole blank or comment-only lines at the start of the input.
_NOISE_LINES = re.compile(r"(?:[ \t\f]*(?:#[^\r\n]*)?[\r\n])*")
_LINE_BREAK = re.compile(r"[\r\n]")

# A builtin's first word, split off the way the shell splits words (space or tab).
_FIRST_WORD = re.compile(r"([^ \t]+)(.*)", re.DOTALL)
_PERCENT_WORD = re.compile(r"%([^ \t]*)(.*)", re.DOTALL)

# Text after a builtin's name (and its whitespace) that means the user is writing
# Python with that name, not running the builtin: `result = 5`, `jobs.new(f)`,
# `wait(1)`, `result == 3`, `flush + 1`, `jobs if x else y`.  A sign glued to its
# operand (`kill -1`, `kill %1`) stays a builtin argument.
_PYTHON_CONTINUES = re.compile(
    r"""
      [=.(\[,:;]                                    # = or ==, attribute, call, item, tuple, annotation, ;
    | (?:\*\*|//|>>|<<|[-+*/%@&|^])=                # augmented assignment
    | (?:<=|>=|!=)                                  # comparisons no shell argument starts with
    | (?:\*\*|//|>>|<<|->|[-+*/%@&|^<>])[ \t]       # a binary operator, then whitespace
    | (?:if|for|and|or|in|is|else)(?=[ \t(\[{'"])   # a keyword continuing an expression
    | not[ \t]+in\b
    """,
    re.VERBOSE,
)

# Shell words: shlex.split(text, comments=True) semantics, with regular expressions
# instead of shlex's character-at-a-time loop (which takes ~14 s on a 1 MB word).
_SHELL_SPECIAL = re.compile(r"['\"\\#]")
_SHELL_PLAIN_WORD = re.compile(r"[^ \t\r\n]+")
_SHELL_STEP = re.compile(
    r"""
    [ \t\r\n]*
    (?:
        (?P<word>(?:[^ \t\r\n'"\\\#]+|'[^']*'|"(?:[^"\\]|\\.)*"|\\.)+)
      | (?P<comment>\#[^\n]*)
      | (?P<quote>['"])
      | (?P<escape>\\)
    )?
    """,
    re.VERBOSE | re.DOTALL,
)
_SHELL_PIECE = re.compile(r"""'([^']*)'|"((?:[^"\\]|\\.)*)"|\\(.)|([^'"\\]+)""", re.DOTALL)
_DOUBLE_QUOTED_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
# A last shell word that is a background marker (`&`, `&:p`, `1&`).
_AMP_WORD_END = re.compile(r"&(?::\w*)?\Z")

_JOBSPEC = re.compile(r"(%?)([0-9]+)|%([+%-])")
_MAX_JOB_NUMBER = 10**18
_JOBSPEC_HINT = "use N, %N, %+ or %-"


def _compound_statement_types() -> tuple[type, ...]:
    """AST classes of statements that python -i ends only with an empty line."""
    names = (
        "If", "For", "AsyncFor", "While", "With", "AsyncWith", "Try", "TryStar",
        "FunctionDef", "AsyncFunctionDef", "ClassDef", "Match",
    )
    return tuple(getattr(ast, name) for name in names if hasattr(ast, name))


_COMPOUND = _compound_statement_types()


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence compiler warnings while we only *test* source.

    Otherwise `x is 1 &` would print its SyntaxWarning once here and again when the
    code really runs.  (catch_warnings swaps process-wide state for a moment; the cost
    is that a job thread's warning in that instant may be dropped.)
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _show(value: str, limit: int = 40) -> str:
    """Quote user text for a one-line message: escaped, never multi-line, never huge."""
    if len(value) > limit:
        return repr(value[:limit]) + "..."
    return repr(value)


def _show_name(name: str) -> str:
    """A command name as typed when it is plain, quoted when it could break the line."""
    return name if len(name) <= 40 and name.isprintable() else _show(name)


def _error(message: str) -> Classified:
    return Classified("error", message=message)


def _is_blank(text: str, start: int = 0) -> bool:
    """True when text[start:] holds only whitespace and comments."""
    return _BLANK.fullmatch(text, start) is not None


def _compiles(code: str) -> bool:
    """Does `code` compile as a module?  compile() raises a whole zoo for bad input
    (SyntaxError, ValueError for NUL bytes and surrogates, OverflowError,
    RecursionError and MemoryError for deep nesting): any of them means "no"."""
    try:
        with _quiet():
            compile(code, "<input>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
    except Exception:
        return False
    return True


# --------------------------------------------------------------------------- the marker


@dataclass(frozen=True)
class _Marker:
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


def _find_marker(text: str) -> _Marker | None:
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


def _find_marker_on_tokens(text: str) -> _Marker | None:
    """Find a trailing background marker on Python tokens, or None.

    Any tokenizer failure (unterminated string, EOF inside brackets, bad dedent, NUL
    bytes, surrogates, error tokens) means "no marker": the text then goes to the
    compiler as Python, which reports the real problem far better than we could.
    """
    line_starts: list[int] = []
    consumed = 0
    reader = io.StringIO(text)  # newline="\n": no translation, so offsets stay exact

    def readline() -> str:
        nonlocal consumed
        line = reader.readline()
        line_starts.append(consumed)
        consumed += len(line)
        return line

    depth = 0
    # The current logical line: its last few significant tokens, how many it has, and
    # how many of those are not `&`.  Only the tail matters, so memory stays small.
    tail: deque[tokenize.TokenInfo] = deque(maxlen=4)
    count = 0
    not_amp = 0
    code_before = False
    last: tuple[deque[tokenize.TokenInfo], int, int, bool] | None = None
    try:
        for token in tokenize.generate_tokens(readline):
            kind = token.type
            if kind == tokenize.NEWLINE:
                if count:
                    last = (tail, count, not_amp, code_before)
                    code_before = code_before or not_amp > 0
                    tail = deque(maxlen=4)
                    count = not_amp = 0
                continue
            if kind in _INSIGNIFICANT:
                continue
            if kind == tokenize.ERRORTOKEN:
                return None
            tail.append(token)
            count += 1
            if kind == tokenize.OP:
                string = token.string
                if string == "&":
                    continue
                if string in _OPENERS:
                    depth += 1
                elif string in _CLOSERS:
                    depth -= 1
                    if depth < 0:
                        return None  # a closer with no opener: 3.12+ tokenize stops here too
            not_amp += 1
    except Exception:  # TokenError, IndentationError, SyntaxError (3.12+), UnicodeError...
        return None
    if count:  # the tokenizer always closes the last line with NEWLINE; be safe anyway
        last = (tail, count, not_amp, code_before)
    if last is None or depth != 0:
        return None

    tail, count, not_amp, code_before = last
    final = tail[-1]
    if _is_op(final, "&"):
        size, kind_name = 1, None
    elif len(tail) >= 2 and _is_op(final, ":") and _is_op(tail[-2], "&"):
        size, kind_name = 2, ""
    elif (
        len(tail) >= 3
        and final.type == tokenize.NAME
        and _is_op(tail[-2], ":")
        and _is_op(tail[-3], "&")
    ):
        size, kind_name = 3, final.string
    else:
        return None

    def offset(position: tuple[int, int]) -> int:
        row, col = position
        return line_starts[row - 1] + col if 0 < row <= len(line_starts) else -1

    start = offset(tail[-size].start)
    end = offset(final.end)
    if start < 0 or end < 0 or text[start : start + 1] != "&":
        return None  # positions we cannot trust: never guess where the code ends
    # `:` and NAME of the marker count as "not &"; the payload is code only if it has more.
    lone = not_amp - (size - 1) <= 0
    code_end = 0 if lone else offset(tail[-size - 1].end)
    if code_end < 0:
        return None
    return _Marker(start, end, code_end, kind_name, lone, code_before)


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


def _start_of_line(text: str, position: int) -> int:
    """Offset where the line holding text[position] starts; lines end at \\r or \\n."""
    return max(text.rfind("\n", 0, position), text.rfind("\r", 0, position)) + 1


def _find_marker_simple(text: str) -> object:
    """_find_marker for one line without strings, comments or backslashes, or _UNDECIDED.

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
    return _Marker(start, end, code_end, kind_name, lone, code_before=False)


def _is_op(token: tokenize.TokenInfo, string: str) -> bool:
    return token.type == tokenize.OP and token.string == string


def _resolve_kind(name: str) -> tuple[str | None, str]:
    """The full job kind a `&:NAME` suffix means, or None and a message saying why not."""
    choices = " or ".join(f"&:{kind}" for kind in BACKGROUND_KINDS)
    if not name:
        return None, f"`&:` needs a job kind: write EXPR {choices}"
    matches = [kind for kind in BACKGROUND_KINDS if kind.startswith(name)]
    if len(matches) == 1:
        return matches[0], ""
    if matches:
        return None, f"job kind {_show(name)} is ambiguous ({', '.join(matches)}): spell more of it"
    return None, (
        f"unknown job kind {_show(name)} after `&:`: use {choices} "
        f"(or a prefix such as &:{BACKGROUND_KINDS[0][0]})"
    )


def _lone_message(marker: _Marker) -> str:
    if marker.code_before:
        return "a `&` on a line of its own has nothing to run: put it at the end of the statement, e.g. f(x) &"
    return "a lone `&` has nothing to run: write EXPR &"


# --------------------------------------------------------------------------- builtins


def _first_line(text: str) -> tuple[str, bool]:
    """The first line that is not blank or a comment (stripped), and whether it is the
    only one.  Lines end at \\r or \\n, as they do for Python."""
    start = _NOISE_LINES.match(text).end()  # type: ignore[union-attr]  # `*` always matches
    found = _LINE_BREAK.search(text, start)
    stop = found.start() if found else len(text)
    return text[start:stop].strip(" \t\f"), _is_blank(text, stop)


def _shell_split(text: str) -> tuple[list[tuple[str, bool]], str]:
    """Split like ``shlex.split(text, comments=True)``, in linear time.

    Returns the words, each with a flag telling whether it was written plainly (no
    quotes, no backslashes), and an error message ("" when none) for an unbalanced
    quote or a trailing backslash.  The plain flag lets a caller tell a real trailing
    `&` from a quoted argument `'&'`.
    """
    if _SHELL_SPECIAL.search(text) is None:
        return [(word, True) for word in _SHELL_PLAIN_WORD.findall(text)], ""
    words: list[tuple[str, bool]] = []
    position = 0
    while position < len(text):
        step = _SHELL_STEP.match(text, position)
        if step is None or step.end() == position:  # cannot happen; never loop forever
            break
        position = step.end()
        if step.group("word") is not None:
            words.append(_shell_word(step.group("word")))
        elif step.group("quote") is not None:
            quote = step.group("quote")
            return words, f"unbalanced {quote} quote: close it, e.g. {quote}some text{quote}"
        elif step.group("escape") is not None:
            return words, "a trailing backslash escapes nothing: remove it or quote it"
    return words, ""


def _shell_word(raw: str) -> tuple[str, bool]:
    """Decode one shell word: quotes removed, escapes applied, as shlex does in POSIX mode."""
    if _SHELL_SPECIAL.search(raw) is None:
        return raw, True
    parts: list[str] = []
    for piece in _SHELL_PIECE.finditer(raw):
        single, double, escaped, plain = piece.groups()
        if single is not None:
            parts.append(single)
        elif double is not None:
            # Inside double quotes only \" and \\ are escapes; other backslashes stay.
            parts.append(_DOUBLE_QUOTED_ESCAPE.sub(_unescape_in_double_quotes, double))
        elif escaped is not None:
            parts.append(escaped)
        else:
            parts.append(plain)
    return "".join(parts), False


def _unescape_in_double_quotes(match: "re.Match[str]") -> str:
    char = match.group(1)
    return char if char in '"\\' else match.group(0)


def _builtin(name: str, rest: str, backgrounded: bool) -> Classified:
    """A builtin call, or the error that stops it from running."""
    words, problem = _shell_split(rest)
    # The token scan finds `jobs &`; when the tokenizer gave up on the arguments
    # (`output 1 $x &` on 3.11) a plain last word ending in `&` still gives it away.
    if backgrounded or (words and words[-1][1] and _AMP_WORD_END.search(words[-1][0])):
        return _error(f"{name}: a builtin runs at once and cannot be backgrounded; drop the `&`")
    if problem:
        return _error(f"{name}: cannot read the arguments: {problem}")
    return Classified("builtin", name=name, args=tuple(word for word, _ in words))


def _match_builtin(
    body: str, builtins: Collection[str], is_bound: Callable[[str], bool], backgrounded: bool
) -> Classified | None:
    """The builtin (or builtin error) that `body` is, or None when it is not one."""
    line, alone = _first_line(body)
    if line.startswith("%"):
        match = _PERCENT_WORD.match(line)
        assert match is not None  # the pattern matches any text starting with %
        name, rest = match.groups()
        if not name:
            return _error("`%` needs a command name right after it, e.g. %jobs; type help for the list")
        if name not in builtins:
            return _error(f"unknown command %{_show_name(name)}; type help for the list")
        if not alone:
            return _error(f"%{name} must be on a line of its own: run the Python separately")
        return _builtin(name, rest, backgrounded)
    if not alone:
        return None
    match = _FIRST_WORD.match(line)
    if match is None:
        return None
    word, rest = match.groups()
    if word not in builtins or is_bound(word):
        return None  # a name the user bound is Python: the variable wins
    if _PYTHON_CONTINUES.match(rest.lstrip(" \t")):
        return None
    return _builtin(word, rest, backgrounded)


# --------------------------------------------------------------------------- public API


def _classify(
    text: str, builtins: Collection[str], is_bound: Callable[[str], bool]
) -> tuple[Classified, _Marker | None]:
    """classify(), also returning the marker so is_complete need not tokenize twice."""
    if _is_blank(text):
        return Classified("empty"), None
    marker = _find_marker(text)
    body = text if marker is None else text[: marker.start] + text[marker.end :]
    found = _match_builtin(body, builtins, is_bound, backgrounded=marker is not None)
    if found is not None:
        return found, marker
    if marker is None:
        return Classified("python", code=text), None
    job_kind: str | None = None
    if marker.kind_name is not None:
        job_kind, problem = _resolve_kind(marker.kind_name)
        if problem:
            return _error(problem), marker
    if marker.lone:
        return _error(_lone_message(marker)), marker
    code = text[: marker.code_end].rstrip()
    if not _compiles(code):
        # `1 + &`: not something we can run in the background; let the compiler say why.
        return Classified("python", code=text), marker
    return Classified("background", code=code, job_kind=job_kind), marker


def classify(text: str, builtins: Collection[str], is_bound: Callable[[str], bool]) -> Classified:
    """Decide what one input is.

    * "empty": only whitespace and comments.
    * "builtin": ``%NAME ARGS`` with NAME in `builtins`; or a single line whose first
      word is in `builtins`, is not bound (``is_bound(word)`` is False: the user's
      variable wins) and is not followed by text that continues Python (``= 5``,
      ``.attr``, ``(1)``, ``[1]``, ``== 3``, ``+ 1``, ``if x else y``, ...).
    * "background": Python ending in ``&`` or ``&:KIND`` at bracket depth 0, whose
      code without the marker compiles; ``code`` is that code, ``job_kind`` the kind.
    * "python": anything else, ``code`` being the input unchanged (including
      backgrounded input that does not compile, so the compiler explains the error).
    * "error": a mistake worth one line: a lone ``&``, an unknown ``&:KIND``, an
      unknown ``%command``, a backgrounded builtin, unbalanced quotes in arguments.
    """
    return _classify(text, builtins, is_bound)[0]


def split_background(text: str) -> tuple[str, bool, str | None]:
    """Split a trailing ``&`` / ``&:KIND`` off, on tokens: ``(code, backgrounded, job_kind)``.

    This is the token-level step only: it does not check that the code compiles nor
    that it is a builtin (`classify` does).  Input that is not backgrounded, including
    a lone ``&``, a bare ``&:`` and an unknown kind, comes back unchanged with
    ``(text, False, None)``.  Code keeps everything before the ``&`` byte for byte up to
    the last token before it (so trailing blanks and line continuations go).
    """
    marker = _find_marker(text)
    if marker is None or marker.lone:
        return text, False, None
    job_kind: str | None = None
    if marker.kind_name is not None:
        job_kind, problem = _resolve_kind(marker.kind_name)
        if problem:
            return text, False, None
    return text[: marker.code_end].rstrip(), True, job_kind


def is_complete(text: str, builtins: Collection[str], is_bound: Callable[[str], bool]) -> bool:
    """Should Enter submit `text` (True) or open a continuation line (False)?

    Python is judged as ``python3 -i`` does, with codeop in "single" mode: open
    brackets, unterminated triple-quoted strings, trailing backslashes and compound
    statements still waiting for their final empty line are incomplete.  Empty input,
    builtin lines, error lines and syntax errors that no further line can fix are
    complete, so the user sees the result or the error at once.

    Differences from code.InteractiveConsole, on purpose:
    * background input is judged without its ``&``, so ``for ...:\\n    f(i) &`` still
      waits for its empty line;
    * a pasted block of several statements (which "single" rejects outright) is
      complete once its brackets and strings are closed, and, when it ends with a
      compound statement, once it ends with an empty line;
    * a last line holding only spaces (an auto-indent left by the editor) counts as
      the empty line that ends a block.
    """
    result, marker = _classify(text, builtins, is_bound)
    if result.kind == "python":
        return _python_complete(text)
    if result.kind == "background" and marker is not None:
        # Keep what follows the marker (comments, newlines): the final empty line matters.
        return _python_complete(text[: marker.code_end] + text[marker.end :])
    return True


def _compile_command(source: str, symbol: str) -> object:
    """codeop.compile_command, with top-level ``await`` allowed as the shell runs it.

    A fresh compiler each time: a shared one would carry ``from __future__``
    imports from one input into the judgement of the next.
    """
    compiler = codeop.CommandCompiler()
    compiler.compiler.flags |= ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    return compiler(source, "<input>", symbol)


def _python_complete(source: str) -> bool:
    """is_complete for Python source (see is_complete for the rules)."""
    if _is_blank(source):
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
    ends_open = isinstance(tree.body[-1], _COMPOUND) and not source.endswith(("\n", "\r"))
    return not ends_open


def parse_jobspec(spec: str) -> JobSpec:
    """Parse a job reference: ``N`` or ``%N`` (a number), ``%+`` or ``%%`` (the newest
    job), ``%-`` (the one before it).  Surrounding whitespace is ignored.

    Raises JobSpecError, with a one-line message, for anything else: zero, negative,
    beyond 10**18, empty, ``%``, ``3.5``, ``%abc``...
    """
    text = spec.strip()
    if not text:
        raise JobSpecError(f"empty job spec: {_JOBSPEC_HINT}")
    match = _JOBSPEC.fullmatch(text)
    if match is None:
        raise JobSpecError(f"no such job spec {_show(text)}: {_JOBSPEC_HINT}")
    relative = match.group(3)
    if relative is not None:
        return JobSpec(number=None, relative="-" if relative == "-" else "+")
    digits = match.group(2).lstrip("0")
    if not digits:
        raise JobSpecError(f"no such job spec {_show(text)}: job numbers start at 1")
    # Compare lengths first: int() of a huge digit string is slow (and refused past 4300 digits).
    if len(digits) > len(str(_MAX_JOB_NUMBER)) or int(digits) > _MAX_JOB_NUMBER:
        raise JobSpecError(f"no such job spec {_show(text)}: job numbers go up to 10**18")
    return JobSpec(number=int(digits), relative=None)
