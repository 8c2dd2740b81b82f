"""Job specs: how the user names a job in a builtin's arguments (``N``, ``%N``, ``%+``,
``%%``, ``%-``), as bash does.  Pure text: imports nothing from bgshell.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bgshell.shell.language.quoting import show

__all__ = ["JobSpec", "JobSpecError", "parse_jobspec"]


@dataclass(frozen=True)
class JobSpec:
    """A parsed job reference: exactly one of the two fields is set."""

    number: int | None
    """The job number, for ``N`` and ``%N``."""
    relative: str | None
    """``"+"`` for the newest job (``%+``, ``%%``), ``"-"`` for the one before it (``%-``)."""


class JobSpecError(ValueError):
    """A job spec that names no job; the message is one line fit to show the user."""


_JOBSPEC = re.compile(r"(%?)([0-9]+)|%([+%-])")
_MAX_JOB_NUMBER = 10**18
_JOBSPEC_HINT = "use N, %N, %+ or %-"


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
        raise JobSpecError(f"no such job spec {show(text)}: {_JOBSPEC_HINT}")
    relative = match.group(3)
    if relative is not None:
        return JobSpec(number=None, relative="-" if relative == "-" else "+")
    digits = match.group(2).lstrip("0")
    if not digits:
        raise JobSpecError(f"no such job spec {show(text)}: job numbers start at 1")
    # Compare lengths first: int() of a huge digit string is slow (and refused past 4300 digits).
    if len(digits) > len(str(_MAX_JOB_NUMBER)) or int(digits) > _MAX_JOB_NUMBER:
        raise JobSpecError(f"no such job spec {show(text)}: job numbers go up to 10**18")
    return JobSpec(number=int(digits), relative=None)
