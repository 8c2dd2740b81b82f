"""The shell itself, apart from any terminal: classify a line of input, then run it in
the foreground, hand it to the engine, or dispatch it to a builtin.

Front ends (``terminal``, ``plain``) only read input and decide where text goes; the
language, the builtins, the exit guard and the announcements all live here, so a pipe
and a terminal behave the same.
"""

from __future__ import annotations

from builtins import print  # bound at import: a job replacing builtins.print cannot silence the shell
import signal
import sys
import time
from typing import Any

from bgshell.engine.job import BackgroundJobBase
from bgshell.engine.jobtypes import BackgroundJobCode
from bgshell.engine.kinds import USER_KINDS
from bgshell.engine.manager import BackgroundJobManager
from bgshell.shell.commands import BUILTINS, run_builtin
from bgshell.shell.usage import UsageError
from bgshell.shell.evaluate import Evaluator, install_quitters, make_namespace
from bgshell.shell.foreground import Foreground
from bgshell.shell.joblines import announcements, listing_lines, short_input, waiting_line
from bgshell.shell.language.classify import Grammar
from bgshell.shell.language.paste import split_pasted
from bgshell.shell.pastes import run_pieces
from bgshell.shell.sources import InputNames
from bgshell.shell.termination import Terminated, raise_if_swallowed

__all__ = ["Shell", "ExitRequest", "ScriptInterrupted", "GRAMMAR"]

#: The shell's vocabulary: its builtins and the job kinds a user may name.
GRAMMAR = Grammar(frozenset(BUILTINS), USER_KINDS)

_MISSING = object()

#: Once the user confirmed exit, how long running jobs get to stop before we leave.
EXIT_GRACE_SECONDS = 1.0
#: How long processes that jobs left behind get between SIGTERM and SIGKILL at exit.
LEFTOVER_GRACE_SECONDS = 0.2


class ExitRequest(Exception):
    """The user asked to leave (``exit()``, Ctrl-D) and the exit guard agreed."""

    def __init__(self, code: int = 0) -> None:
        super().__init__(code)
        self.code = code


class ScriptInterrupted(Exception):
    """A KeyboardInterrupt ended an input of ``-c`` or FILE: as python3 does, the script
    stops there and the shell ends as if killed by SIGINT (its traceback is shown)."""


class Shell:
    """One session: a namespace with the job manager bound as ``jobs``."""

    def __init__(self, *, default_kind: str = "thread") -> None:
        self.grammar = GRAMMAR
        self.jobs = BackgroundJobManager()
        if default_kind != self.jobs.default_kind:
            try:
                self.default_kind = default_kind
            except UsageError as exc:  # --kind cluster without dask: say so, go on with threads
                print(f"bgshell: --kind {default_kind}: {exc}", file=sys.stderr)
        self.namespace = make_namespace(jobs=self.jobs)
        install_quitters()
        #: What runs in the foreground, and sending it to the background (Ctrl-Z).
        self.foreground = Foreground(self.jobs)
        self.evaluator = Evaluator(self.namespace, self.foreground)
        #: Inputs read from a script (FILE, or ``-c``'s ``<string>``) are places in it;
        #: other inputs are kept in linecache under names of their own.
        self.script_name: str | None = None
        self._input_names = InputNames()
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
        """``UsageError`` when the kind's runner cannot be made (cluster jobs without dask)."""
        try:
            self.jobs.runners.get(kind)  # a process runner starts its fork server now, not at the first job
        except RuntimeError as exc:
            raise UsageError(str(exc)) from None
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

        *first_line*: where *text* starts in the script being run, if any.  The exit
        guard stays armed only while the user keeps asking to exit: any other input
        in between means a later exit warns again.  A pasted block whose statements
        end in ``&`` runs statement by statement (see ``pastes``).
        """
        pieces = split_pasted(text)
        if pieces is not None:
            run_pieces(self, pieces, first_line)
            return
        classified = self.grammar.classify(text, self.is_bound)
        kind = classified.kind
        asked_to_exit = False
        ok = True
        if kind in ("python", "background"):
            filename, first_line = self.source_place(text, first_line)
        if kind == "python":
            try:
                ok = self._run_python(text, classified.code, filename, first_line)
            except Terminated:
                raise  # a signal: the system insists, no exit guard
            except SystemExit as exc:
                asked_to_exit = True
                self.request_exit(_exit_code(exc))
        elif kind == "background":
            run = self.foreground.begin(text, text, starting=True)  # Ctrl-C stops a slow pickling
            try:
                ok = self.start_background(classified.code, classified.job_kind, filename, first_line) is not None
            finally:
                self.foreground.end(run)
        elif kind == "builtin":
            run = self.foreground.begin(text, text, builtin=True)
            try:
                ok = run_builtin(self, classified.name, list(classified.args))
            finally:
                self.foreground.end(run)
        elif kind == "error":
            print(classified.message, file=sys.stderr)
            ok = False
        if not ok:
            self.failed = True
        if kind != "empty" and not asked_to_exit:
            self._exit_warned = False

    def _run_python(self, text: str, code: str, filename: str, first_line: int) -> bool:
        """Run Python in the foreground (Ctrl-Z may make it a job); True if it raised
        nothing.  ``SystemExit`` is raised for ``handle``, unless the code became a
        job: then it ends only the job."""
        script = self.script_name is not None
        run = self.foreground.begin(text, text)
        try:
            ok = self.evaluator.run(code, filename, first_line, script=script)
            raise_if_swallowed()
        except Terminated:
            raise  # a signal: no exit guard
        except SystemExit as exc:
            if not self.foreground.keep_error(exc):
                raise
            ok = True
        finally:
            self.foreground.end(run)
        if run.job is not None:
            return True  # its outcome is the job's, announced when it ends
        if script and not ok and isinstance(getattr(sys, "last_value", None), KeyboardInterrupt):
            raise ScriptInterrupted
        return ok

    def run_module(self, code: Any) -> int | None:
        """Run a module's *code* (``-m MODULE``) in the namespace; an exit status if it
        called ``exit()``."""
        try:
            if not self.evaluator.run_code(code):
                self.failed = True
            raise_if_swallowed()
        except Terminated:
            raise
        except SystemExit as exc:
            return _exit_code(exc)
        return None

    def source_place(self, text: str, first_line: int = 1) -> tuple[str, int]:
        """The file name and first line *text* is compiled with (see ``sources``)."""
        if self.script_name is not None:
            return self.script_name, first_line
        return self._input_names.name(text), 1

    def start_background(
        self, code: str, kind: str | None, filename: str | None = None, first_line: int = 1
    ) -> BackgroundJobBase | None:
        """Start *code* as a job of *kind* (the session default when None) and say so."""
        if filename is None:
            filename, first_line = self.source_place(code)
        try:
            job = BackgroundJobCode(code, self.namespace, filename=filename, first_line=first_line,
                                    future_flags=self.evaluator.future_flags)
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
        """Announce every job that ended since the last announcement, and every job
        that started waiting for input."""
        fresh = self.jobs.drain_finished()
        waiting = self.jobs.drain_waiting()
        if not fresh and not waiting:
            return  # (and sys.stdout untouched: the code may have closed it)
        self.announce(fresh)
        for job in waiting:
            print(waiting_line(job))
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
            for line in listing_lines(running[:10]):
                print(f"  {line}", file=sys.stderr)
            if len(running) > 10:
                print(f"  ... and {len(running) - 10} more", file=sys.stderr)
            print("Exit again to stop them and leave.", file=sys.stderr)
            return
        raise ExitRequest(code)

    def stop_jobs(self) -> bool:
        """Kill every running job and give them a moment, and stop every process a job
        started that is still there; True if all jobs have ended."""
        running = self.running_jobs()
        for job in running:
            job.kill()
        self.jobs.wait([job.num for job in running], timeout=EXIT_GRACE_SECONDS)
        # Before the forced kills: leaving a cluster ends its jobs without restarting the
        # workers of a cluster others may share (a kill already on its way stops them).
        self.jobs.runners.shutdown()
        for job in running:
            if job.is_alive():
                job.kill(force=True)
        leftovers = [job for job in self.jobs.all.values() if job.has_processes]
        for signum in (signal.SIGTERM, signal.SIGKILL):
            for job in leftovers:
                job.stop_processes(signum)
            if leftovers and signum == signal.SIGTERM:
                time.sleep(LEFTOVER_GRACE_SECONDS)
        return not any(job.is_alive() for job in running)


def _exit_code(exc: SystemExit) -> int:
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1

