"""The worker's half of a cluster job: what runs inside a dask worker process.

A cluster's workers need not have bgshell installed, so this module never travels
by import: ``clustership`` sends its source, with ``work``'s, and the first job in
each worker process executes both into modules of their own (named after a hash
of the sources, so two versions of bgshell on one cluster never mix).  From then
on the module's globals are the process's state, shared by every job there.  It
imports only the standard library, ``cloudpickle`` and ``distributed``.

What a job does here, beyond running its work (``work.run``):

* *started*: once its thread is registered, it tells the shell through a worker
  event on the session's topic, so the shell shows Running only when code runs;
* *output*: ``sys.stdout`` and ``sys.stderr`` are routed by thread, so what the job
  prints goes to the job, in chunks sent as events (the first at once, then at
  most every ``COALESCE_SECONDS``), never to the worker's log;
* *ended*: a small outcome is sent as an event too, so the shell need not fetch it;
* *kill*: ``interrupt`` (called through ``client.run`` on the worker's event loop)
  raises an exception in the job's thread at its next Python instruction, only
  while the job's code runs (under ``_lock``), and a kill that arrives before the
  job started here keeps it from starting.  As in the shell's thread runner, a kill
  that lands as the code returns is absorbed, so it never hits the worker's next
  task.
"""

from __future__ import annotations

import collections
import ctypes
import os
import sys
import threading
import time
from types import FrameType
from typing import Any

if "work" not in globals():  # shipped, the loader has put the work module here already
    from bgshell.engine.runners import work

__all__ = ["run", "interrupt", "exit_process", "JobKilled"]

#: Characters in one output event at most (the scheduler keeps 1,000 events a topic).
CHUNK = 16_384
#: After an output event is sent, more output is gathered for this long.
COALESCE_SECONDS = 0.02
#: An outcome up to this size also travels as an event, which reaches the shell as
#: soon as the task's end does: no round trip to fetch it (most jobs' values are small).
INLINE_OUTCOME = 16_384


class JobKilled(BaseException):
    """Raised in a job's thread by ``interrupt``: not an ``Exception``, so the job's own
    ``except Exception:`` cannot swallow it."""


_raise_async = ctypes.pythonapi.PyThreadState_SetAsyncExc
_raise_async.argtypes = (ctypes.c_ulong, ctypes.py_object)

_lock = threading.Lock()
_running: dict[str, int] = {}  # job id -> thread ident, only while the job's code may run
_interrupted: dict[str, str] = {}  # job id -> what was raised in it ("kill", "interrupt")
_refused: collections.deque[str] = collections.deque(maxlen=65_536)  # killed before they started here
_over: collections.deque[str] = collections.deque(maxlen=65_536)  # recently ended here
_sources_in_use: collections.Counter[str] = collections.Counter()
_outputs: dict[int, _Output] = {}  # thread ident -> the output of the job it runs
_EXCEPTIONS = {"kill": JobKilled, "interrupt": KeyboardInterrupt}


# -- output ---------------------------------------------------------------------------
class _Output:
    """One job's unsent output, and how many chunks of it have been sent."""

    def __init__(self, job_id: str, topic: str, worker: Any) -> None:
        self.job_id, self.topic, self.worker = job_id, topic, worker
        self.parts: list[str] = []
        self.sent = 0
        self.lock = threading.Lock()

    def add(self, text: str) -> None:
        with self.lock:
            first = not self.parts
            self.parts.append(text)
        if first:
            _flusher.wake(self)

    def send(self) -> int:
        """Send what is held as events; return how many chunks were sent in all."""
        with self.lock:  # the flusher and the job's own last send never interleave
            text, self.parts = "".join(self.parts), []
            for start in range(0, len(text), CHUNK):
                self.sent += 1
                message = {"bgshell": "out", "job": self.job_id, "seq": self.sent, "t": text[start:start + CHUNK]}
                self.worker.log_event(self.topic, message)
            return self.sent


class _Flusher:
    """The thread that sends jobs' output: the first write at once, then in batches."""

    def __init__(self) -> None:
        self.pending: set[_Output] = set()
        self.changed = threading.Condition()
        self.thread: threading.Thread | None = None

    def wake(self, output: _Output) -> None:
        with self.changed:
            self.pending.add(output)
            if self.thread is None:
                self.thread = threading.Thread(target=self.loop, name="bgshell-output", daemon=True)
                self.thread.start()
            self.changed.notify()

    def discard(self, output: _Output) -> None:
        with self.changed:
            self.pending.discard(output)

    def loop(self) -> None:
        while True:
            with self.changed:
                while not self.pending:
                    self.changed.wait()
                batch, self.pending = self.pending, set()
            for output in batch:
                try:
                    output.send()
                except Exception:  # the worker is closing: nobody to send to
                    pass
            time.sleep(COALESCE_SECONDS)


_flusher = _Flusher()


class _Router:
    """``sys.stdout``/``sys.stderr`` of the worker: a thread running a job writes to the
    job's output, any other thread to the stream that was there (the worker's log)."""

    def __init__(self, passthrough: Any) -> None:
        self.passthrough = passthrough

    def write(self, text: str) -> int:
        output = _outputs.get(threading.get_ident())
        if output is None:
            return self.passthrough.write(text)
        output.add(str(text))
        return len(text)

    def flush(self) -> None:
        if threading.get_ident() not in _outputs:
            self.passthrough.flush()

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.passthrough, name)


def _route_output() -> None:
    """Put a router in front of ``sys.stdout`` and ``sys.stderr`` unless one is there.

    Checked at every job: something may have replaced the stream since (a worker in
    the shell's own process shares it with the shell), and a stream that wraps the
    router (exposing it as ``passthrough``) keeps it working.
    """
    with _lock:
        for name in ("stdout", "stderr"):
            stream, hops = getattr(sys, name), 0
            while stream is not None and not isinstance(stream, _Router) and hops < 8:
                stream, hops = getattr(stream, "passthrough", None), hops + 1
            if not isinstance(stream, _Router):
                setattr(sys, name, _Router(getattr(sys, name)))


# -- kill ---------------------------------------------------------------------------------
def interrupt(job_ids: list[str], how: str = "kill") -> dict[str, str]:
    """Raise ``JobKilled`` (or, *how* ``"interrupt"``, ``KeyboardInterrupt``) in each job's
    thread; per job: ``"sent"``, ``"over"`` (it has ended here), or ``"not-running"`` (a
    kill is then kept, so that the job never starts here).  Runs on the worker's event
    loop through ``client.run``: it only flags, it never waits."""
    answers = {}
    with _lock:
        for job_id in job_ids:
            thread = _running.get(job_id)
            if thread is not None:
                _interrupted.setdefault(job_id, how)
                _raise_async(thread, _EXCEPTIONS[how])
                answers[job_id] = "sent"
            elif job_id in _over:
                answers[job_id] = "over"
            else:
                if how == "kill":
                    _refused.append(job_id)
                answers[job_id] = "not-running"
    return answers


def exit_process() -> None:
    """End this worker process at once (``kill -9``): its nanny, if any, starts another."""
    os._exit(1)


def _checkpoint() -> None:
    pass


def _stop_interrupts(job_id: str) -> str | None:
    """The job's code is over: no more interrupts; one sent but still pending is
    absorbed here.  What was sent (``"kill"``, ``"interrupt"``), if anything."""
    while True:
        try:
            with _lock:
                if _running.pop(job_id, None) is not None:
                    _over.append(job_id)
                sent = _interrupted.pop(job_id, None)
            if sent is not None:
                try:
                    _checkpoint()  # calling a function: a pending exception lands here
                except BaseException:
                    pass
            return sent
        except BaseException:  # one that landed before the try above
            continue


# -- the job ----------------------------------------------------------------------------
def run(job_id: str, packed: bytes, topic: str) -> bytes:
    """The task a cluster job is: run the packed work here and return its outcome,
    pickled, with the number of output chunks sent (``(outcome, chunks)``)."""
    from distributed import get_worker

    worker = get_worker()
    thread = threading.get_ident()
    _route_output()
    output = _outputs[thread] = _Output(job_id, topic, worker)
    try:
        worker.log_event(topic, {"bgshell": "started", "job": job_id, "worker": worker.address, "pid": os.getpid()})
        outcome = _guarded(job_id, packed, thread)
    finally:
        _outputs.pop(thread, None)
        _flusher.discard(output)
    try:
        sent = output.send()
    except Exception:
        sent = output.sent
    try:
        raw = work.dumps((outcome, sent))
    except BaseException as exc:  # a hostile __reduce__ may raise anything
        problem = RuntimeError(
            f"the job's value (or a name it bound) could not be sent back to the shell: {type(exc).__name__}: {exc}")
        raw = work.dumps((work.error_outcome(problem, _is_own), sent))
    if len(raw) <= INLINE_OUTCOME:  # after the output: events arrive in the order sent
        worker.log_event(topic, {"bgshell": "ended", "job": job_id, "outcome": raw})
    return raw


def _guarded(job_id: str, packed: bytes, thread: int) -> tuple[Any, ...]:
    """Run the job, interruptible only while its code runs; its outcome.

    The shell interrupts a job only once it has said it started, and a kill that
    comes before the registration here is kept (``_refused``), so it is never lost.
    """
    names: list[str] = []
    try:
        try:
            with _lock:
                _running[job_id] = thread
                if job_id in _refused:
                    raise JobKilled("killed before it started")
            value, exports = work.run(_unpack(packed, names))
        finally:
            while True:  # an interrupt may land on the way into the guard: run it again
                try:
                    sent = _stop_interrupts(job_id)
                    break
                except BaseException:
                    continue
    except BaseException as exc:  # SystemExit and KeyboardInterrupt too: never the worker's
        if isinstance(exc, JobKilled) or sent == "kill":
            return ("killed",)
        return work.error_outcome(exc, _is_own)
    finally:
        _drop_sources(names)
    return ("killed",) if sent == "kill" else ("ok", value, exports)


def _unpack(packed: bytes, names: list[str]) -> Any:
    """The work; the prompt's sources it came with are registered, their names added
    to *names*."""
    import cloudpickle

    unpacked, sources = cloudpickle.loads(packed)
    with _lock:
        _sources_in_use.update(list(sources))
        names.extend(sources)
    work.remember_sources(sources)
    return unpacked


def _drop_sources(names: list[str]) -> None:
    """Forget the sources of the prompt that no running job uses any more."""
    import linecache

    with _lock:
        _sources_in_use.subtract(names)
        for name in names:
            if _sources_in_use[name] <= 0:
                del _sources_in_use[name]
                linecache.cache.pop(name, None)


def _is_own(frame: FrameType) -> bool:
    """Frames of this module and of ``work``: the user's code starts after them."""
    return frame.f_globals is globals() or frame.f_globals is vars(work)
