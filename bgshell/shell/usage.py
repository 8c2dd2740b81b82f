"""What every builtin shares: the error for wrong use, what a builtin may ask of the
shell, and turning job specs into jobs.

Kept apart from the builtin table (``commands``) so that builtins living in modules
of their own (``jobcontrol``, ``clustercmd``) use the same rules without importing
the table that lists them.
"""

from __future__ import annotations

from typing import Any, Protocol

from bgshell.engine.job import BackgroundJobBase
from bgshell.engine.manager import BackgroundJobManager
from bgshell.shell.foreground import Foreground
from bgshell.shell.language.jobspec import JobSpecError, parse_jobspec

__all__ = ["UsageError", "Shell", "resolve_job", "one_job", "resolve_all"]


class UsageError(Exception):
    """A builtin was used wrongly; the message is one line for the user."""


class Shell(Protocol):
    """What the builtins need from the shell."""

    jobs: BackgroundJobManager
    default_kind: str
    #: What runs in the foreground (``fg`` and ``output -f`` watch their run's wake-ups).
    foreground: Foreground

    def display(self, value: Any) -> None: ...

    def announce(self, jobs: list[BackgroundJobBase]) -> None: ...


def resolve_job(shell: Shell, spec: str) -> BackgroundJobBase:
    """The job a spec names; ``UsageError`` when the spec is bad or the job is gone."""
    try:
        parsed = parse_jobspec(spec)
    except JobSpecError as exc:
        raise UsageError(str(exc)) from None
    manager = shell.jobs
    if parsed.number is not None:
        job = manager.get(parsed.number)
        if job is None:
            raise UsageError(f"no such job {parsed.number}")
        return job
    numbers = list(manager.all)
    index = -1 if parsed.relative == "+" else -2
    if len(numbers) < -index:
        raise UsageError("no current job" if parsed.relative == "+" else "no previous job")
    return manager.all[numbers[index]]


def one_job(shell: Shell, args: list[str], usage: str) -> BackgroundJobBase:
    """The one job *args* name; ``UsageError`` with *usage* for any other count."""
    if len(args) != 1:
        raise UsageError(f"usage: {usage}")
    return resolve_job(shell, args[0])


def resolve_all(shell: Shell, args: list[str]) -> list[BackgroundJobBase]:
    """The jobs *args* name, in order, each once.

    Every spec is resolved before anyone acts, so a typo in the third spec does
    nothing; a job named twice (``remove 3 %3``) is acted on once.
    """
    found: dict[int, BackgroundJobBase] = {}
    for spec in args:
        job = resolve_job(shell, spec)
        found.setdefault(job.num, job)  # type: ignore[arg-type]
    return list(found.values())
