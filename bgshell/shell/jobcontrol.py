"""The builtins of job control, with bash's options: ``jobs [-alprs]``, ``wait [-n]``,
``kill [-s SIGNAL | -SIGNAL | -l]`` and ``bg``.

Each takes the shell and its arguments and raises ``UsageError`` when used wrongly
(see ``usage``).  A builtin that returns ``False`` did what it was asked but
failed as bash's would (``wait`` for a job that died): the input counts as failed
for the exit status of a piped run.  Job lines come from ``joblines``, the one
formatter for them.
"""

from __future__ import annotations

from builtins import print  # bound at import: a job replacing builtins.print cannot silence the shell
import re
import signal
import sys
import threading
import time

from bgshell.engine.job import BackgroundJobBase
from bgshell.engine.runners.thread import where_thread_is
from bgshell.engine.states import JobState
from bgshell.shell.joblines import count_by_state, escape_controls, listing_lines, pid_of, state_word
from bgshell.shell.language.quoting import show
from bgshell.shell.usage import Shell, UsageError, resolve_all, resolve_job

__all__ = ["cmd_jobs", "cmd_wait", "cmd_kill", "cmd_bg", "JOBS_USAGE", "WAIT_USAGE", "KILL_USAGE",
           "LISTING_LIMIT", "SIGNALS"]

#: ``jobs`` lists at most this many finished jobs unless asked for all (``jobs -a``).
LISTING_LIMIT = 40

JOBS_USAGE = "jobs [-alprs] [SPEC ...]"
WAIT_USAGE = "wait [-n] [SPEC ...]"
KILL_USAGE = "kill [-s SIGNAL | -SIGNAL] SPEC [SPEC ...]"

#: The signals ``kill`` sends, by name, with what each does (``kill -l``).
SIGNALS: dict[str, tuple[int, str]] = {
    "INT": (signal.SIGINT, "interrupt: KeyboardInterrupt in a thread job (which may catch it), "
                           "SIGINT to a process job's group, a coroutine job cancelled"),
    "KILL": (signal.SIGKILL, "stop now: a process job without the grace period (a thread job as TERM)"),
    "TERM": (signal.SIGTERM, "stop (the default)"),
}
_BY_NUMBER = {number: name for name, (number, _) in SIGNALS.items()}
#: How long ``wait -n`` blocks at a time: an exception raised in its thread (a kill
#: of the job that waits, Ctrl-Z sending the wait back) takes effect in between.
_SLICE = 0.05
_NUMBER = re.compile(r"[0-9]{1,3}")


# -- jobs --------------------------------------------------------------------------------
def _options(args: list[str], letters: str, usage: str) -> tuple[set[str], list[str]]:
    """Split *args* into single-letter flags (``-rl`` is ``-r -l``) and job specs.

    A job spec never starts with ``-``; ``--`` ends the flags.
    """
    flags: set[str] = set()
    specs: list[str] = []
    for index, arg in enumerate(args):
        if arg == "--":
            specs.extend(args[index + 1:])
            break
        if arg.startswith("-") and len(arg) > 1:
            if not set(arg[1:]) <= set(letters):
                raise UsageError(f"usage: {usage}")
            flags.update(arg[1:])
        else:
            specs.append(arg)
    return flags, specs


def cmd_jobs(shell: Shell, args: list[str]) -> None:
    """List jobs: ``-r`` running only, ``-s`` waiting for input only, ``-l`` where each
    runs (a line below it), ``-p`` process ids only, ``-a`` every finished job; SPECs
    list those jobs."""
    long_names = {"--all": "-a", "--long": "-l"}
    flags, specs = _options([long_names.get(arg, arg) for arg in args], "alprs", JOBS_USAGE)
    chosen = resolve_all(shell, specs) if specs else list(shell.jobs.all.values())
    if flags & {"r", "s"}:
        chosen = [job for job in chosen
                  if ("r" in flags and not job.state.finished and not job.waiting_for_input)
                  or ("s" in flags and job.waiting_for_input)]
    if "p" in flags:
        for job in chosen:
            pid = pid_of(job)
            if pid is not None:
                print(pid)
        return
    if not chosen:
        if not (flags & {"r", "s"} or specs):
            print("No jobs.")
        return
    _print_listing(chosen, show_all="a" in flags or bool(specs), show_where="l" in flags)


def _print_listing(chosen: list[BackgroundJobBase], *, show_all: bool, show_where: bool) -> None:
    """Print *chosen* by number; past ``LISTING_LIMIT`` finished jobs, only the newest."""
    running = [job for job in chosen if not job.state.finished]
    finished = [job for job in chosen if job.state.finished]
    hidden = 0
    if not show_all and len(finished) > LISTING_LIMIT:
        hidden = len(finished) - LISTING_LIMIT
        finished = finished[-LISTING_LIMIT:]
    for line in listing_lines(sorted(running + finished, key=lambda job: job.num), show_where=show_where):
        print(line)
    if hidden:
        summary = count_by_state([job for job in chosen if job.state.finished])
        print(f"... {hidden:,} older finished jobs not shown ({summary} in all); "
              "jobs -a lists every job, flush removes finished ones")


# -- wait --------------------------------------------------------------------------------
def cmd_wait(shell: Shell, args: list[str]) -> bool:
    """Wait for the jobs (or all running jobs) to end, or with ``-n`` for the first of
    them (without specs: or a job that ended unannounced); announce what ended.

    As bash's: False (a failed input, with one line saying why) when the job waited
    for last (``-n``: the one that ended) did not complete, or when Ctrl-C stopped
    the waiting; ``wait`` without specs succeeds.
    """
    flags, specs = _options(args, "n", WAIT_USAGE)
    targets = resolve_all(shell, specs) if specs else shell.jobs.running
    try:
        if "n" in flags:
            if not specs:  # as bash's: a job that ended unannounced has not been waited for
                targets = _ended_unseen(shell) + targets
            last = _wait_for_next(targets)
        else:
            for job in targets:
                job.wait_done()
            last = targets[-1] if specs else None
    except KeyboardInterrupt:
        still = [job for job in targets if not job.state.finished]
        print(f"\nwait: interrupted; {len(still)} job{'' if len(still) == 1 else 's'} still running", file=sys.stderr)
        return False
    finally:
        # Announce every job that ended, not only those waited for: a drained job
        # that is not announced here would never be announced.
        shell.announce(shell.jobs.drain_finished())
    if last is None or last.state is JobState.COMPLETED:
        return True
    why = f": {escape_controls(last.error_summary)}" if last.state is JobState.DEAD else ""
    print(f"wait: job {last.num} did not complete ({state_word(last)}{why})", file=sys.stderr)
    return False


def _ended_unseen(shell: Shell) -> list[BackgroundJobBase]:
    """Jobs that have ended and that the user has not been told about yet."""
    return [job for job in shell.jobs.all.values() if job.state.finished and not job.seen]


def _wait_for_next(targets: list[BackgroundJobBase]) -> BackgroundJobBase | None:
    """The first of *targets* to end (one that has ended already, if any); None when
    there is nothing to wait for."""
    if not targets:
        return None
    ended = [job for job in targets if job.state.finished]
    if not ended:
        first: list[BackgroundJobBase] = []
        news = threading.Event()

        def ended_hook(job: BackgroundJobBase) -> None:
            first.append(job)
            news.set()

        for job in targets:
            job.add_ended_hook(ended_hook)  # called at once for a job that ended just now
        while not news.wait(_SLICE):  # in slices: an exception raised in this thread lands
            pass
        ended = first
    ended[0].wait_done()  # filed by its manager too, so the announcement finds it
    return ended[0]


# -- kill --------------------------------------------------------------------------------
def _signal_named(text: str) -> int:
    """The signal *text* names: ``INT``, ``SIGINT``, ``int``, ``2``... (INT, TERM, KILL)."""
    name = text.upper()
    if _NUMBER.fullmatch(name) and int(name) in _BY_NUMBER:
        return int(name)
    name = name[3:] if name.startswith("SIG") else name
    if name in SIGNALS:
        return SIGNALS[name][0]
    raise UsageError(f"unknown signal {show(text)}: use INT, TERM or KILL (kill -l lists them)")


def _print_signals() -> None:
    for name, (number, what) in sorted(SIGNALS.items(), key=lambda item: item[1][0]):
        print(f"{number:>2}) SIG{name:<5} {what}")


def cmd_kill(shell: Shell, args: list[str]) -> None:
    """Send a signal (TERM unless told) to jobs: ``kill [-s SIG | -SIG] SPEC ...``,
    or list the signals: ``kill -l``."""
    rest = list(args)
    if rest[:1] == ["-l"]:
        if len(rest) > 1:
            raise UsageError("usage: kill -l (it lists the signals)")
        _print_signals()
        return
    signum = signal.SIGTERM
    if rest[:1] == ["-s"]:
        if len(rest) < 2:
            raise UsageError(f"usage: {KILL_USAGE}")
        signum, rest = _signal_named(rest[1]), rest[2:]
    elif rest and rest[0].startswith("-") and len(rest[0]) > 1 and rest[0] != "--":
        signum, rest = _signal_named(rest[0][1:]), rest[1:]
    if rest[:1] == ["--"]:
        rest = rest[1:]
    if not rest:
        raise UsageError(f"usage: {KILL_USAGE}")
    targets = resolve_all(shell, rest)
    for job in targets:
        if job.state.finished:
            raise UsageError(f"job {job.num} has already ended ({state_word(job)})")
        if signum == signal.SIGINT and job.state in (JobState.CREATED, JobState.QUEUED):
            raise UsageError(f"job {job.num} has not started yet: there is nothing to interrupt")
    sent = [job for job in targets if _send(job, signum)]
    if signum in (signal.SIGTERM, signal.SIGINT):
        _say_which_wait([job for job in sent if job.kind == "thread"])


def _send(job: BackgroundJobBase, signum: int) -> bool:
    """Deliver *signum* to *job*; KILL to a job in one of the shell's threads is TERM.
    False if the job ended meanwhile (there was nothing to do)."""
    if signum == signal.SIGKILL and job.kind in ("thread", "coroutine"):
        print(f"kill: job {job.num} runs in a thread, which cannot be stopped harder than TERM; sending TERM")
        signum = signal.SIGTERM
    return job.send_signal(signum)


def _say_which_wait(jobs: list[BackgroundJobBase]) -> None:
    """After every signal is sent (one job's end must not change what another is
    told): for each thread job that has not taken it in a moment, say why."""
    deadline = time.monotonic() + KILL_NOTICE_DELAY
    for job in jobs:
        if not job.wait_done(max(0.0, deadline - time.monotonic())):
            _say_why_it_waits(job)


#: How long kill waits for a thread job to take the signal before saying why it has not.
KILL_NOTICE_DELAY = 0.1


def _say_why_it_waits(job: BackgroundJobBase) -> None:
    """A thread takes an exception only between Python bytecodes: inside a C call
    (``time.sleep``, a socket read, a big ``sum``) it waits for the call to return."""
    where = where_thread_is(job.handle) if isinstance(job.handle, int) else ""
    place = f" ({where})" if where else ""
    print(f"kill: job {job.num} is inside a call that does not run Python{place}; "
          "it stops when that call returns")


# -- bg ----------------------------------------------------------------------------------
def cmd_bg(shell: Shell, args: list[str]) -> None:
    """Accepted for habit: every job already runs in the background; say so."""
    if len(args) > 1:
        raise UsageError("usage: bg [SPEC]")
    job = resolve_job(shell, args[0] if args else "%+")
    if job.state.finished:
        raise UsageError(f"job {job.num} has already ended ({state_word(job)})")
    waiting = " (it is waiting for input)" if job.waiting_for_input else ""
    print(f"bg: job {job.num} already runs in the background{waiting}")
