"""How often Python switches threads while the prompt is up beside thread jobs.

A key needs the interpreter to be echoed, and CPU-bound thread jobs hold it: CPython
takes it back from them only after the switch interval (5 ms by default).  So while
the prompt is up and thread jobs run, the interval is lowered: to ``IDLE`` (a cost of
a few per cent to the jobs), and to ``TYPING`` for a second after each key (a fifth
to a third of their speed, only while the user types; measured with two CPU-bound
thread jobs, the key echo's p95 goes from about 6 ms to about 3.3 ms, within 2x of
the 1.7-2.5 ms it takes with no job).  What the user or a job set is put back
when the input runs, unless a job set an interval of its own meanwhile: that stays.
"""

from __future__ import annotations

import sys
import time

__all__ = ["SwitchInterval", "IDLE", "TYPING", "TYPING_WINDOW"]

#: Seconds: at the prompt beside thread jobs; for ``TYPING_WINDOW`` seconds after a key.
IDLE, TYPING, TYPING_WINDOW = 0.0005, 0.00005, 1.0


class SwitchInterval:
    """The prompt's switch interval: lowered while it is up, put back when it leaves."""

    def __init__(self) -> None:
        self._saved: float | None = None  # what was set before the prompt lowered it
        self._ours = 0.0  # what the prompt set last (anything else was set by a job)
        self._last_key = 0.0

    def lower(self) -> None:
        """The prompt is up and thread jobs run."""
        if self._saved is None:
            self._saved = sys.getswitchinterval()
            self._ours = self._saved
            self._set(IDLE)

    def typed(self) -> None:
        """A key came: switch faster for a while."""
        if self._saved is not None:
            self._last_key = time.monotonic()
            self._set(TYPING)

    def tick(self) -> None:
        """(Every second while jobs run.)  Back to ``IDLE`` once typing has paused."""
        if self._saved is not None and time.monotonic() - self._last_key > TYPING_WINDOW:
            self._set(IDLE)

    def restore(self) -> None:
        """The prompt leaves: what was set before comes back."""
        if self._saved is not None and sys.getswitchinterval() == self._ours:
            sys.setswitchinterval(self._saved)
        self._saved = None

    def _set(self, value: float) -> None:
        assert self._saved is not None
        if sys.getswitchinterval() != self._ours:
            self._saved = None  # a job set its own: it stays, and the prompt lets it be
            return
        sys.setswitchinterval(min(value, self._saved))
        self._ours = sys.getswitchinterval()
