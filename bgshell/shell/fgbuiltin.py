"""``fg``: a job in the foreground, as bash's; and ``output -f``, following one.

``fg [SPEC]`` (the newest running job by default) shows what the job wrote so far,
then its output live; a job waiting for input gets the lines typed.  Ctrl-C
interrupts the job (``KeyboardInterrupt`` in a thread job, SIGINT to a process
job's group, cancellation of a coroutine), Ctrl-Z sends it back (``[N]+ INPUT &``).
When it ends, it is done with as foreground code would be: its value shown and
bound to ``_``, or its traceback printed, and no announcement follows.
"""

from __future__ import annotations

from builtins import print  # bound at import: a job replacing builtins.print cannot silence the shell
import signal
import sys
from typing import Any

from bgshell.engine.states import JobState
from bgshell.shell.follow import Follower
from bgshell.shell.foreground import DetachRequest
from bgshell.shell.joblines import short_input, state_word
from bgshell.shell.usage import Shell, UsageError, resolve_job

__all__ = ["cmd_fg", "follow_output", "current_job"]


def current_job(shell: Shell, args: list[str], name: str) -> Any:
    """The job *args* names (one spec at most); without one, the newest job still running."""
    if len(args) > 1:
        raise UsageError(f"usage: {name} [SPEC]")
    if args:
        return resolve_job(shell, args[0])
    running = [job for job in shell.jobs.all.values() if not job.state.finished]
    if not running:
        raise UsageError("no job is running")
    return running[-1]


def cmd_fg(shell: Shell, args: list[str]) -> None:
    job = current_job(shell, args, "fg")
    if job.state.finished:
        raise UsageError(f"job {job.num} has ended ({state_word(job)}); result {job.num} shows its outcome")
    print(short_input(job))
    run = shell.foreground.here()
    follower = Follower(job)
    while True:
        try:
            ended = follower.follow(run.wake_fd, answer_input=True)
        except KeyboardInterrupt:
            job.send_signal(signal.SIGINT)  # the job's to take (it may catch it); still followed
            continue
        except DetachRequest:
            ended = False
        break
    if not ended:
        print(f"[{job.num}]+ {short_input(job)} &")
        return
    _conclude(shell, job)


def _conclude(shell: Shell, job: Any) -> None:
    """The job ended in the foreground: its outcome shown as foreground code's is."""
    job.seen = True  # announced here, not again at the prompt
    if job.state is JobState.COMPLETED:
        value = job.result
        if value is not None:
            shell.display(value)
        return
    text = job.traceback_text or f"{state_word(job)}\n"
    sys.stderr.write(text if text.endswith("\n") else text + "\n")
    sys.stderr.flush()


def follow_output(shell: Shell, job: Any) -> None:
    """``output -f``: what the job wrote, then its output live until it ends; Ctrl-C
    or Ctrl-Z stop following (the job goes on)."""
    run = shell.foreground.here()
    try:
        ended = Follower(job).follow(run.wake_fd, answer_input=False)
    except KeyboardInterrupt:
        print()  # after the ^C the terminal echoed (Ctrl-Z's line is ended by the front end)
        ended = False
    except DetachRequest:
        ended = False
    if ended:
        print(f"[{job.num}]  {state_word(job)}")
    else:
        print(f"(job {job.num} goes on: output -f {job.num} follows it again)")
