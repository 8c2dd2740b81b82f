"""Process jobs: each job runs in a separate Python process of its own.

What that buys over a thread: no GIL shared with the prompt, everything the job
writes to fds 1 and 2 (C code and subprocesses too) is captured, and ``kill`` always
works: SIGTERM to the job's process group, then SIGKILL after a grace period, so no
process the job started is left behind.

How it starts fast without ``fork`` (unsafe in a threaded program, deprecated since
3.12): one *spare* interpreter is started ahead of time (``python -m
bgshell.runners.child``, a fresh ``exec`` like multiprocessing's "spawn"), waits on
its stdin, and is handed the next job; a new spare is started behind it at once.  A
job is sent with cloudpickle, so functions and lambdas defined at the prompt work:
the names the code uses are looked up in the shell and shipped by value (modules by
reference).  Names the job binds come back with its result and land in the shell's
namespace when it ends.  The shell's current directory, ``sys.path`` and environment
are sent along, so a spare started earlier is never stale.
"""

from __future__ import annotations

import codecs
import os
import pickle
import selectors
import signal
import subprocess
import sys
import threading
import types
from typing import Any

from bgshell.jobs import (
    BackgroundJobBase,
    BackgroundJobCode,
    BackgroundJobExpr,
    BackgroundJobFunc,
    JobKilled,
    JobState,
)
from bgshell.runners.child import write_message

__all__ = ["ProcessRunner", "payload_for", "GRACE_SECONDS"]

#: Between SIGTERM and SIGKILL when a process job is killed.
GRACE_SECONDS = 1.0

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


class _Child:
    """A started ``bgshell.runners.child`` process and its result pipe."""

    def __init__(self) -> None:
        read_fd, write_fd = os.pipe()
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_PARENT, env.get("PYTHONPATH", "")) if p)
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bgshell.runners.child", str(write_fd)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                pass_fds=(write_fd,),
                start_new_session=True,  # its own process group: killpg reaches all it starts
                env=env,
            )
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        self.result_fd = read_fd

    def send(self, payload: bytes) -> None:
        setup = {"cwd": os.getcwd(), "path": list(sys.path), "env": dict(os.environ)}
        stdin = self.proc.stdin
        assert stdin is not None
        fd = stdin.fileno()
        write_message(fd, pickle.dumps(setup))
        write_message(fd, payload)
        stdin.close()

    def signal_group(self, signum: int) -> None:
        try:
            os.killpg(self.proc.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass

    def discard(self) -> None:
        """Let an unused spare exit (it ends on end of input)."""
        try:
            if self.proc.stdin:
                self.proc.stdin.close()
        except OSError:
            pass
        os.close(self.result_fd)
        threading.Thread(target=self.proc.wait, daemon=True).start()


class ProcessRunner:
    """Starts each job in its own process, handing it to a warm spare when one is ready."""

    kind = "process"

    def __init__(self, grace_seconds: float | None = None) -> None:
        self.grace_seconds = GRACE_SECONDS if grace_seconds is None else grace_seconds
        self._lock = threading.Lock()
        self._spare: _Child | None = None
        self._warming = False
        self._closed = False  # after shutdown(): no more spares
        self.prewarm()

    # -- spares -------------------------------------------------------------------------
    def prewarm(self) -> None:
        """Start a spare interpreter in the background if there is none."""
        with self._lock:
            if self._spare is not None or self._warming or self._closed:
                return
            self._warming = True
        threading.Thread(target=self._make_spare, name="bgshell-spare", daemon=True).start()

    def _make_spare(self) -> None:
        try:
            child = _Child()
        except OSError:
            child = None
        with self._lock:
            self._warming = False
            if child is not None and not self._closed:
                child, self._spare = self._spare, child  # an older spare, if any, goes
        if child is not None:
            child.signal_group(signal.SIGKILL)
            child.discard()

    def shutdown(self) -> None:
        """Stop the spare interpreter now (and start no other)."""
        with self._lock:
            spare, self._spare = self._spare, None
            self._closed = True
        if spare is not None:
            spare.signal_group(signal.SIGKILL)
            spare.discard()

    def _take_child(self) -> _Child:
        with self._lock:
            child, self._spare = self._spare, None
        if child is None or child.proc.poll() is not None:
            if child is not None:
                child.discard()
            child = _Child()
        self.prewarm()
        return child

    # -- jobs -----------------------------------------------------------------------------
    def start(self, job: BackgroundJobBase) -> None:
        try:
            payload = _dumps(payload_for(job))
        except ProcessJobError as exc:
            job._begin(None)
            job._finish(exception=exc, tb_text=f"{type(exc).__name__}: {exc}\n")
            return
        child = self._take_child()
        if not job._begin(child):
            child.discard()
            job._finish(exception=JobKilled("killed before it started"), killed=True)
            return
        try:
            child.send(payload)
        except OSError as exc:
            child.signal_group(signal.SIGKILL)
            child.discard()
            job._finish(exception=ProcessJobError(f"could not send the job to its process: {exc}"))
            return
        threading.Thread(target=self._watch, args=(job, child), name="bgshell-process-job", daemon=True).start()

    def _watch(self, job: BackgroundJobBase, child: _Child) -> None:
        """Copy the child's output into the job while waiting for its outcome.

        The outcome comes when the child exits (its result pipe closes), even if a
        process it started still holds fd 1 open: that one's later output keeps
        flowing into the job's output after the job has ended.
        """
        stdout = child.proc.stdout
        assert stdout is not None
        output = _OutputCopier(job, stdout.fileno())
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
        returncode = child.proc.wait()
        output.copy_buffered()  # what the child wrote before it exited
        message = _unframe(bytes(result))
        killed = job.state is JobState.KILLING
        if killed:
            child.signal_group(signal.SIGKILL)  # anything the job left in its group
        self._finish(job, message, returncode, killed)
        output.copy_to_end()
        stdout.close()

    @staticmethod
    def _finish(job: BackgroundJobBase, message: bytes | None, returncode: int, killed: bool) -> None:
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
        if isinstance(child, _Child) and force:
            child.signal_group(signal.SIGKILL)
        elif isinstance(child, _Child):
            child.signal_group(signal.SIGTERM)
            timer = threading.Timer(self.grace_seconds, self._force, args=(child,))
            timer.daemon = True
            timer.start()
        return True

    @staticmethod
    def _force(child: _Child) -> None:
        if child.proc.poll() is None:
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


def _describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"signal {-returncode}"
    return f"exit status {returncode}"
