"""Where each input's code comes from, for tracebacks, ``inspect`` and ``pdb``.

Python finds a frame's source lines with ``linecache`` by the code's file name.  Code
typed at the prompt or piped in has no file, so, as python 3.13's REPL does, each
input is kept in ``linecache`` under a name of its own, ``<python-input-N>``: then
``inspect.getsource`` works on a function defined at the prompt, tracebacks through
it show its lines (with the ``~~^~~`` markers), and ``warnings`` and ``pdb`` show them
too.  ``-c CODE`` is kept whole under ``<string>``, the name python3 gives it, and a
FILE is read from disk by ``linecache`` itself.
"""

from __future__ import annotations

import itertools
import linecache
import threading

__all__ = ["InputNames", "remember_source"]


def remember_source(name: str, source: str) -> None:
    """Keep *source* in ``linecache`` as the text of the pseudo-file *name*.

    With no modification time recorded, ``linecache.checkcache`` never drops it.
    """
    lines = source.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    linecache.cache[name] = (len(source), None, lines, name)


class InputNames:
    """Gives each input a file name of its own and keeps its source under it."""

    def __init__(self, template: str = "<python-input-{}>") -> None:
        self._template = template
        self._numbers = itertools.count()
        self._lock = threading.Lock()  # background jobs are named from the prompt and from jobs

    def name(self, source: str) -> str:
        """A new name for *source*, which is kept in ``linecache`` under it."""
        with self._lock:
            name = self._template.format(next(self._numbers))
        remember_source(name, source)
        return name
