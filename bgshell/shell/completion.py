"""Tab completion from the live namespace: names, attributes, keywords, builtins, the
shell's builtins, job numbers after a builtin that takes job specs, and job kinds
after ``&:``.

Pure functions on text (no prompt_toolkit here), so they are tested directly; the
terminal front end wraps them in a prompt_toolkit ``Completer``.  Attribute
completion follows only names and attributes (``a.b.c``), never calls or
subscripts, so pressing Tab cannot run arbitrary code (a property's getter aside,
as in ``rlcompleter``).
"""

from __future__ import annotations

import builtins
import keyword
import re
from typing import Any, Collection, Iterable

__all__ = ["complete"]

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")
_DOTTED = re.compile(r"([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\.([A-Za-z0-9_]*)$")

def complete(
    before_cursor: str,
    namespace: dict[str, Any],
    shell_builtins: Collection[str],
    job_numbers: Iterable[int],
    kinds: Collection[str],
    job_builtins: Collection[str],
) -> tuple[int, list[str]]:
    """Candidates for the word that ends at the cursor: (its length, sorted candidates).

    Each candidate replaces the last *length* characters before the cursor.
    *job_builtins*: the builtins whose arguments are job specs.
    """
    line = before_cursor.rsplit("\n", 1)[-1]
    stripped = line.lstrip()

    kind_match = re.search(r"&:([A-Za-z]*)$", line)
    if kind_match:
        prefix = kind_match.group(1)
        return len(prefix), sorted(k for k in kinds if k.startswith(prefix))

    words = stripped.split()
    first = words[0].lstrip("%") if words else ""
    if words and first in shell_builtins and (len(words) > 1 or line.endswith(" ")):
        current = "" if line.endswith(" ") else words[-1]
        if first in job_builtins:
            prefix = "%" if current.startswith("%") else ""  # `kill %<Tab>` offers %1 %2...
            specs = [f"{prefix}{n}" for n in job_numbers] + ["%+", "%-"]
            return len(current), [s for s in specs if s.startswith(current)]
        if first == "kind":
            return len(current), sorted(k for k in kinds if k.startswith(current))
        if first == "help":
            return len(current), sorted(b for b in shell_builtins if b.startswith(current))
        return len(current), []

    if stripped.startswith("%") and " " not in stripped:
        prefix = stripped[1:]
        return len(stripped), sorted("%" + b for b in shell_builtins if b.startswith(prefix))

    dotted = _DOTTED.search(line)
    if dotted:
        path, prefix = dotted.group(1), dotted.group(2)
        return len(prefix), _attributes(path, prefix, namespace)

    word = _WORD.search(line)
    prefix = word.group(0) if word else ""
    if not prefix:
        return 0, []
    names: set[str] = set(keyword.kwlist) | set(dir(builtins)) | set(namespace)
    if stripped == prefix:  # the first word: shell builtins too
        names |= set(shell_builtins)
    return len(prefix), sorted(n for n in names if n.startswith(prefix) and not n.startswith("__"))


def _attributes(path: str, prefix: str, namespace: dict[str, Any]) -> list[str]:
    head, *rest = path.split(".")
    if head in namespace:
        obj = namespace[head]
    elif hasattr(builtins, head):
        obj = getattr(builtins, head)
    else:
        return []
    try:
        for name in rest:
            obj = getattr(obj, name)
        names = dir(obj)
    except Exception:
        return []
    hide_private = not prefix.startswith("_")
    return sorted(
        n for n in names if n.startswith(prefix) and not (hide_private and n.startswith("_"))
    )
