"""Runners: where and how a job's code executes, one module per kind of job.

A runner drives a job only through the job's own transition methods
(``set_running``, ``set_result``, ``set_exception``, ...; see
``bgshell.engine.job``) and never writes its fields.  What it must offer:
"""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["Runner"]


class Runner(Protocol):
    """The contract between a job and the runner of its kind."""

    #: The kind's name, as in ``bgshell.engine.kinds.KINDS``.
    kind: str

    def start(self, job: Any) -> None:
        """Arrange for *job* to run and, however it goes, to end through one of
        its ``set_result``/``set_exception`` calls."""

    def deliver(self, job: Any, handle: Any, signum: int) -> None:
        """Send SIGTERM, SIGKILL or SIGINT to the job's code at *handle*.

        Called with the job's lock held, so it must not block, and it can rely on
        the handle being current.
        """
