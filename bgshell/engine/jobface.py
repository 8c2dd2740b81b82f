"""What IPython's job objects offer that bgshell's states say differently: the status
strings and codes, ``finished``, ``traceback()`` printing, and how a job prints.

Kept apart from the state machine (``job``), which it only reads.
"""

from __future__ import annotations

from builtins import print  # bound at import: a job replacing builtins.print cannot silence the shell
from typing import Any

from bgshell.engine.states import JobState

__all__ = ["IPythonJobFace"]


class IPythonJobFace:
    """IPython's view of a job, computed from the job's ``state`` and traceback."""

    stat_created, stat_created_c = "Created", 0
    stat_running, stat_running_c = "Running", 1
    stat_completed, stat_completed_c = "Completed", 2
    stat_dead, stat_dead_c = "Dead (Exception), call jobs.traceback() for details", -1

    strform: str
    num: Any
    _state: JobState
    _tb_text: str | None

    def __str__(self) -> str:
        return self.strform

    def __repr__(self) -> str:
        return f"<BackgroundJob #{self.num}: {self.strform}>"

    @property
    def status(self) -> str:
        """IPython's status string ('Running', 'Completed', 'Dead (Exception)...')."""
        state = self._state
        return self.stat_dead if state is JobState.DEAD else state.value

    @property
    def stat_code(self) -> int:
        """IPython's numeric status: 0 created, 1 running, 2 completed, -1 dead."""
        return self._state._stat_code  # type: ignore[attr-defined]

    @property
    def finished(self) -> bool | None:
        """As in IPython: False until done, True when completed, None when it died."""
        state = self._state
        if state is JobState.COMPLETED:
            return True
        return None if state.finished else False

    def traceback(self) -> None:
        """Print the traceback of a dead job."""
        text = self._tb_text
        if text is None:
            print(f"Job #{self.num} has no traceback: it is {self.status}.")
        else:
            print(text, end="" if text.endswith("\n") else "\n")
