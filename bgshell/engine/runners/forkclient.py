"""The shell's side of the fork server: start it, have it fork job processes, hear
how they end.

The server (``forkserver``) reports each child it forked and each
one it reaped, whenever that happens and for any job, on one socket.  So one thread
here reads that socket and hands every report to the job it is about; whoever waits
for a job's pid or its exit status waits on an event of that job.
"""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import threading

from bgshell.engine.runners import forkserver
from bgshell.engine.runners.jobprocess import signal_group
from bgshell.engine.runners.wire import send_job
from bgshell.engine.sigmask import as_main_thread, leave_signals_to_main

__all__ = ["ForkServer", "ForkedJob"]


class ForkedJob:
    """A job's process forked by the server: the shell's ends of its pipes, its pid,
    and its exit status once the server has reaped it."""

    def __init__(self, output_fd: int, result_fd: int, input_fd: int, server: ForkServer) -> None:
        self.server = server
        self.output_fd = output_fd
        self.result_fd = result_fd
        self._input_fd: int | None = input_fd
        self.pid: int | None = None
        self._returncode: int | None = None
        self._reaped = False
        self._answered = threading.Event()  # forked, or could not be
        self._ended = threading.Event()  # reaped, or the server is gone

    # -- reports, from the server's reader thread --------------------------------------
    def _forked(self, pid: int) -> None:
        self.pid = pid
        self._answered.set()

    def _exited(self, status: int) -> None:
        self._returncode = os.waitstatus_to_exitcode(status)
        self._reaped = True
        self._answered.set()
        self._ended.set()

    def _lost(self) -> None:
        """The server is gone: nobody can tell how this process ends any more."""
        self._answered.set()
        self._ended.set()

    # -- for the process runner ----------------------------------------------------------
    def wait_forked(self, timeout: float) -> bool:
        """True once the process exists (it has its pid and session); False if the
        server is gone without forking it, or did not within *timeout* seconds (then
        it is stopped: a server that hangs is of no use)."""
        if not self._answered.wait(timeout):
            self.server.stop()
            self._answered.wait()
        return self.pid is not None

    def send(self, payload: bytes) -> None:
        assert self._input_fd is not None
        try:
            send_job(self._input_fd, payload)
        finally:
            self._close_input()

    def signal_group(self, signum: int) -> None:
        if self.pid is None:  # not forked yet: it gets no job once the job is killing
            return
        signal_group(self.pid, signum)

    def running(self) -> bool:
        """True until the server has reaped the process (an unknown end counts as running)."""
        return not self._reaped

    def wait(self) -> int | None:
        """The exit code (negative: the signal that ended it); None if unknown."""
        self._ended.wait()
        return self._returncode

    def close_output(self) -> None:
        os.close(self.output_fd)

    def discard(self) -> None:
        """Give up on the job: the process ends on end of input (or was killed)."""
        self._close_input()
        os.close(self.result_fd)
        os.close(self.output_fd)

    def _close_input(self) -> None:
        fd, self._input_fd = self._input_fd, None
        if fd is not None:
            os.close(fd)


class ForkServer:
    """A running fork server and the thread that reads its reports."""

    def __init__(self, env: dict[str, str]) -> None:
        shell_end, server_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            with as_main_thread():  # the jobs it forks get python3's signal mask
                self._proc = subprocess.Popen(
                    [sys.executable, "-m", forkserver.__name__, str(server_end.fileno())],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    pass_fds=(server_end.fileno(),),
                    start_new_session=True,  # a terminal's Ctrl-C or hang-up is not for it
                    env=env,
                )
        except BaseException:
            shell_end.close()
            raise
        finally:
            server_end.close()
        self.pid = self._proc.pid
        self._sock = shell_end
        self._lock = threading.Lock()
        self._jobs: dict[int, ForkedJob] = {}  # by request number, until reaped
        self._requests = itertools.count(1)
        self._settled = threading.Event()  # it said "ready", or it is gone
        self._gone = False
        threading.Thread(target=self._read, name="bgshell-forkserver", daemon=True).start()

    @property
    def alive(self) -> bool:
        """Ready to fork jobs, as far as the shell knows."""
        return self._settled.is_set() and not self._gone

    def wait_ready(self, timeout: float) -> bool:
        """True once the server is ready; False if it died or did not get ready in time."""
        self._settled.wait(timeout)
        return self.alive

    def start_job(self) -> ForkedJob:
        """Ask the server to fork a process for a job, in a session of its own.

        Does not wait for it: ``ForkedJob.wait_forked`` does, so a burst of jobs is
        forked while the jobs are still being submitted.  OSError if the server is
        known to be gone or cannot be written to.
        """
        out_r, out_w = os.pipe()
        result_r, result_w = os.pipe()
        input_r, input_w = os.pipe()
        job = ForkedJob(out_r, result_r, input_w, self)
        try:
            with self._lock:
                if self._gone:
                    raise OSError("the fork server is gone")
                request = next(self._requests)
                self._jobs[request] = job
                try:
                    socket.send_fds(self._sock, [b"%d" % request], [out_w, result_w, input_r], socket.MSG_NOSIGNAL)
                except OSError:
                    del self._jobs[request]
                    raise
        except OSError:
            job.discard()
            raise
        finally:
            for fd in (out_w, result_w, input_r):
                os.close(fd)
        return job

    def stop(self) -> None:
        """Stop the server now.  Jobs it forked are in sessions of their own and go on."""
        with self._lock:
            if self._gone:
                return
            # Its own process group: the server, and a child not yet in its own session.
            signal_group(self.pid, signal.SIGKILL)
            try:
                self._sock.shutdown(socket.SHUT_RDWR)  # ends the reader's recv
            except OSError:
                pass

    def _read(self) -> None:
        leave_signals_to_main()
        try:
            while message := self._sock.recv(256):
                self._dispatch(message.split())
        except (OSError, ValueError, IndexError):
            pass
        with self._lock:
            self._gone = True
            jobs, self._jobs = list(self._jobs.values()), {}
            self._sock.close()
        self._settled.set()
        for job in jobs:
            job._lost()
        self._proc.wait()  # the server ended or is about to: reap it

    def _dispatch(self, words: list[bytes]) -> None:
        if words[0] == b"ready":
            self._settled.set()
            return
        kind, request, number = words[0], int(words[1]), int(words[2])
        with self._lock:
            job = self._jobs.pop(request, None) if kind == b"exited" else self._jobs.get(request)
        if job is None:
            return
        if kind == b"forked":
            job._forked(number)
        else:
            job._exited(number)
