"""Process jobs: each job runs in a separate Python process of its own.

What that buys over a thread: no GIL shared with the prompt, everything the job
writes to fds 1 and 2 (C code and subprocesses too) is captured, and ``kill`` always
works: SIGTERM to the job's process group, then SIGKILL after a grace period, so no
process the job started is left behind.

How it starts fast without the shell ever calling ``fork`` (unsafe in a threaded
program, deprecated there since 3.12): the shell starts one *fork server* ahead of
time (the ``forkserver`` module, started with a fresh ``exec``), a single-threaded
interpreter that has imported what jobs need and forks a child for each job, in
about a millisecond, so a burst of jobs does not queue behind interpreter
starts (see ``forkserver`` and ``forkclient``).  When the server is not ready (the
first job, or the server died), the job gets a dedicated interpreter (the ``child``
module, like multiprocessing's "spawn") and a server is started
behind it.  Either way the job's process has a session of its own, its output on a
pipe the shell reads and its outcome on another.

A job is sent with cloudpickle, so functions and lambdas defined at the prompt work:
the names the code uses are looked up in the shell and shipped by value (modules by
reference).  Names the job binds come back with its result and land in the shell's
namespace when it ends.  The shell's current directory, ``sys.path`` and environment
are sent along with each job, so a server started earlier is never stale.
"""

from __future__ import annotations

import os
import selectors
import signal
import threading
from typing import Any, Union

from bgshell.engine.runners import payload as payloads
from bgshell.engine.runners.forkclient import ForkedJob, ForkServer
from bgshell.engine.runners.jobprocess import (
    DedicatedInterpreter,
    OutputCopier,
    describe_exit,
    interpreter_env,
)
from bgshell.engine.runners.wire import message_complete, unframe
from bgshell.engine.sigmask import leave_signals_to_main
from bgshell.engine.states import JobKilled, JobState

__all__ = ["ProcessRunner", "ProcessJobError", "GRACE_SECONDS"]

#: Between SIGTERM and SIGKILL when a process job is killed.
GRACE_SECONDS = 1.0
#: Longest a fork server may take to get ready before it is given up on.
SERVER_START_SECONDS = 30.0
#: Longest a job waits for a ready server to fork its process; then the server is
#: stopped (it hangs) and the job gets an interpreter of its own.
FORK_TIMEOUT_SECONDS = 5.0


class ProcessJobError(RuntimeError):
    """A process job could not be sent, or ended without sending its outcome back, or
    raised an exception the shell cannot rebuild (its message and traceback kept)."""


class RemoteError(ProcessJobError):
    """Stands in for an exception a process job raised that the shell cannot rebuild:
    a class of the same name (made for it), with the same message."""


#: What runs a job: a process forked by the server, or a dedicated interpreter.
_JobProcess = Union[ForkedJob, DedicatedInterpreter]


class ProcessRunner:
    """Starts each job in its own process, forked by a fork server when one is ready."""

    kind = "process"

    def __init__(self, grace_seconds: float | None = None) -> None:
        self.grace_seconds = GRACE_SECONDS if grace_seconds is None else grace_seconds
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # a server start has ended
        self._server: ForkServer | None = None  # ready
        self._new_server: ForkServer | None = None  # started, not ready yet
        self._starting = False
        self._closed = False  # after shutdown(): no more servers
        self.prewarm()

    # -- the fork server ----------------------------------------------------------------
    def prewarm(self) -> None:
        """Start a fork server in the background unless one is ready or starting."""
        with self._lock:
            if self._closed or self._starting or (self._server is not None and self._server.alive):
                return
            self._starting = True
        threading.Thread(target=self._start_server, name="bgshell-forkserver-start", daemon=True).start()

    def _start_server(self) -> None:
        leave_signals_to_main()
        try:
            server: ForkServer | None = ForkServer(interpreter_env())
        except OSError:
            server = None
        with self._lock:
            self._new_server = server  # shutdown() stops it too while it gets ready
            closed = self._closed
        if server is not None and (closed or not server.wait_ready(SERVER_START_SECONDS)):
            server.stop()
            server = None
        with self._lock:
            self._starting = False
            self._new_server = None
            if server is not None and not self._closed:
                server, self._server = self._server, server  # a dead one, if any, goes
            self._changed.notify_all()
        if server is not None:
            server.stop()

    def wait_ready(self, timeout: float) -> bool:
        """Wait until a fork server is ready (starting one if needed); False if none is."""
        self.prewarm()
        with self._lock:
            self._changed.wait_for(lambda: not self._starting, timeout)
            return self._server is not None and self._server.alive

    @property
    def server_pid(self) -> int | None:
        """The fork server's pid while it is ready, else None."""
        server = self._server
        return server.pid if server is not None and server.alive else None

    def shutdown(self) -> None:
        """Stop the fork server now (and start no other).  Jobs it forked go on: the
        shell stops those with ``kill``."""
        with self._lock:
            servers = (self._server, self._new_server)
            self._server = None
            self._closed = True
        for server in servers:
            if server is not None:
                server.stop()

    def _launch(self) -> _JobProcess:
        """A process for the next job: forked by the server if it is ready, else a
        dedicated interpreter (and a server is started for the jobs after it)."""
        server = self._server
        if server is not None and server.alive:
            try:
                return server.start_job()
            except OSError:
                pass
        self.prewarm()
        return DedicatedInterpreter()

    # -- jobs -----------------------------------------------------------------------------
    def start(self, job: Any) -> None:
        try:
            packed = payloads.pack(job.describe_work())
        except payloads.PayloadError as exc:
            if job.set_running(None):
                job.set_exception(exc, tb_text=f"{type(exc).__name__}: {exc}\n")
            return
        child = self._launch()
        if not job.set_running(child):
            child.discard()
            return
        if child.pid is not None:
            job.add_process_group(child.pid)
        threading.Thread(
            target=self._watch, args=(job, child, packed), name="bgshell-process-job", daemon=True
        ).start()

    def _deliver(self, job: Any, child: _JobProcess, packed: bytes) -> _JobProcess | None:
        """Send the job to its process once that exists; None if the job ended instead.

        A fork server that went away before forking the process loses no job: it
        gets an interpreter of its own.  A job killed before it was sent is not sent.
        """
        if isinstance(child, ForkedJob) and not child.wait_forked(FORK_TIMEOUT_SECONDS):
            child.discard()
            self.prewarm()
            try:
                child = DedicatedInterpreter()
            except OSError as exc:
                job.set_exception(ProcessJobError(f"could not start a process for the job: {exc}"))
                return None
            job.set_handle(child)
        if isinstance(child, ForkedJob) and child.pid is not None:
            job.add_process_group(child.pid)
        if job.state is not JobState.RUNNING:
            child.discard()
            job.set_exception(JobKilled("killed before it started"))
            return None
        try:
            child.send(packed)
        except OSError as exc:
            child.signal_group(signal.SIGKILL)
            child.discard()
            if job.state is JobState.KILLING:  # killed as it was being sent
                job.set_exception(JobKilled("killed before it started"))
            else:
                job.set_exception(ProcessJobError(f"could not send the job to its process: {exc}"))
            return None
        return child

    def _watch(self, job: Any, child: _JobProcess, packed: bytes) -> None:
        """Send the job, then copy the child's output into the job while waiting for
        its outcome.

        The job ends when its own process ends, whatever it started: a process it
        left running (even a fork of itself, which holds the result pipe too) does
        not keep it Running, and its later output keeps flowing into the job's
        output after the job has ended.
        """
        leave_signals_to_main()
        delivered = self._deliver(job, child, packed)
        if delivered is None:
            return
        child = delivered
        output = OutputCopier(job, child.output_fd)
        result = _read_outcome(child, output)
        os.close(child.result_fd)
        returncode = child.wait()
        output.copy_buffered()  # what the child wrote before it exited
        message = unframe(bytes(result))
        killed = job.state is JobState.KILLING
        if killed:
            child.signal_group(signal.SIGKILL)  # anything the job left in its group
        self._end(job, message, returncode, killed)
        output.copy_to_end()
        child.close_output()

    @staticmethod
    def _end(job: Any, message: bytes | None, returncode: int | None, killed: bool) -> None:
        """End *job* from what its process sent back (None: nothing) and how it exited."""
        if message is None:
            if killed:
                job.set_exception(JobKilled(f"the process was stopped ({describe_exit(returncode)})"))
            else:
                error = ProcessJobError(f"the job's process ended without a result ({describe_exit(returncode)})")
                job.set_exception(error, tb_text=f"{type(error).__name__}: {error}\n")
            return
        import cloudpickle

        try:
            outcome = cloudpickle.loads(message)
        except BaseException as exc:
            error = ProcessJobError(f"the job's outcome could not be read in the shell: {type(exc).__name__}: {exc}")
            job.set_exception(error, tb_text=f"{type(error).__name__}: {error}\n")
            return
        payloads.land(job, outcome, killed=killed, stand_in=RemoteError)

    def deliver(self, job: Any, handle: _JobProcess, signum: int) -> None:
        """SIGINT and SIGKILL go to the job's process group as they are; SIGTERM too,
        then SIGKILL after the grace period if the process is still there."""
        handle.signal_group(signum)
        if signum == signal.SIGTERM:
            timer = threading.Timer(self.grace_seconds, self._force, args=(handle,))
            timer.daemon = True
            timer.start()

    @staticmethod
    def _force(child: _JobProcess) -> None:
        if child.running():
            child.signal_group(signal.SIGKILL)


#: How often the watcher looks whether a job's process has ended without closing
#: its result pipe (a process it started holds it).
_EXIT_POLL_SECONDS = 0.25


def _read_outcome(child: _JobProcess, output: OutputCopier) -> bytes:
    """Copy the job's output while reading its outcome, until the whole message has
    come, the pipe closes, or the job's own process has ended."""
    result = bytearray()
    with selectors.DefaultSelector() as selector:
        selector.register(child.result_fd, selectors.EVENT_READ)
        selector.register(output.fd, selectors.EVENT_READ)
        while not message_complete(result):
            ready = {key.fd for key, _ in selector.select(_EXIT_POLL_SECONDS)}
            if output.fd in ready and not output.copy_some():
                selector.unregister(output.fd)
            if child.result_fd in ready:
                chunk = os.read(child.result_fd, 65536)
                if not chunk:
                    break
                result += chunk
            elif not ready and not child.running():
                result += _read_what_is_there(child.result_fd)  # written just before it ended
                break
    return bytes(result)


def _read_what_is_there(fd: int) -> bytes:
    """What *fd* holds now, without waiting: a process the job left behind may keep
    the pipe open, so its end of file cannot be waited for."""
    os.set_blocking(fd, False)
    data = bytearray()
    try:
        while chunk := os.read(fd, 65536):
            data += chunk
    except BlockingIOError:
        pass
    return bytes(data)

