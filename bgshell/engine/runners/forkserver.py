"""The fork server: ``python -m`` this module ``SOCKET_FD``.

Why it exists: a fresh interpreter costs 25-40 ms of CPU to start, so a burst of
process jobs queued behind one start each; ``fork`` of an interpreter that has
already imported what a job needs costs about a millisecond.  The shell itself
must never fork: it runs threads, and a forked copy of a threaded process can inherit
a lock some other thread held and hang on it.  So the shell starts this program once,
with fork+exec, and this program forks one child per job.  It is safe to fork
because it never starts a thread and never runs user code: it does not even read the
job, which goes from the shell straight to the child on a pipe of its own.

Protocol on SOCKET_FD, an AF_UNIX ``SOCK_SEQPACKET`` socket (one message per packet,
numbers in ASCII):

* to the shell, once: ``ready``: every module a job needs is imported;
* from the shell: ``REQUEST`` with three fds attached: the write end of the job's
  output pipe (the child's fds 1 and 2), the write end of its result pipe and the
  read end of its input pipe (see ``child`` for what travels on those);
* to the shell, sent by the forked child once it has a session of its own (so a
  signal to its process group cannot miss it): ``forked REQUEST PID``;
* to the shell, when the server has reaped that child: ``exited REQUEST STATUS``, a
  raw wait status (only a parent can wait for a process; the shell is not this
  child's parent).

End of file on the socket (the shell left or died) ends the server.  The jobs it
forked are not its to stop: each has its own session, and the shell kills them.

A forked job ends as any program does (``main`` returns: threads joined, ``atexit``
handlers run, every object finalised).  That teardown is most of a short job's cost
here, ~8 ms, as each object it writes to is a page copied from the server; ``gc.freeze``
halves it.  Forked jobs share the server's string-hash seed, as forked children do.
"""

from __future__ import annotations

import gc
import os
import select
import signal
import socket
import sys
from types import FrameType
from typing import NamedTuple

from bgshell.engine.runners import child  # loads cloudpickle, so no job pays for it
from bgshell.engine.runners.wire import receive_job


class JobFds(NamedTuple):
    """The pipes a forked child works with (after fds 1 and 2 were set up)."""

    result: int
    input: int


def _on_sigchld(signum: int, frame: FrameType | None) -> None:
    """Nothing to do here: the signal's byte on the wakeup fd wakes the loop."""


def serve(sock: socket.socket) -> JobFds | None:
    """Fork a child for each request until the shell goes away (then None).

    Returns in a forked child only, with the job's pipes: the caller runs the job
    and the interpreter exits as any program does (threads the job left joined,
    ``atexit`` handlers run, buffers flushed).
    """
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, _on_sigchld)
    signal.set_wakeup_fd(wake_w)
    children: dict[int, int] = {}  # pid -> request number
    poller = select.poll()  # holds no fd of its own for a child to inherit
    poller.register(wake_r, select.POLLIN)
    poller.register(sock, select.POLLIN)
    # Leave what is loaded now out of the collector's walks, in the server and in its
    # children: a walk writes to every object it visits, and in a child each write
    # copies a page the server shares with it.
    gc.freeze()
    sock.send(b"ready")
    while True:
        for fd, _ in poller.poll():
            if fd == wake_r:
                _drain(wake_r)
                if not _reap(sock, children):
                    return None
                continue
            try:
                message, fds, _, _ = socket.recv_fds(sock, 64, 3)
            except OSError:
                return None
            if not message:
                return None
            if len(fds) != 3 or not message.isdigit():
                _close_all(fds)
                continue
            request = int(message)
            pid = os.fork()
            if pid == 0:
                return _become_job(sock, request, fds, (wake_r, wake_w))
            children[pid] = request
            _close_all(fds)


def _become_job(sock: socket.socket, request: int, fds: list[int], server_fds: tuple[int, int]) -> JobFds:
    """In a forked child: leave the server's ways behind and take the job's pipes."""
    output, result, job_input = fds
    os.setsid()  # its own session and process group: killpg reaches all it starts
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    _close_all(server_fds)
    os.dup2(output, 1)
    os.dup2(output, 2)
    os.close(output)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    # Not for what the job starts: a process it leaves running must not hold the
    # result pipe open, or the shell would not see this one end.
    os.set_inheritable(result, False)
    os.set_inheritable(job_input, False)
    try:
        sock.send(b"forked %d %d" % (request, os.getpid()))
    except OSError:  # the shell is gone: there is nobody to run the job for
        os._exit(1)
    sock.close()
    return JobFds(result, job_input)


def _reap(sock: socket.socket, children: dict[int, int]) -> bool:
    """Wait for every child that has ended and report it; False if the shell is gone."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return True
        if pid == 0:
            return True
        request = children.pop(pid, None)
        if request is None:
            continue
        try:
            sock.send(b"exited %d %d" % (request, status))
        except OSError:
            return False


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except BlockingIOError:
        pass


def _close_all(fds: list[int] | tuple[int, ...]) -> None:
    for fd in fds:
        os.close(fd)


def main() -> None:
    sock = socket.socket(fileno=int(sys.argv[1]))
    job = serve(sock)
    if job is None:
        return
    with os.fdopen(job.input, "rb") as stream:
        data = receive_job(stream)
    if data is not None:
        child.run_job(data, job.result)


if __name__ == "__main__":
    main()
