"""The operating-system side of a process job: the interpreter that runs it, the copy
of its output into the job, signals to its process group, and its exit status.

A job's process is a dedicated interpreter (``DedicatedInterpreter``, when no fork
server is ready) or one forked by the fork server (``forkclient.ForkedJob``); both
offer the same few methods to the process runner.
"""

from __future__ import annotations

import codecs
import os
import signal
import subprocess
import sys
import threading
from typing import Any

from bgshell.engine.runners import child
from bgshell.engine.runners.wire import send_job
from bgshell.engine.sigmask import as_main_thread, leave_signals_to_main

__all__ = ["DedicatedInterpreter", "OutputCopier", "signal_group", "describe_exit", "interpreter_env"]


def signal_group(pgid: int, signum: int) -> None:
    """Send *signum* to process group *pgid*; a group that is gone already is fine."""
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def describe_exit(returncode: int | None) -> str:
    """``exit status 3``, ``signal SIGKILL``, or ``exit status unknown``."""
    if returncode is None:  # the fork server went away before it could say
        return "exit status unknown"
    if returncode < 0:
        try:
            return f"signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"signal {-returncode}"
    return f"exit status {returncode}"


def _package_parent() -> str:
    """The folder that holds the ``bgshell`` package (so another interpreter can
    import it from there), found from the package itself, wherever it lives."""
    top = sys.modules[__name__.partition(".")[0]]
    return os.path.dirname(os.path.dirname(os.path.abspath(top.__file__ or "")))


def interpreter_env() -> dict[str, str]:
    """The environment of an interpreter the shell starts: unbuffered output (a job's
    prints reach the shell as they happen), and bgshell importable from where it is."""
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_package_parent(), env.get("PYTHONPATH", "")) if p)
    return env


class DedicatedInterpreter:
    """An interpreter started for one job alone (``python -m ...child``): how a job
    starts when no fork server is ready."""

    def __init__(self) -> None:
        read_fd, write_fd = os.pipe()
        try:
            with as_main_thread():  # the job gets python3's signal mask
                self.proc = subprocess.Popen(
                    [sys.executable, "-m", child.__name__, str(write_fd)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    pass_fds=(write_fd,),
                    start_new_session=True,  # its own process group: killpg reaches all it starts
                    env=interpreter_env(),
                )
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        self.result_fd = read_fd
        assert self.proc.stdout is not None
        self.output_fd = self.proc.stdout.fileno()
        self.pid: int | None = self.proc.pid

    def send(self, payload: bytes) -> None:
        stdin = self.proc.stdin
        assert stdin is not None
        try:
            send_job(stdin.fileno(), payload)
        finally:
            stdin.close()

    def signal_group(self, signum: int) -> None:
        signal_group(self.proc.pid, signum)

    def running(self) -> bool:
        return self.proc.poll() is None

    def wait(self) -> int | None:
        return self.proc.wait()

    def close_output(self) -> None:
        assert self.proc.stdout is not None
        self.proc.stdout.close()

    def discard(self) -> None:
        """Give up on the job: the process ends on end of input (or was killed)."""
        try:
            if self.proc.stdin:
                self.proc.stdin.close()
        except OSError:
            pass
        os.close(self.result_fd)
        self.close_output()
        threading.Thread(target=_wait_quietly, args=(self.proc,), daemon=True).start()


def _wait_quietly(proc: subprocess.Popen) -> None:
    """Reap *proc* in a thread that leaves signals to the main thread."""
    leave_signals_to_main()
    proc.wait()


class OutputCopier:
    """Moves bytes from a job's output pipe into ``job.output``, decoding UTF-8."""

    def __init__(self, job: Any, fd: int) -> None:
        self.job = job
        self.fd = fd
        self.open = True
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def copy_some(self) -> bool:
        """One read; False at end of file."""
        chunk = os.read(self.fd, 65536)
        if chunk:
            self.job.output.write(self._decoder.decode(chunk))
            return True
        self.job.output.write(self._decoder.decode(b"", final=True))
        self.open = False
        return False

    def copy_buffered(self) -> None:
        """Copy what is in the pipe now, without waiting for more."""
        if not self.open:
            return
        os.set_blocking(self.fd, False)
        try:
            while self.copy_some():
                pass
        except BlockingIOError:
            pass
        finally:
            os.set_blocking(self.fd, True)

    def copy_to_end(self) -> None:
        while self.open and self.copy_some():
            pass
