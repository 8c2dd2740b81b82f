"""What runs a process job, in whichever process runs it.

A job's process is either forked by the fork server (``bgshell.runners.forkserver``)
or, when no server is ready, a dedicated interpreter started for it alone: ``python
-m bgshell.runners.child RESULT_FD``, reading the job on its stdin.  Both speak the
same protocol, each message a 4-byte big-endian length then the bytes:

1. from the shell, on the job's input pipe: a stdlib pickle of ``{"cwd": ...,
   "path": [...], "env": {...}}``, applied before anything else is unpickled, so
   modules the job names import from the shell's current directory and ``sys.path``;
2. from the shell, on the same pipe: a cloudpickle of the job's payload (see
   ``process.payload_for``);
3. to the shell, on the result pipe: a cloudpickle of ``("ok", value, exports)`` or
   ``("error", exception_or_None, traceback_text)``.

The job's own output goes to fds 1 and 2, which the shell reads as the job's output.
End of input before a job arrives (the shell left, or killed the job before it
started) ends the process quietly.
"""

from __future__ import annotations

import os
import pickle
import struct
import sys
import traceback
from typing import Any, BinaryIO

import cloudpickle

_HEADER = struct.Struct(">I")


def read_message(stream: BinaryIO) -> bytes | None:
    head = stream.read(_HEADER.size)
    if len(head) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(head)
    data = stream.read(size)
    return data if len(data) == size else None


def write_message(fd: int, data: bytes) -> None:
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def send_job(fd: int, payload: bytes) -> None:
    """In the shell: write the shell's setup (taken now, so it is never stale) and
    the payload to a job's input pipe."""
    setup = {"cwd": os.getcwd(), "path": list(sys.path), "env": dict(os.environ)}
    write_message(fd, pickle.dumps(setup))
    write_message(fd, payload)


def receive_job(stream: BinaryIO) -> bytes | None:
    """Read the setup and apply it, then read the payload (not unpickled yet: the
    setup must be in place first).  None if the input ended before a whole job."""
    header = read_message(stream)
    if header is None:
        return None
    setup = pickle.loads(header)
    os.chdir(setup["cwd"])
    sys.path[:] = setup["path"]
    os.environ.clear()
    os.environ.update(setup["env"])
    return read_message(stream)


def run_job(data: bytes, result_fd: int) -> None:
    """Unpickle and run the payload, then write its outcome to *result_fd*."""
    try:
        payload = cloudpickle.loads(data)
        value, exports = run_payload(payload)
        outcome: tuple[Any, ...] = ("ok", value, exports)
    except BaseException as exc:  # SystemExit included: the job ends, it reports why
        outcome = ("error", exc, _format(exc))
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        message = cloudpickle.dumps(outcome)
    except Exception as exc:
        if outcome[0] == "ok":
            problem = RuntimeError(f"the job's value (or a name it bound) could not be sent back to the shell: {exc}")
            message = cloudpickle.dumps(("error", problem, f"{type(problem).__name__}: {problem}\n"))
        else:  # the exception itself does not pickle: send its text
            message = cloudpickle.dumps(("error", None, outcome[2]))
    write_message(result_fd, message)


def run_payload(payload: tuple[Any, ...]) -> tuple[Any, dict[str, Any]]:
    """Execute a payload; return (value, names to send back to the shell)."""
    what = payload[0]
    if what == "call":
        _, func, args, kwargs = payload
        return _settle(func(*args, **kwargs)), {}
    if what == "code":
        _, body, last_expr, namespace = payload
        sent = dict(namespace)
        namespace.setdefault("__builtins__", __builtins__)
        namespace.setdefault("__name__", "__main__")
        if body is not None:
            exec(body, namespace)
        value = _settle(eval(last_expr, namespace) if last_expr is not None else None)
        # What the code bound or rebound goes back to land in the shell's namespace.
        exports = {
            name: obj
            for name, obj in namespace.items()
            if not name.startswith("__") and (name not in sent or sent[name] is not obj)
        }
        return value, exports
    raise ValueError(f"unknown payload {what!r}")


async def _await(awaitable: Any) -> Any:
    return await awaitable


def _settle(value: Any) -> Any:
    """An awaitable value (``fetch(url) &:process``) is run to its end here."""
    if hasattr(type(value), "__await__"):
        import asyncio

        return asyncio.run(_await(value))
    return value


def _format(exc: BaseException) -> str:
    tb = exc.__traceback__
    # Leave out this module's own frames: the user's code starts after them.
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


def main() -> None:
    """A dedicated interpreter: the job on stdin, its outcome on fd RESULT_FD."""
    result_fd = int(sys.argv[1])
    # Not for what the job starts: a process it leaves running must not hold the
    # result pipe open, or the shell would not see this process end.
    os.set_inheritable(result_fd, False)
    data = receive_job(sys.stdin.buffer)
    if data is not None:
        run_job(data, result_fd)


if __name__ == "__main__":
    main()
