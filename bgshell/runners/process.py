"""Process jobs: each job runs in a separate Python process of its own.

What that buys over a thread: no GIL shared with the prompt, everything the job
writes to fds 1 and 2 (C code and subprocesses too) is captured, and ``kill`` always
works: SIGTERM to the job's process group, then SIGKILL after a grace period, so no
process the job started is left behind.

How it starts fast without the shell ever calling ``fork`` (unsafe in a threaded
program, deprecated there since 3.12): the shell starts one *fork server* ahead of
time (``python -m bgshell.runners.forkserver``, a fresh ``exec``), a single-threaded
interpreter that has imported what jobs need and forks a child for each job, in
about a millisecond, so a burst of jobs does not queue behind interpreter
starts (see ``forkserver`` and ``forkclient``).  When the server is not ready (the
first job, or the server died), the job gets a dedicated interpreter (``python -m
bgshell.runners.child``, like multiprocessing's "spawn") and a server is started
behind it.  Either way the job's process has a session of its own, its output on a
pipe the shell reads and its outcome on another.

A job is sent with cloudpickle, so functions and lambdas defined at the prompt work:
the names the code uses are looked up in the shell and shipped by value (modules by
reference).  Names the job binds come back with its result and land in the shell's
namespace when it ends.  The shell's current directory, ``sys.path`` and environment
are sent along with each job, so a server started earlier is never stale.
"""

from __future__ import annotations

import codecs
import os
import selectors
import signal
import subprocess
import sys
import threading
import types
from typing import Any, Union

from bgshell.jobs import (
    BackgroundJobBase,
    BackgroundJobCode,
    BackgroundJobExpr,
    BackgroundJobFunc,
    JobKilled,
    JobState,
)
from bgshell.runners.child import send_job
from bgshell.runners.forkclient import ForkedJob, ForkServer

__all__ = ["ProcessRunner", "payload_for", "GRACE_SECONDS"]

#: Between SIGTERM and SIGKILL when a process job is killed.
GRACE_SECONDS = 1.0
#: Longest a fork server may take to get ready before it is given up on.
SERVER_START_SECONDS = 30.0
#: Longest a job waits for a ready server to fork its process; then the server is
#: stopped (it hangs) and the job gets an interpreter of its own.
FORK_TIMEOUT_SECONDS = 5.0

_PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class ProcessJobError(RuntimeError):
    """A process job could not be sent, or ended without sending its outcome back."""


def _names_used(code: types.CodeType | None) -> set[str]:
    if code is None:
        return set()
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names_used(const)
    return names


def _globals_for(codes: list[types.CodeType | None], *scopes: dict[str, Any]) -> dict[str, Any]:
    """The names *codes* use, with their values from *scopes* (later scopes win)."""
    used = set().union(*(_names_used(code) for code in codes))
    found: dict[str, Any] = {}
    for scope in scopes:
        for name in used:
            if name in scope and not name.startswith("__"):
                found[name] = scope[name]
    return found


def payload_for(job: BackgroundJobBase) -> tuple[Any, ...]:
    """Describe *job*'s work as a picklable payload for ``child.run_payload``."""
    if isinstance(job, BackgroundJobFunc):
        return ("call", job.func, job.args, job.kwargs)
    if isinstance(job, BackgroundJobCode):
        split = job.split
        names = _globals_for([split.body, split.last_expr], job.namespace)
        return ("code", split.body, split.last_expr, names)
    if isinstance(job, BackgroundJobExpr):
        return ("code", None, job.code, _globals_for([job.code], job.glob, job.loc))
    return ("call", job.call, (), {})


def _dumps(payload: tuple[Any, ...]) -> bytes:
    """cloudpickle *payload*; on failure name the value that cannot be sent."""
    import cloudpickle

    try:
        return cloudpickle.dumps(payload)
    except Exception as exc:
        culprit = ""
        if payload[0] == "code":
            for name, value in payload[3].items():
                try:
                    cloudpickle.dumps(value)
                except Exception:
                    culprit = f" (the value of {name!r})"
                    break
        raise ProcessJobError(
            f"cannot send the job to a process{culprit}: {type(exc).__name__}: {exc}"
        ) from None


def _interpreter_env() -> dict[str, str]:
    """The environment of an interpreter the shell starts: unbuffered output (a job's
    prints reach the shell as they happen), and bgshell importable from where it is."""
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_PARENT, env.get("PYTHONPATH", "")) if p)
    return env


class _Child:
    """A dedicated interpreter for one job (``python -m bgshell.runners.child``): the
    way a job starts when no fork server is ready."""

    def __init__(self) -> None:
        read_fd, write_fd = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bgshell.runners.child", str(write_fd)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                pass_fds=(write_fd,),
                start_new_session=True,  # its own process group: killpg reaches all it starts
                env=_interpreter_env(),
            )
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        self.result_fd = read_fd
        assert self.proc.stdout is not None
        self.output_fd = self.proc.stdout.fileno()

    def send(self, payload: bytes) -> None:
        stdin = self.proc.stdin
        assert stdin is not None
        try:
            send_job(stdin.fileno(), payload)
        finally:
            stdin.close()

    def signal_group(self, signum: int) -> None:
        try:
            os.killpg(self.proc.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass

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
        threading.Thread(target=self.proc.wait, daemon=True).start()


#: What runs a job: a process forked by the server, or a dedicated interpreter.
_JobProcess = Union[ForkedJob, _Child]


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
        try:
            server: ForkServer | None = ForkServer(_interpreter_env())
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
        return _Child()

    # -- jobs -----------------------------------------------------------------------------
    def start(self, job: BackgroundJobBase) -> None:
        try:
            payload = _dumps(payload_for(job))
        except ProcessJobError as exc:
            job._begin(None)
            job._finish(exception=exc, tb_text=f"{type(exc).__name__}: {exc}\n")
            return
        child = self._launch()
        if not job._begin(child):
            child.discard()
            job._finish(exception=JobKilled("killed before it started"), killed=True)
            return
        threading.Thread(
            target=self._watch, args=(job, child, payload), name="bgshell-process-job", daemon=True
        ).start()

    def _deliver(self, job: BackgroundJobBase, child: _JobProcess, payload: bytes) -> _JobProcess | None:
        """Send the job to its process once that exists; None if the job ended instead.

        A fork server that went away before forking the process loses no job: it
        gets an interpreter of its own.  A job killed before it was sent is not sent.
        """
        if isinstance(child, ForkedJob) and not child.wait_forked(FORK_TIMEOUT_SECONDS):
            child.discard()
            self.prewarm()
            try:
                child = _Child()
            except OSError as exc:
                job._finish(exception=ProcessJobError(f"could not start a process for the job: {exc}"))
                return None
            with job._lock:
                if job._state is JobState.RUNNING:
                    job._handle = child
        if job.state is not JobState.RUNNING:
            child.discard()
            job._finish(exception=JobKilled("killed before it started"), killed=True)
            return None
        try:
            child.send(payload)
        except OSError as exc:
            child.signal_group(signal.SIGKILL)
            child.discard()
            if job.state is JobState.KILLING:  # killed as it was being sent
                job._finish(exception=JobKilled("killed before it started"), killed=True)
            else:
                job._finish(exception=ProcessJobError(f"could not send the job to its process: {exc}"))
            return None
        return child

    def _watch(self, job: BackgroundJobBase, child: _JobProcess, payload: bytes) -> None:
        """Send the job, then copy the child's output into the job while waiting for
        its outcome.

        The outcome comes when the child exits (its result pipe closes), even if a
        process it started still holds fd 1 open: that one's later output keeps
        flowing into the job's output after the job has ended.
        """
        delivered = self._deliver(job, child, payload)
        if delivered is None:
            return
        child = delivered
        output = _OutputCopier(job, child.output_fd)
        result = bytearray()
        with selectors.DefaultSelector() as selector:
            selector.register(child.result_fd, selectors.EVENT_READ)
            selector.register(output.fd, selectors.EVENT_READ)
            while True:
                ready = {key.fd for key, _ in selector.select()}
                if output.fd in ready and not output.copy_some():
                    selector.unregister(output.fd)
                if child.result_fd in ready:
                    chunk = os.read(child.result_fd, 65536)
                    if not chunk:
                        break
                    result += chunk
        os.close(child.result_fd)
        returncode = child.wait()
        output.copy_buffered()  # what the child wrote before it exited
        message = _unframe(bytes(result))
        killed = job.state is JobState.KILLING
        if killed:
            child.signal_group(signal.SIGKILL)  # anything the job left in its group
        self._finish(job, message, returncode, killed)
        output.copy_to_end()
        child.close_output()

    @staticmethod
    def _finish(job: BackgroundJobBase, message: bytes | None, returncode: int | None, killed: bool) -> None:
        if message is None:
            if killed:
                job._finish(exception=JobKilled(f"the process was stopped ({_describe_exit(returncode)})"), killed=True)
            else:
                error = ProcessJobError(f"the job's process ended without a result ({_describe_exit(returncode)})")
                job._finish(exception=error, tb_text=f"{type(error).__name__}: {error}\n")
            return
        import cloudpickle

        try:
            outcome = cloudpickle.loads(message)
        except Exception as exc:
            error = ProcessJobError(f"the job's outcome could not be read in the shell: {type(exc).__name__}: {exc}")
            job._finish(exception=error, tb_text=f"{type(error).__name__}: {error}\n")
            return
        if outcome[0] == "ok":
            _, value, exports = outcome
            namespace = getattr(job, "namespace", None)
            if exports and isinstance(namespace, dict):
                namespace.update(exports)
            job._finish(value)
        else:
            _, exc, tb_text = outcome
            if exc is None:
                exc = ProcessJobError(tb_text.strip().splitlines()[-1] if tb_text.strip() else "the job failed")
            job._finish(exception=exc, tb_text=tb_text, killed=killed)

    def kill(self, job: BackgroundJobBase, force: bool = False) -> bool:
        with job._lock:
            if job._state is JobState.CREATED:
                job._state = JobState.KILLING
                return True
            if not job._request_kill() and not force:
                return False
            child = job._handle
        if child is None:
            return True
        if force:
            child.signal_group(signal.SIGKILL)
        else:
            child.signal_group(signal.SIGTERM)
            timer = threading.Timer(self.grace_seconds, self._force, args=(child,))
            timer.daemon = True
            timer.start()
        return True

    @staticmethod
    def _force(child: _JobProcess) -> None:
        if child.running():
            child.signal_group(signal.SIGKILL)


class _OutputCopier:
    """Moves bytes from a job's output pipe into ``job.output``, decoding UTF-8."""

    def __init__(self, job: BackgroundJobBase, fd: int) -> None:
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


def _unframe(data: bytes) -> bytes | None:
    """The one length-prefixed message in *data*, or None if it is incomplete."""
    if len(data) < 4:
        return None
    size = int.from_bytes(data[:4], "big")
    return data[4:4 + size] if len(data) >= 4 + size else None


def _describe_exit(returncode: int | None) -> str:
    if returncode is None:  # the fork server went away before it could say
        return "exit status unknown"
    if returncode < 0:
        try:
            return f"signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"signal {-returncode}"
    return f"exit status {returncode}"
