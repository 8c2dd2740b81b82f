"""How a job is shown in one line: the single formatter behind ``jobs``, notifications
and ``wait``, so the three never disagree about what a job is called or how it ended.

Listing (``jobs``)::

    [3]  Running   12.1s  thread   fib(35)

Announcement (when a job ends, and from ``wait``)::

    [3]  Done  fib(35)  12.4s  (output: 2 lines)
    [4]  Dead  1/0  0.0s  ZeroDivisionError: division by zero
"""

from __future__ import annotations

from bgshell.jobs import BackgroundJobBase, JobState, describe_exception

__all__ = [
    "state_word", "format_elapsed", "listing_line", "announcement", "announcements", "exception_summary",
]

#: When more jobs than this end at once, the rest are counted, not listed.
ANNOUNCE_LIMIT = 20

#: bash's words where bash has one ("Done", "Killed"), the engine's otherwise.
_WORDS = {
    JobState.CREATED: "Running",
    JobState.RUNNING: "Running",
    JobState.KILLING: "Killing",
    JobState.COMPLETED: "Done",
    JobState.DEAD: "Dead",
    JobState.KILLED: "Killed",
}

#: The longest input text shown in a job line; the rest is elided.
MAX_INPUT = 60


def state_word(job: BackgroundJobBase) -> str:
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


def short_input(job: BackgroundJobBase) -> str:
    """The job's input on one line, elided in the middle when long."""
    text = " ".join(str(job).split())
    if len(text) > MAX_INPUT:
        half = (MAX_INPUT - 3) // 2
        text = f"{text[:half]}...{text[-half:]}"
    return text


#: ``exception_summary`` is the engine's ``describe_exception``.
exception_summary = describe_exception


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
    """One row of ``jobs``: number, state, elapsed time, kind, input."""
    return (
        f"[{job.num}]  {state_word(job):<8}  {format_elapsed(job.elapsed):>6}  "
        f"{job.kind:<9}  {short_input(job)}"
    )


def announcement(job: BackgroundJobBase) -> str:
    """The bash-style line printed when a job has ended."""
    parts = [f"[{job.num}]", state_word(job), short_input(job), format_elapsed(job.elapsed)]
    if job.state is JobState.DEAD:
        parts.append(job.error_summary)
    note = output_note(job)
    if note:
        parts.append(note)
    return "  ".join(parts)


def announcements(jobs: list[BackgroundJobBase]) -> list[str]:
    """The lines announcing *jobs*: one each, or, when a loop ended thousands at once,
    the first few and one line counting the rest (``jobs`` lists them all)."""
    if len(jobs) <= ANNOUNCE_LIMIT:
        return [announcement(job) for job in jobs]
    shown = ANNOUNCE_LIMIT // 2
    counts: dict[str, int] = {}
    for job in jobs[shown:]:
        counts[state_word(job)] = counts.get(state_word(job), 0) + 1
    summary = ", ".join(f"{n:,} {word.lower()}" for word, n in counts.items())
    rest = len(jobs) - shown
    return [announcement(job) for job in jobs[:shown]] + [
        f"... and {rest:,} more jobs ended ({summary}); jobs -a lists them"
    ]
