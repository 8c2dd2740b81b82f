"""The shell's builtins: ``jobs``, ``result``, ``traceback``, ``remove``, ``flush``,
``kill``, ``wait``, ``output``, ``kind`` and ``help``.

Each builtin is a small function that takes the shell and its arguments (already
split like a shell would).  Wrong use raises ``UsageError``; the dispatcher prints it
as one line, ``NAME: what was wrong`` on stderr, and the shell goes on.  Job
arguments are job specs: ``N``, ``%N``, ``%+`` (newest) or ``%-`` (the one before).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from bgshell.jobs import BackgroundJobBase, BackgroundJobManager, JobState
from bgshell.joblines import listing_line, state_word
from bgshell.source import JobSpecError, parse_jobspec

__all__ = ["UsageError", "Builtin", "BUILTINS", "run_builtin", "resolve_job"]

#: ``jobs`` lists at most this many finished jobs unless asked for all (``jobs -a``).
LISTING_LIMIT = 40


class UsageError(Exception):
    """A builtin was used wrongly; the message is one line for the user."""


class Shell(Protocol):
    """What the builtins need from the shell."""

    jobs: BackgroundJobManager
    default_kind: str

    def display(self, value: Any) -> None: ...

    def announce(self, jobs: list[BackgroundJobBase]) -> None: ...


@dataclass(frozen=True)
class Builtin:
    name: str
    usage: str
    summary: str
    run: Callable[[Shell, list[str]], None]


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


def _one_job(shell: Shell, args: list[str], usage: str) -> BackgroundJobBase:
    if len(args) != 1:
        raise UsageError(f"usage: {usage}")
    return resolve_job(shell, args[0])


def _resolve_all(shell: Shell, args: list[str]) -> list[BackgroundJobBase]:
    # Resolve every spec before acting, so a typo in the third spec does nothing;
    # a job named twice (`remove 3 %3`) is acted on once.
    found: dict[int, BackgroundJobBase] = {}
    for spec in args:
        job = resolve_job(shell, spec)
        found.setdefault(job.num, job)  # type: ignore[arg-type]
    return list(found.values())


# -- the builtins --------------------------------------------------------------------
def cmd_jobs(shell: Shell, args: list[str]) -> None:
    show_all = False
    for arg in args:
        if arg in ("-a", "--all"):
            show_all = True
        else:
            raise UsageError("usage: jobs [-a]")
    every = list(shell.jobs.all.values())
    if not every:
        print("No jobs.")
        return
    running = [job for job in every if not job.state.finished]
    finished = [job for job in every if job.state.finished]
    hidden = 0
    if not show_all and len(finished) > LISTING_LIMIT:
        hidden = len(finished) - LISTING_LIMIT
        finished = finished[-LISTING_LIMIT:]
    for job in sorted(running + finished, key=lambda job: job.num):
        print(listing_line(job))
    if hidden:
        counts: dict[str, int] = {}
        for job in every:
            if job.state.finished:
                word = state_word(job)
                counts[word] = counts.get(word, 0) + 1
        summary = ", ".join(f"{n:,} {word.lower()}" for word, n in counts.items())
        print(f"... {hidden:,} older finished jobs not shown ({summary} in all); jobs -a lists every job, flush removes finished ones")


def cmd_result(shell: Shell, args: list[str]) -> None:
    job = _one_job(shell, args, "result N")
    state = job.state
    if state is JobState.COMPLETED:
        shell.display(job.result)
    elif state.finished:
        raise UsageError(
            f"job {job.num} has no result: it {'was killed' if state is JobState.KILLED else 'died'}"
            f" ({job.error_summary}); see traceback {job.num}"
        )
    else:
        raise UsageError(f"job {job.num} is still running; wait {job.num} waits for it")


def cmd_traceback(shell: Shell, args: list[str]) -> None:
    if len(args) > 1:
        raise UsageError("usage: traceback [N]")
    if args:
        job = resolve_job(shell, args[0])
        if job.traceback_text is None:
            raise UsageError(f"job {job.num} has no traceback: it is {job.status.split()[0].lower()}")
        sys.stderr.write(job.traceback_text)
        return
    dead = shell.jobs.dead
    if not dead:
        print("No dead jobs.")
    for job in dead:
        print(f"Traceback of job [{job.num}] {job}:", file=sys.stderr)
        sys.stderr.write(job.traceback_text or "")


def cmd_remove(shell: Shell, args: list[str]) -> None:
    if not args:
        raise UsageError("usage: remove N [N ...]")
    for job in _resolve_all(shell, args):
        if not job.state.finished:
            raise UsageError(f"job {job.num} is still running; kill {job.num} stops it, then remove it")
    for job in _resolve_all(shell, args):
        shell.jobs.remove(job.num)


def cmd_flush(shell: Shell, args: list[str]) -> None:
    if args:
        raise UsageError("usage: flush (it takes no arguments)")
    fresh = shell.jobs.drain_finished()
    if fresh:
        shell.announce(fresh)
        print("flush: the jobs above ended since you last looked and were kept; run flush again to remove them")
        return
    shell.jobs.flush()


def cmd_kill(shell: Shell, args: list[str]) -> None:
    if not args:
        raise UsageError("usage: kill N [N ...]")
    targets = _resolve_all(shell, args)
    for job in targets:
        if job.state.finished:
            raise UsageError(f"job {job.num} has already ended ({state_word(job)})")
    for job in targets:
        job.kill()


def cmd_wait(shell: Shell, args: list[str]) -> None:
    targets = _resolve_all(shell, args) if args else shell.jobs.running
    try:
        for job in targets:
            job.wait_done()
    except KeyboardInterrupt:
        still = [job for job in targets if not job.state.finished]
        print(f"\nwait: interrupted; {len(still)} job{'' if len(still) == 1 else 's'} still running", file=sys.stderr)
    finally:
        # Announce every job that ended, not only those waited for: a drained job
        # that is not announced here would never be announced.
        shell.announce(shell.jobs.drain_finished())


def cmd_output(shell: Shell, args: list[str]) -> None:
    job = _one_job(shell, args, "output N")
    out = job.output
    if not out.written:
        print(f"output: job {job.num} has written nothing{'' if job.state.finished else ' yet'}")
        return
    if out.dropped:
        print(f"[output of job {job.num}: the first {out.dropped:,} characters were dropped to bound memory]")
    text = out.text()
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def cmd_kind(shell: Shell, args: list[str]) -> None:
    from bgshell.runners import KINDS

    choices = [kind for kind in KINDS if kind != "coroutine"]
    if not args:
        print(f"New jobs run as: {shell.default_kind} (choices: {', '.join(choices)})")
        return
    if len(args) != 1 or args[0] not in choices:
        raise UsageError(f"usage: kind [{'|'.join(choices)}]")
    shell.default_kind = args[0]
    print(f"New jobs run as: {shell.default_kind}")


def cmd_help(shell: Shell, args: list[str]) -> None:
    if len(args) > 1:
        raise UsageError("usage: help [BUILTIN]")
    if args:
        name = args[0].lstrip("%")
        builtin = BUILTINS.get(name)
        if builtin is None:
            raise UsageError(f"no builtin named {args[0]!r}; help lists them")
        print(f"{builtin.usage}\n    {builtin.summary}")
        return
    print(HELP_TEXT)
    for builtin in BUILTINS.values():
        print(f"  {builtin.usage:<22} {builtin.summary}")
    print("\nJob specs: N, %N, %+ (newest job), %- (the one before). See man bgshell.")


HELP_TEXT = """\
bgshell: Python, where a trailing & runs the input as a background job.
  EXPR &            run EXPR in the background; prints [N] EXPR
  STATEMENT &       run a statement in the background (a process job's bindings land when it ends)
  EXPR &:process    run it in a separate process (&:thread for a thread)
Builtins (also with a % prefix, e.g. %jobs; a name you bound yourself is your variable):"""


BUILTINS: dict[str, Builtin] = {
    b.name: b
    for b in (
        Builtin("jobs", "jobs [-a]", "list jobs: number, state, time, kind, input", cmd_jobs),
        Builtin("result", "result N", "print job N's value and keep it in _", cmd_result),
        Builtin("traceback", "traceback [N]", "print the traceback of dead job N (or of all)", cmd_traceback),
        Builtin("output", "output N", "print what job N wrote to stdout and stderr", cmd_output),
        Builtin("wait", "wait [N ...]", "wait for those jobs (or all) to end; Ctrl-C stops waiting", cmd_wait),
        Builtin("kill", "kill N [N ...]", "stop jobs (a thread at its next Python instruction)", cmd_kill),
        Builtin("remove", "remove N [N ...]", "forget finished jobs", cmd_remove),
        Builtin("flush", "flush", "forget all finished jobs you have been told about", cmd_flush),
        Builtin("kind", "kind [thread|process]", "show or set how new jobs run", cmd_kind),
        Builtin("help", "help [BUILTIN]", "this help, or one builtin's", cmd_help),
    )
}


def run_builtin(shell: Shell, name: str, args: list[str]) -> bool:
    """Run builtin *name*; print a usage error as one line.  True if it succeeded."""
    try:
        BUILTINS[name].run(shell, list(args))
    except UsageError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return False
    return True
