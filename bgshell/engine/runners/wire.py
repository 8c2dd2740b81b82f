"""How a process job travels between the shell and its process: framed messages.

Each message is a 4-byte big-endian length, then that many bytes.  A job's input
pipe carries two of them, written by the shell (``send_job``) and read in the job's
process (``receive_job``):

1. a stdlib pickle of ``{"cwd": ..., "path": [...], "env": {...}}``, applied before
   anything else is unpickled, so that modules the job names import from the
   shell's current directory and ``sys.path``;
2. the job's payload (see ``payload``), still pickled.

The job's process answers with one message on its result pipe (see ``child``).
This module is imported by the fork server and every job's process: stdlib only.
"""

from __future__ import annotations

import os
import pickle
import struct
import sys
from typing import BinaryIO

__all__ = ["read_message", "write_message", "unframe", "message_complete", "send_job", "receive_job"]

_HEADER = struct.Struct(">I")


def read_message(stream: BinaryIO) -> bytes | None:
    """The next message on *stream*, or None if it ends before a whole one."""
    head = stream.read(_HEADER.size)
    if len(head) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(head)
    data = stream.read(size)
    return data if len(data) == size else None


def write_message(fd: int, data: bytes) -> None:
    """Write *data* as one message on *fd*, all of it."""
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def unframe(data: bytes) -> bytes | None:
    """The one message at the start of *data*, or None if it is incomplete."""
    if len(data) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack_from(data)
    end = _HEADER.size + size
    return data[_HEADER.size:end] if len(data) >= end else None


def message_complete(data: bytes | bytearray) -> bool:
    """True once *data* holds a whole message (without copying it)."""
    if len(data) < _HEADER.size:
        return False
    (size,) = _HEADER.unpack_from(data)
    return len(data) >= _HEADER.size + size


def send_job(fd: int, payload: bytes) -> None:
    """In the shell: write the shell's setup (taken now, so it is never stale) and
    the payload to a job's input pipe."""
    setup = {"cwd": os.getcwd(), "path": list(sys.path), "env": dict(os.environ)}
    write_message(fd, pickle.dumps(setup))
    write_message(fd, payload)


def receive_job(stream: BinaryIO) -> bytes | None:
    """In the job's process: read the setup and apply it, then read the payload (not
    unpickled yet: the setup must be in place first).  None if the input ended
    before a whole job."""
    header = read_message(stream)
    if header is None:
        return None
    setup = pickle.loads(header)
    os.chdir(setup["cwd"])
    sys.path[:] = setup["path"]
    os.environ.clear()
    os.environ.update(setup["env"])
    return read_message(stream)
