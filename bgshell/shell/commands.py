"""The shell's builtins: the table of them (``BUILTINS``), the dispatcher, and the
builtins that look at jobs (``result``, ``traceback``, ``output``, ``debug``) or
tidy them (``remove``, ``flush``), with ``kind`` and ``help``; those of job control
(``jobs``, ``wait``, ``kill``, ``bg``) are in ``jobcontrol``, ``cluster`` in
``clustercmd``.

Each builtin is a small function that takes the shell and its arguments (already
split like a shell would).  Wrong use raises ``UsageError``; the dispatcher prints it
as one line, ``NAME: what was wrong`` on stderr, and the shell goes on.  A builtin
that returns ``False`` failed without being used wrongly (``wait`` for a job that
died, as bash's), and has said why in one line: the input counts as failed.  Job arguments are job specs: ``N``,
``%N``, ``%+`` (newest) or ``%-`` (the one before).
"""

from __future__ import annotations

from builtins import print  # bound at import: a job replacing builtins.print cannot silence the shell
import sys
from dataclasses import dataclass
from typing import Callable

from bgshell.engine.kinds import KINDS, USER_KINDS
from bgshell.engine.states import JobState
from bgshell.shell import clustercmd
from bgshell.shell.jobcontrol import (
    JOBS_USAGE, KILL_USAGE, LISTING_LIMIT, WAIT_USAGE, cmd_bg, cmd_jobs, cmd_kill, cmd_wait,
)
from bgshell.shell.fgbuiltin import cmd_fg, current_job, follow_output
from bgshell.shell.joblines import escape_controls, state_word
from bgshell.shell.pager import show_text
from bgshell.shell.usage import Shell, UsageError, one_job, resolve_all, resolve_job

__all__ = ["UsageError", "Builtin", "BUILTINS", "JOB_BUILTINS", "LISTING_LIMIT", "run_builtin", "resolve_job"]


@dataclass(frozen=True)
class Builtin:
    """One builtin: what ``help`` says of it, and the function that runs it (which may
    return False to say it failed; see above)."""

    name: str
    usage: str
    summary: str
    run: Callable[[Shell, list[str]], bool | None]
    #: Its arguments are job specs (Tab offers job numbers).
    takes_jobs: bool = False


OUTPUT_USAGE = "output [-f] N"


# -- the builtins --------------------------------------------------------------------
def cmd_result(shell: Shell, args: list[str]) -> None:
    """Show a job's value; for a job whose input ends in a statement (``z = f(7) &``),
    the names it bound, one ``NAME = VALUE`` line each."""
    job = one_job(shell, args, "result N")
    state = job.state
    if state is JobState.COMPLETED:
        bindings = getattr(job, "bindings", None)
        if not bindings:
            shell.display(job.result)
        for name, value in (bindings or {}).items():
            print(f"{name} = ", end="")
            if value is None:
                print("None")  # the displayhook shows nothing for None
            else:
                shell.display(value)
    elif state.finished:
        raise UsageError(
            f"job {job.num} has no result: it {'was killed' if state is JobState.KILLED else 'died'}"
            f" ({escape_controls(job.error_summary)}); see traceback {job.num}"
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
    for job in resolve_all(shell, args):
        if not job.state.finished:
            raise UsageError(f"job {job.num} is still running; kill {job.num} stops it, then remove it")
    for job in resolve_all(shell, args):
        shell.jobs.remove(job.num)


def cmd_flush(shell: Shell, args: list[str]) -> None:
    if args:
        raise UsageError("usage: flush (it takes no arguments)")
    shell.jobs.flush(report=shell.announce)


def cmd_output(shell: Shell, args: list[str]) -> None:
    """What a job wrote, paged when taller than the screen; ``-f``: followed live."""
    if args[:1] == ["-f"]:
        follow_output(shell, current_job(shell, args[1:], "output -f"))
        return
    job = one_job(shell, args, OUTPUT_USAGE)
    out = job.output
    if not out.written:
        print(f"output: job {job.num} has written nothing{'' if job.state.finished else ' yet'}")
        return
    note = ""
    if out.dropped:
        note = f"[output of job {job.num}: the first {out.dropped:,} characters were dropped to bound memory]\n"
    text = out.text()
    show_text(note + (text if text.endswith("\n") else text + "\n"))


def cmd_debug(shell: Shell, args: list[str]) -> None:
    """pdb post-mortem: on the last foreground error, or on a dead job's."""
    if len(args) > 1:
        raise UsageError("usage: debug [N]")
    if args:
        job = resolve_job(shell, args[0])
        exc, where = job.exception, f"job {job.num}"
        if exc is None:
            raise UsageError(f"job {job.num} has no traceback to debug: it is {state_word(job).lower()}")
        if job.kind in ("process", "cluster"):
            print(f"debug: job {job.num} ran in another process, whose frames are gone; its traceback:",
                  file=sys.stderr)
            sys.stderr.write(job.traceback_text or "")
            return
    else:
        exc, where = getattr(sys, "last_value", None), "the last error"
        if exc is None:
            raise UsageError("no error to debug yet (debug N debugs a dead job)")
    tb = exc.__traceback__
    if tb is None:
        raise UsageError(f"{where} ({type(exc).__name__}) has no frames to debug")
    import pdb

    pdb.post_mortem(tb)


def cmd_kind(shell: Shell, args: list[str]) -> None:
    choices = USER_KINDS
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
    print("Job kinds (EXPR &:KIND):")
    print(_kinds_help())
    print("Builtins (also with a % prefix, e.g. %jobs; a name you bound yourself is your variable):")
    for builtin in BUILTINS.values():
        gap = " " * (23 - len(builtin.usage)) if len(builtin.usage) < 23 else "\n" + " " * 25
        print(f"  {builtin.usage}{gap}{builtin.summary}")
    print("\nJob specs: N, %N, %+ (newest job), %- (the one before). See man bgshell.")


HELP_TEXT = """\
bgshell: Python, where a trailing & runs the input as a background job.
  EXPR &            run EXPR in the background; prints [N] EXPR
  STATEMENT &       run a statement in the background (a process job's bindings land when it ends)
  EXPR &:KIND       run it as a job of that kind (a unique prefix will do, e.g. &:p)"""


def _kinds_help() -> str:
    """The kinds a user may name, from the engine's table."""
    return "\n".join(f"  {'&:' + kind.name:<16}  {kind.summary}" for kind in KINDS if kind.chosen_by_user)


BUILTINS: dict[str, Builtin] = {
    b.name: b
    for b in (
        Builtin("jobs", JOBS_USAGE, "list jobs (-r running, -s waiting for input, -l where, -p pids, -a all)",
                cmd_jobs),
        Builtin("result", "result N", "print job N's value and keep it in _", cmd_result, takes_jobs=True),
        Builtin("traceback", "traceback [N]", "print the traceback of dead job N (or of all)", cmd_traceback,
                takes_jobs=True),
        Builtin("output", OUTPUT_USAGE, "print what job N wrote (-f: follow it live until it ends or Ctrl-C)",
                cmd_output, takes_jobs=True),
        Builtin("fg", "fg [SPEC]", "bring a job to the foreground: its output live, Ctrl-C, Ctrl-Z; %N alone too",
                cmd_fg, takes_jobs=True),
        Builtin("wait", WAIT_USAGE, "wait for those jobs (or all; -n: the first of them) to end", cmd_wait,
                takes_jobs=True),
        Builtin("kill", KILL_USAGE, "stop jobs, or send INT or KILL; kill -l lists the signals", cmd_kill,
                takes_jobs=True),
        Builtin("bg", "bg [SPEC]", "accepted for habit: every job already runs in the background", cmd_bg,
                takes_jobs=True),
        Builtin("remove", "remove N [N ...]", "forget finished jobs", cmd_remove, takes_jobs=True),
        Builtin("flush", "flush", "forget all finished jobs you have been told about", cmd_flush),
        Builtin("debug", "debug [N]", "pdb post-mortem on the last error, or on dead job N", cmd_debug,
                takes_jobs=True),
        Builtin("kind", f"kind [{'|'.join(USER_KINDS)}]", "show or set how new jobs run", cmd_kind),
        Builtin("cluster", clustercmd.USAGE, clustercmd.SUMMARY, clustercmd.cmd_cluster),
        Builtin("help", "help [BUILTIN]", "this help, or one builtin's", cmd_help),
    )
}


#: The builtins whose arguments are job specs.
JOB_BUILTINS = frozenset(name for name, builtin in BUILTINS.items() if builtin.takes_jobs)


def run_builtin(shell: Shell, name: str, args: list[str]) -> bool:
    """Run builtin *name*; print a usage error as one line.  True if it succeeded
    (it was used rightly and did not report a failure)."""
    try:
        outcome = BUILTINS[name].run(shell, list(args))
    except UsageError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return False
    return outcome is not False
