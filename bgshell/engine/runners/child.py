"""What runs a process job, in whichever process runs it.

A job's process is either forked by the fork server (``forkserver``) or, when no
server is ready, a dedicated interpreter started for it alone: ``python -m`` this
module ``RESULT_FD``, reading the job on its stdin (see ``wire`` for what arrives
there).  Either way the outcome goes back as one framed message on the result pipe:
a pickle of ``("ok", value, exports)`` or ``("error", pickled_exception_or_None,
traceback_text, (type_name, message))``.  The exception is pickled on its own, so one that the
shell cannot rebuild (its ``__init__`` wants arguments pickle does not give it)
loses nothing else: its type's name, its message and its traceback text still
arrive.  The job's own output goes to fds 1 and 2, which the shell reads
as the job's output.  End of input before a job arrives (the shell left, or killed
the job before it started) ends the process quietly.
"""

from __future__ import annotations

import os
import sys
from types import FrameType
from typing import Any

import cloudpickle

from bgshell.engine.runners import work
from bgshell.engine.runners.wire import receive_job, write_message

__all__ = ["run_job", "main"]


def run_job(data: bytes, result_fd: int) -> None:
    """Unpickle and run the payload, then write its outcome to *result_fd*."""
    try:
        unpacked, sources = cloudpickle.loads(data)
        work.remember_sources(sources)
        value, exports = work.run(unpacked)
        outcome: tuple[Any, ...] = ("ok", value, exports)
    except BaseException as exc:  # SystemExit included: the job ends, it reports why
        outcome = work.error_outcome(exc, _is_own)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        message = work.dumps(outcome)
    except BaseException as exc:  # a hostile __reduce__ may raise anything, SystemExit too
        problem = RuntimeError(
            f"the job's value (or a name it bound) could not be sent back to the shell: {type(exc).__name__}: {exc}")
        message = work.dumps(work.error_outcome(problem, _is_own))
    write_message(result_fd, message)


def _is_own(frame: FrameType) -> bool:
    """The engine's own frames: the user's code starts after them."""
    return frame.f_code.co_filename in (__file__, work.__file__)


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
