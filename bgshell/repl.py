"""The shell itself, apart from any terminal: classify a line of input, then run it in
the foreground, hand it to the engine, or dispatch it to a builtin.

Front ends (``terminal``, ``plain``) only read input and decide where text goes; the
language, the builtins, the exit guard and the announcements all live here, so a pipe
and a terminal behave the same.
"""

from __future__ import annotations

import sys
from typing import Any

from bgshell.commands import BUILTINS, run_builtin
from bgshell.evaluate import Evaluator, install_quitters, make_namespace
from bgshell.joblines import announcements, listing_line, short_input
from bgshell.jobs import BackgroundJobBase, BackgroundJobCode, BackgroundJobManager
from bgshell.source import classify
from bgshell.termination import Terminated, raise_if_swallowed

__all__ = ["Shell", "ExitRequest"]

_MISSING = object()

#: Once the user confirmed exit, how long running jobs get to stop before we leave.
EXIT_GRACE_SECONDS = 1.0


class ExitRequest(Exception):
    """The user asked to leave (``exit()``, Ctrl-D) and the exit guard agreed."""

    def __init__(self, code: int = 0) -> None:
        super().__init__(code)
        self.code = code


class Shell:
    """One session: a namespace with the job manager bound as ``jobs``."""

    def __init__(self, *, default_kind: str = "thread", filename: str = "<stdin>") -> None:
        self.jobs = BackgroundJobManager()
        if default_kind != self.jobs.default_kind:
            self.default_kind = default_kind
        self.namespace = make_namespace(jobs=self.jobs)
        install_quitters()
        self.evaluator = Evaluator(self.namespace, filename)
        #: True once any input failed (an exception, a usage error): the exit status
        #: of a non-interactive run.
        self.failed = False
        #: At a terminal the exit guard asks before leaving running jobs behind;
        #: elsewhere exit() ends the input and the jobs are waited for.
        self.interactive = False
        self._exit_warned = False

    # -- settings the builtins change ------------------------------------------------
    @property
    def default_kind(self) -> str:
        return self.jobs.default_kind

    @default_kind.setter
    def default_kind(self, kind: str) -> None:
        from bgshell.runners import get_runner

        get_runner(kind)  # a process runner starts its fork server now, not at the first job
        self.jobs.default_kind = kind

    # -- the language ------------------------------------------------------------------
    def is_bound(self, name: str) -> bool:
        """True if the user bound *name*, so it means their variable, not a builtin.

        ``jobs`` bound to the shell's own manager still means the builtin.
        """
        value = self.namespace.get(name, _MISSING)
        return value is not _MISSING and value is not self.jobs

    def handle(self, text: str, first_line: int = 1) -> None:
        """Run one complete input.  Raises ``ExitRequest`` when the session should end.

        The exit guard stays armed only while the user keeps asking to exit: any
        other input in between means a later exit warns again.
        """
        classified = classify(text, BUILTINS, self.is_bound)
        kind = classified.kind
        asked_to_exit = False
        ok = True
        if kind == "python":
            try:
                ok = self.evaluator.run(classified.code, first_line)
                raise_if_swallowed()
            except Terminated:
                raise  # a signal: no exit guard
            except SystemExit as exc:
                asked_to_exit = True
                self.request_exit(_exit_code(exc))
        elif kind == "background":
            ok = self.start_background(classified.code, classified.job_kind) is not None
        elif kind == "builtin":
            ok = run_builtin(self, classified.name, list(classified.args))
        elif kind == "error":
            print(classified.message, file=sys.stderr)
            ok = False
        if not ok:
            self.failed = True
        if kind != "empty" and not asked_to_exit:
            self._exit_warned = False

    def start_background(self, code: str, kind: str | None) -> BackgroundJobBase | None:
        """Start *code* as a job of *kind* (the session default when None) and say so."""
        try:
            job = BackgroundJobCode(code, self.namespace)
        except SyntaxError as exc:
            self.evaluator.show_syntax_error(exc)
            return None
        job.daemon = True  # the exit guard, not the interpreter, decides about running jobs
        try:
            self.jobs.submit(job, kind=kind)
        except (ValueError, RuntimeError, OSError) as exc:
            print(f"cannot start the job: {exc}", file=sys.stderr)
            return None
        print(f"[{job.num}] {short_input(job)}")
        return job

    # -- what the builtins and front ends call -------------------------------------------
    def display(self, value: Any) -> None:
        self.evaluator.display(value)

    def announce(self, jobs: list[BackgroundJobBase]) -> None:
        """Print the end of each job in *jobs* (already drained from the manager)."""
        for line in announcements(jobs):
            print(line)

    def announce_finished(self) -> None:
        """Announce every job that ended since the last announcement."""
        fresh = self.jobs.drain_finished()
        if fresh:
            self.announce(fresh)
            sys.stdout.flush()

    def running_jobs(self) -> list[BackgroundJobBase]:
        return self.jobs.running

    def request_exit(self, code: int = 0) -> None:
        """Leave, unless jobs run and this is the first try: then list them and stay."""
        running = self.running_jobs() if self.interactive else []
        if running and not self._exit_warned:
            self._exit_warned = True
            print(f"There {'is' if len(running) == 1 else 'are'} {len(running)} running job"
                  f"{'' if len(running) == 1 else 's'}:", file=sys.stderr)
            for job in running[:10]:
                print(f"  {listing_line(job)}", file=sys.stderr)
            if len(running) > 10:
                print(f"  ... and {len(running) - 10} more", file=sys.stderr)
            print("Exit again to stop them and leave.", file=sys.stderr)
            return
        raise ExitRequest(code)

    def stop_jobs(self) -> bool:
        """Kill every running job and give them a moment; True if all have ended."""
        running = self.running_jobs()
        for job in running:
            job.kill()
        self.jobs.wait([job.num for job in running], timeout=EXIT_GRACE_SECONDS)
        for job in running:
            if job.is_alive():
                job.kill(force=True)
        from bgshell.runners import shutdown

        shutdown()
        return not any(job.is_alive() for job in running)


def _exit_code(exc: SystemExit) -> int:
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1

