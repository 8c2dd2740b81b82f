"""What one input is: empty, a builtin, Python, or Python sent to the background?

The shell reads a line (or a block) and must decide, before running anything:

* whether pressing Enter submits it or opens a continuation line (``is_complete``),
* what it is (``classify``): nothing, a builtin such as ``jobs`` or ``kill %1``, Python
  to run now, Python to run as a background job because it ends in ``&``, or a
  mistake that deserves one clear line instead of a confusing traceback.

Both depend on the shell's vocabulary, its builtins and the job kinds ``&:KIND`` may
name, which a ``Grammar`` holds; the shell derives it from its builtin table and
the engine's kinds table.  Everything here works on text only, imports nothing from
the rest of bgshell and never raises: a classifier that crashes on odd input would
take the whole shell down with it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Literal

from bgshell.shell.language.marker import Marker, find_marker
from bgshell.shell.language.paste import split_pasted
from bgshell.shell.language.pycode import PYTHON_BLANKS, compiles, is_blank, python_complete
from bgshell.shell.language.quoting import show, show_name
from bgshell.shell.language.words import shell_split

__all__ = ["Classified", "Grammar"]

IsBound = Callable[[str], bool]


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
    """background only: one of the grammar's kinds, or None for the session default."""
    name: str = ""
    """builtin only: the builtin's name, without any ``%``."""
    args: tuple[str, ...] = ()
    """builtin only: its arguments, split the way a POSIX shell would."""
    message: str = ""
    """error only: one line saying what was wrong and what would be right."""


# Whole blank or comment-only lines at the start of the input.
_NOISE_LINES = re.compile(r"(?:[ \t\f]*(?:#[^\r\n]*)?[\r\n])*")
_LINE_BREAK = re.compile(r"[\r\n]")

# A builtin's first word, split off the way the shell splits words (space or tab).
_FIRST_WORD = re.compile(r"([^ \t]+)(.*)", re.DOTALL)
_PERCENT_WORD = re.compile(r"%([^ \t]*)(.*)", re.DOTALL)
# A last shell word that is a background marker (`&`, `&:p`, `1&`).
_AMP_WORD_END = re.compile(r"&(?::\w*)?\Z")

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


def _error(message: str) -> Classified:
    return Classified("error", message=message)


def _first_line(text: str) -> tuple[str, bool]:
    """The first line that is not blank or a comment (stripped), and whether it is the
    only one.  Lines end at \\r or \\n, as they do for Python."""
    start = _NOISE_LINES.match(text).end()  # type: ignore[union-attr]  # `*` always matches
    found = _LINE_BREAK.search(text, start)
    stop = found.start() if found else len(text)
    return text[start:stop].strip(" \t\f"), is_blank(text, stop)


def _lone_message(marker: Marker) -> str:
    if marker.code_before:
        return "a `&` on a line of its own has nothing to run: put it at the end of the statement, e.g. f(x) &"
    return "a lone `&` has nothing to run: write EXPR &"


#: What follows `%` when a job spec stands alone on the line (`%2`, `%+`, `%%`, `%-`).
_JOB_ALONE = re.compile(r"[0-9]+|[+%-]")


def _job_alone(line: str, rest: str, backgrounded: bool) -> Classified:
    """`%N` alone means `fg %N`, and `%N &` means `bg %N`, as in bash."""
    spec = line[: len(line) - len(rest)]
    tail = rest.strip()
    if tail == "&":
        backgrounded = True
    elif tail:
        return _error(f"{spec} alone brings job {spec} to the foreground; for more, use fg, bg or kill {spec}")
    return Classified("builtin", name="bg" if backgrounded else "fg", args=(spec,))


def _builtin(name: str, rest: str, backgrounded: bool) -> Classified:
    """A builtin call, or the error that stops it from running."""
    words, problem = shell_split(rest)
    # The token scan finds `jobs &`; when the tokenizer gave up on the arguments
    # (`output 1 $x &` on 3.11) a plain last word ending in `&` still gives it away.
    if backgrounded or (words and words[-1][1] and _AMP_WORD_END.search(words[-1][0])):
        return _error(f"{name}: a builtin runs at once and cannot be backgrounded; drop the `&`")
    if problem:
        return _error(f"{name}: cannot read the arguments: {problem}")
    return Classified("builtin", name=name, args=tuple(word for word, _ in words))


@dataclass(frozen=True)
class Grammar:
    """The shell's vocabulary: its builtins' names and the job kinds ``&:KIND`` may name
    (the first kind gives the example in messages)."""

    builtins: Collection[str]
    kinds: tuple[str, ...]

    def classify(self, text: str, is_bound: IsBound) -> Classified:
        """Decide what one input is.

        * "empty": only whitespace and comments.
        * "builtin": ``%NAME ARGS`` with NAME a builtin; or a single line whose first
          word is a builtin, is not bound (``is_bound(word)`` is False: the user's
          variable wins) and is not followed by text that continues Python (``= 5``,
          ``.attr``, ``(1)``, ``[1]``, ``== 3``, ``+ 1``, ``if x else y``, ...).
        * "background": Python ending in ``&`` or ``&:KIND`` at bracket depth 0, whose
          code without the marker compiles; ``code`` is that code, ``job_kind`` the kind.
        * "python": anything else, ``code`` being the input unchanged (including
          backgrounded input that does not compile, so the compiler explains the error).
        * "error": a mistake worth one line: a lone ``&``, an unknown ``&:KIND``, an
          unknown ``%command``, a backgrounded builtin, unbalanced quotes in arguments.
        """
        return self._classify(text, is_bound)[0]

    def is_complete(self, text: str, is_bound: IsBound) -> bool:
        """Should Enter submit *text* (True) or open a continuation line (False)?

        Python is judged as ``python3 -i`` does, with codeop in "single" mode: open
        brackets, unterminated triple-quoted strings, trailing backslashes and compound
        statements still waiting for their final empty line are incomplete.  Empty
        input, builtin lines, error lines and syntax errors that no further line can
        fix are complete, so the user sees the result or the error at once.

        Differences from code.InteractiveConsole, on purpose:
        * background input is judged without its ``&``, so ``for ...:\\n    f(i) &``
          still waits for its empty line;
        * a pasted block of several statements (which "single" rejects outright) is
          complete once its brackets and strings are closed, and, when it ends with a
          compound statement, once it ends with an empty line;
        * a last line holding only spaces (an auto-indent left by the editor) counts
          as the empty line that ends a block;
        * a pasted block that runs statement by statement (see ``paste``) is judged
          by its last statement, as if that had been typed alone.
        """
        pieces = split_pasted(text)
        if pieces is not None:
            return self.is_complete(pieces[-1].text, is_bound)
        result, marker = self._classify(text, is_bound)
        if result.kind == "python":
            return python_complete(text)
        if result.kind == "background" and marker is not None:
            # Keep what follows the marker (comments, newlines): the final empty line matters.
            return python_complete(text[: marker.code_end] + text[marker.end :])
        return True

    def split_background(self, text: str) -> tuple[str, bool, str | None]:
        """Split a trailing ``&`` / ``&:KIND`` off, on tokens: ``(code, backgrounded, job_kind)``.

        The token-level step only: it does not check that the code compiles nor that
        it is a builtin (``classify`` does).  Input that is not backgrounded, a lone
        ``&``, a bare ``&:`` and an unknown kind included, comes back unchanged as
        ``(text, False, None)``.  Code keeps everything before the ``&`` byte for byte
        up to the last token before it (trailing blanks and line continuations go).
        """
        marker = find_marker(text)
        if marker is None or marker.lone:
            return text, False, None
        job_kind: str | None = None
        if marker.kind_name is not None:
            job_kind, problem = self._resolve_kind(marker.kind_name)
            if problem:
                return text, False, None
        return text[: marker.code_end].rstrip(PYTHON_BLANKS), True, job_kind

    def _classify(self, text: str, is_bound: IsBound) -> tuple[Classified, Marker | None]:
        """classify(), also returning the marker so is_complete need not tokenize twice."""
        if is_blank(text):
            return Classified("empty"), None
        marker = find_marker(text)
        body = text if marker is None else text[: marker.start] + text[marker.end :]
        found = self._match_builtin(body, is_bound, backgrounded=marker is not None)
        if found is not None:
            return found, marker
        if marker is None:
            return Classified("python", code=text), None
        job_kind: str | None = None
        if marker.kind_name is not None:
            job_kind, problem = self._resolve_kind(marker.kind_name)
            if problem:
                return _error(problem), marker
        if marker.lone:
            return _error(_lone_message(marker)), marker
        code = text[: marker.code_end].rstrip(PYTHON_BLANKS)
        if not compiles(code):
            # `1 + &`: not something we can run in the background; let the compiler say why.
            return Classified("python", code=text), marker
        return Classified("background", code=code, job_kind=job_kind), marker

    def _resolve_kind(self, name: str) -> tuple[str | None, str]:
        """The full job kind a `&:NAME` suffix means, or None and a message saying why not."""
        choices = " or ".join(f"&:{kind}" for kind in self.kinds)
        if not name:
            return None, f"`&:` needs a job kind: write EXPR {choices}"
        matches = [kind for kind in self.kinds if kind.startswith(name)]
        if len(matches) == 1:
            return matches[0], ""
        if matches:
            return None, f"job kind {show(name)} is ambiguous ({', '.join(matches)}): spell more of it"
        return None, (
            f"unknown job kind {show(name)} after `&:`: use {choices} "
            f"(or a prefix such as &:{self.kinds[0][0]})"
        )

    def _match_builtin(self, body: str, is_bound: IsBound, backgrounded: bool) -> Classified | None:
        """The builtin (or builtin error) that *body* is, or None when it is not one."""
        line, alone = _first_line(body)
        if line.startswith("%"):
            match = _PERCENT_WORD.match(line)
            assert match is not None  # the pattern matches any text starting with %
            name, rest = match.groups()
            if not name:
                return _error("`%` needs a command name right after it, e.g. %jobs; type help for the list")
            if _JOB_ALONE.fullmatch(name) and alone and "fg" in self.builtins:
                return _job_alone(line, rest, backgrounded)
            if name not in self.builtins:
                return _error(f"unknown command %{show_name(name)}; type help for the list")
            if not alone:
                return _error(f"%{name} must be on a line of its own: run the Python separately")
            return _builtin(name, rest, backgrounded)
        if not alone:
            return None
        match = _FIRST_WORD.match(line)
        if match is None:
            return None
        word, rest = match.groups()
        if word not in self.builtins or is_bound(word):
            return None  # a name the user bound is Python: the variable wins
        if _PYTHON_CONTINUES.match(rest.lstrip(" \t")):
            return None
        return _builtin(word, rest, backgrounded)
