"""Python's compound statements: the ones ``python3 -i`` ends only with an empty line.

One table, from the keyword a compound statement starts with to the AST nodes it
becomes, so that what cuts a script into inputs (by keyword) and what judges a
typed block complete (by AST node) can never disagree.  Pure text: imports nothing
from bgshell.
"""

from __future__ import annotations

import ast

__all__ = ["COMPOUND_KEYWORDS", "COMPOUND_NODES", "BLOCK_CONTINUATIONS"]

_TABLE: dict[str, tuple[str, ...]] = {
    "if": ("If",),
    "for": ("For",),
    "while": ("While",),
    "with": ("With",),
    "try": ("Try", "TryStar"),
    "def": ("FunctionDef",),
    "class": ("ClassDef",),
    "async": ("AsyncFor", "AsyncWith", "AsyncFunctionDef"),
    "match": ("Match",),  # a soft keyword: `match = 3` is an assignment
}

#: Keywords that open a compound statement (decorators, ``@``, open one too).
COMPOUND_KEYWORDS: frozenset[str] = frozenset(_TABLE)

#: The AST classes of compound statements (those this Python has).
COMPOUND_NODES: tuple[type, ...] = tuple(
    getattr(ast, name) for names in _TABLE.values() for name in names if hasattr(ast, name)
)

#: Keywords that continue the compound statement above them at column 0.
BLOCK_CONTINUATIONS: frozenset[str] = frozenset({"else", "elif", "except", "finally"})
