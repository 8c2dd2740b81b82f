"""How a job is shown in one line: the single formatter behind ``jobs``, notifications
and ``wait``, so the three never disagree about what a job is called or how it ended.

Listing (``jobs``), columns aligned over the jobs listed (``[9]`` and ``[10]`` too)::

    [3]   Running   12.1s  thread     fib(35)
    [12]  Done       0.4s  process    total = sum(...)

With ``jobs -l`` a line below a job says where it runs (``where``).

Announcement (when a job ends, and from ``wait``)::

    [3]  Done  fib(35)  12.4s  (output: 2 lines)
    [4]  Dead  1/0  0.0s  ZeroDivisionError: division by zero
"""

from __future__ import annotations

import os
import re
import sys
import threading
from typing import Any, Iterable

from bgshell.engine.job import BackgroundJobBase
from bgshell.engine.states import JobState

__all__ = [
    "state_word", "format_elapsed", "listing_line", "listing_lines", "announcement", "announcements",
    "count_by_state", "waiting_line", "where", "pid_of", "WAITING",
]

#: When more jobs than this end at once, the rest are counted, not listed.
ANNOUNCE_LIMIT = 20

#: bash's words where bash has one ("Done", "Killed"), the engine's otherwise.
_WORDS = {
    JobState.CREATED: "Running",
    JobState.QUEUED: "Queued",
    JobState.RUNNING: "Running",
    JobState.KILLING: "Killing",
    JobState.COMPLETED: "Done",
    JobState.DEAD: "Dead",
    JobState.KILLED: "Killed",
}

#: The longest input text shown in a job line; the rest is elided.
MAX_INPUT = 60


#: A running job blocked reading its stdin (bash: "Stopped (tty input)").
WAITING = "Waiting for input"


def state_word(job: BackgroundJobBase) -> str:
    """bash's word for where *job* is: Running, Waiting for input, Done, Dead, Killed..."""
    if job.waiting_for_input:
        return WAITING
    return _WORDS[job.state]


def format_elapsed(seconds: float) -> str:
    """``0.4s``, ``12.1s``, ``3m05s``, ``2h03m``: short, and exact enough to compare."""
    if seconds < 59.95:  # what would print as 60.0s is a minute
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def escape_controls(text: str) -> str:
    """*text* with control characters written as ``\x1b``: what a job chose to call
    itself or to raise must not clear the screen or retitle the window."""
    return _CONTROLS.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def _more_lines_mark() -> str:
    """`` …`` after the first line of a multi-line input, or `` ...`` where standard
    output cannot encode the ellipsis (a Latin-1 terminal)."""
    try:
        "\u2026".encode(getattr(sys.stdout, "encoding", None) or "utf-8")
    except (LookupError, UnicodeError, TypeError):
        return " ..."
    return " \u2026"


def short_input(job: BackgroundJobBase) -> str:
    """The job's input on one line: its first line (`` …`` when more follow), blanks
    squeezed, control characters escaped, elided in the middle when long."""
    lines = str(job).strip().splitlines() or [""]
    text = escape_controls(" ".join(lines[0].split()))
    more = _more_lines_mark() if any(line.strip() for line in lines[1:]) else ""
    room = MAX_INPUT - len(more)
    if len(text) > room:
        half = (room - 3) // 2
        text = f"{text[:half]}...{text[-half:]}"
    return text + more


def output_note(job: BackgroundJobBase) -> str:
    """``(output: 3 lines)`` when the job wrote something, else empty."""
    written = job.output.written
    if not written:
        return ""
    text = job.output.text()
    lines = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
    if job.output.dropped:
        return f"(output: {written:,} characters, oldest dropped; see output {job.num})"
    return f"(output: {lines} line{'' if lines == 1 else 's'}; see output {job.num})"


def listing_line(job: BackgroundJobBase) -> str:
    """One row of ``jobs`` for *job* alone: number, state, elapsed time, kind, input."""
    return listing_lines([job])[0]


def listing_lines(jobs: Iterable[BackgroundJobBase], *, show_where: bool = False) -> list[str]:
    """The rows of ``jobs``: number, state, elapsed time, kind, input; with *show_where*,
    below a job that runs (or ran) somewhere worth naming, ``on WHERE`` (``where``).

    Each column is as wide as its widest entry among *jobs*, so rows stay aligned
    past job 9 (and 99, ...) and next to a job waiting for input.  Where a job runs
    goes on a line of its own: a worker's address is long, and the columns stay the
    same with and without it.
    """
    rows = [([f"[{job.num}]", state_word(job), format_elapsed(job.elapsed), job.kind], job) for job in jobs]
    if not rows:
        return []
    widths = [max(len(row[column]) for row, _ in rows) for column in range(4)]
    for column, least in ((1, 8), (2, 6), (3, 9)):  # the look of a listing of a few jobs
        widths[column] = max(widths[column], least)
    lines = []
    for row, job in rows:
        cells = [cell.rjust(width) if column == 2 else cell.ljust(width)
                 for column, (cell, width) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells) + "  " + short_input(job))
        place = where(job) if show_where else None
        if place:
            lines.append(f"      on {place}")
    return lines


def where(job: BackgroundJobBase) -> str | None:
    """Where *job* runs: what its runner says (``job.where``: a cluster job's worker,
    kept after it ended), else, while it runs, ``thread NAME ID``, ``pid N`` or ``loop
    thread NAME ID``; None when there is nothing to say."""
    told = job.where
    if isinstance(told, str) and told:
        return escape_controls(told)
    handle = job.handle
    if handle is None or job.state.finished:
        return None
    if isinstance(handle, int):
        return _thread_place("thread", handle)
    pid = pid_of(job)
    if pid is not None and job.kind == "process":
        return f"pid {pid}"
    if hasattr(type(handle), "get_loop"):  # an asyncio task: the loop's thread
        from bgshell.engine.runners.asyncloop import thread_of

        loop_thread = thread_of(handle.get_loop())
        if loop_thread is not None:
            return _thread_place("loop thread", loop_thread)
    return None


def pid_of(job: BackgroundJobBase) -> int | None:
    """The id of the process that runs *job* now: its own for a process job, the
    shell's for a job in one of the shell's threads; None when it does not run, or
    runs where a local process id means nothing (a cluster's worker)."""
    handle = job.handle
    if handle is None or job.state.finished:
        return None
    if job.kind == "process":
        return _plain_attribute(handle, "pid", int)
    return os.getpid() if job.kind in ("thread", "coroutine") else None


def _thread_place(label: str, ident: int) -> str:
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    name = names.get(ident)
    return f"{label} {escape_controls(name)} {ident}" if isinstance(name, str) else f"{label} {ident}"


def _plain_attribute(obj: Any, name: str, kind: type) -> Any:
    """``obj.name`` when it is exactly of type *kind*, else None (and never an error)."""
    try:
        value = getattr(obj, name, None)
    except Exception:
        return None
    return value if type(value) is kind else None


def announcement(job: BackgroundJobBase) -> str:
    """The bash-style line printed when a job has ended."""
    parts = [f"[{job.num}]", state_word(job), short_input(job), format_elapsed(job.elapsed)]
    if job.state is JobState.DEAD:
        parts.append(escape_controls(job.error_summary))
    note = output_note(job)
    if note:
        parts.append(note)
    return "  ".join(parts)


def waiting_line(job: BackgroundJobBase) -> str:
    """The line saying a job waits for input (bash's "Stopped (tty input)"); ``fg N``
    gives it the terminal."""
    return f"[{job.num}]  {WAITING}  {short_input(job)}"


def announcements(jobs: list[BackgroundJobBase]) -> list[str]:
    """The lines announcing *jobs*: one each, or, when a loop ended thousands at once,
    the first few and one line counting the rest (``jobs`` lists them all)."""
    if len(jobs) <= ANNOUNCE_LIMIT:
        return [announcement(job) for job in jobs]
    shown = ANNOUNCE_LIMIT // 2
    rest = len(jobs) - shown
    return [announcement(job) for job in jobs[:shown]] + [
        f"... and {rest:,} more jobs ended ({count_by_state(jobs[shown:])}); jobs -a lists them"
    ]


def count_by_state(jobs: list[BackgroundJobBase]) -> str:
    """``3 done, 1 dead``: how many of *jobs* are in each state, in order of first sight."""
    counts: dict[str, int] = {}
    for job in jobs:
        word = state_word(job)
        counts[word] = counts.get(word, 0) + 1
    return ", ".join(f"{n:,} {word.lower()}" for word, n in counts.items())
