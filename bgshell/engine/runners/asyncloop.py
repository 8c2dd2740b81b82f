"""The one asyncio loop that coroutine jobs and top-level ``await`` share, kept alive
whatever the coroutines on it do.

One loop serves every coroutine job and foreground ``await``, so tasks, locks and
connections made in one can be used by another, as in ``python -m asyncio``.  A bad
coroutine must not take it down:

* asyncio lets ``SystemExit`` and ``KeyboardInterrupt`` out of a task, which stops
  the loop; every awaitable runs inside a ``Stepper`` that catches them and hands
  them to its job (or to the foreground) as the task's outcome (``Contained``);
* a coroutine (or callback) that stops the loop anyway, or makes ``run_forever``
  raise, only makes it run again; if it raised, one line says so;
* a coroutine that never awaits cannot be cancelled (cancellation is delivered when
  it awaits); the ``Stepper`` knows when the loop thread is inside it, so a kill can
  then be delivered as an exception in the loop thread, exactly there;
* a coroutine that holds the loop (a busy loop, or ``time.sleep`` in a C call) for
  more than ``BLOCKED_SECONDS`` would hold up every other one: new coroutines and
  awaits then get a new loop (one line says so), and the old one goes on with its
  own tasks when it can.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
import types
from typing import Any, Awaitable, Callable, Generator

from bgshell.engine.sigmask import leave_signals_to_main, take_main_mask
from bgshell.engine.tracebacks import cut_before

__all__ = ["shared_loop", "call_soon", "submit", "thread_of", "condemn", "Stepper", "Contained", "run_foreground",
           "BLOCKED_SECONDS"]

#: A step of a coroutine longer than this holds the loop: the next user gets a new one.
BLOCKED_SECONDS = 1.0

_loop: asyncio.AbstractEventLoop | None = None
_loop_lock = threading.Lock()
#: The thread of each loop started here.
_threads: dict[asyncio.AbstractEventLoop, int] = {}
#: Loop thread -> when the coroutine step it is in now began (none: between steps).
_step_began: dict[int, float] = {}
#: Loop threads whose current step belongs to a job being killed: held already.
_condemned: set[int] = set()
#: Loops replaced by a new one, which end once their tasks have (see ``_retire``).
_retired: set[asyncio.AbstractEventLoop] = set()
#: How often a replaced loop looks whether its last task has ended (seconds).
RETIRED_POLL_SECONDS = 0.5


def shared_loop() -> asyncio.AbstractEventLoop:
    """The loop to use now: started in a daemon thread on first use, and replaced by a
    new one when a coroutine holds it (see ``BLOCKED_SECONDS``).  To hand it work, use
    ``call_soon`` or ``submit``: a loop that was replaced may end once idle."""
    with _loop_lock:
        return _current()


def call_soon(callback: Callable[[], Any]) -> asyncio.AbstractEventLoop:
    """Have the shared loop run *callback*; the loop it went to.  Choosing the loop and
    handing the callback over are one step under the lock, so nothing is ever handed
    to a loop after it was replaced (which could end before running it)."""
    with _loop_lock:
        loop = _current()
        loop.call_soon_threadsafe(callback)
    return loop


def submit(coroutine: Any) -> tuple[Any, asyncio.AbstractEventLoop]:
    """``run_coroutine_threadsafe`` on the shared loop, in one step as ``call_soon``:
    the future, and the loop it runs on."""
    with _loop_lock:
        loop = _current()
        return asyncio.run_coroutine_threadsafe(coroutine, loop), loop


def _current() -> asyncio.AbstractEventLoop:
    """(Under ``_loop_lock``.)  The loop, started or replaced as needed."""
    if _loop is None or _held(_loop):
        if _loop is not None:
            _say(f"a coroutine has held the asyncio loop for over {BLOCKED_SECONDS:g}s; "
                 "new coroutines run on a new loop")
            _retire(_loop)
        _start()
    assert _loop is not None
    return _loop


def _held(loop: asyncio.AbstractEventLoop) -> bool:
    thread = _threads.get(loop, 0)
    began = _step_began.get(thread)
    return began is not None and (thread in _condemned or time.monotonic() - began > BLOCKED_SECONDS)


def condemn(loop: asyncio.AbstractEventLoop) -> None:
    """The step *loop* is in now belongs to a job being killed that may not stop at
    once: do not wait for it, give the next user a new loop."""
    thread = _threads.get(loop)
    if thread is not None and thread in _step_began:
        _condemned.add(thread)


def thread_of(loop: asyncio.AbstractEventLoop) -> int | None:
    """The id of the thread that runs *loop* (a loop started here), or None."""
    return _threads.get(loop)


def _say(message: str) -> None:
    try:
        sys.__stderr__.write(f"bgshell: {message}\n")
    except (OSError, ValueError, AttributeError):
        pass


def _start() -> None:
    global _loop
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    threading.Thread(target=_serve, args=(loop, ready), name="bgshell-asyncio", daemon=True).start()
    ready.wait()
    _loop = loop


def _serve(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
    """Run *loop*: again after a ``stop()`` and after anything it raised, until it has
    been replaced and has nothing left to run; then close it, and the thread ends."""
    _threads[loop] = threading.get_ident()
    leave_signals_to_main()  # (a coroutine's step runs with the main thread's mask)
    asyncio.set_event_loop(loop)
    loop.call_soon(ready.set)
    while not loop.is_closed():
        try:
            loop.run_forever()
        except BaseException as exc:  # a callback's SystemExit, a stray kill...
            _say(f"the asyncio loop stopped ({type(exc).__name__}); it runs again")
            continue
        if loop in _retired:
            if not _busy(loop):
                break
            loop.call_soon(_end_when_idle, loop)  # stopped by a coroutine: keep watching
    _threads.pop(loop, None)
    _retired.discard(loop)
    if not loop.is_closed():
        loop.close()


def _retire(loop: asyncio.AbstractEventLoop) -> None:
    """*loop* was replaced: it runs the tasks it has to their end, then it and its
    thread end (a session that replaces many loops does not keep their threads)."""
    _retired.add(loop)
    loop.call_soon_threadsafe(_end_when_idle, loop)


def _end_when_idle(loop: asyncio.AbstractEventLoop) -> None:
    if _busy(loop):
        loop.call_later(RETIRED_POLL_SECONDS, _end_when_idle, loop)
    else:
        loop.stop()


def _busy(loop: asyncio.AbstractEventLoop) -> bool:
    """(In the loop's thread.)  Tasks, or callbacks or timers still to run: a task's
    done callbacks (which end its job) come after the task itself has finished.  The
    callback lists are asyncio's own (``BaseEventLoop``), read, never changed; a
    cancelled timer (a killed ``asyncio.sleep(100)``) stays in them until its time,
    and this module's own checks do not count."""
    pending = [*getattr(loop, "_ready", ()), *getattr(loop, "_scheduled", ())]
    return bool(asyncio.all_tasks(loop)) or any(
        not handle.cancelled() and getattr(handle, "_callback", None) is not _end_when_idle for handle in pending)


class Contained(Exception):
    """Carries a ``BaseException`` (``SystemExit``, ``KeyboardInterrupt``...) out of a
    task without asyncio re-raising it into the loop."""

    def __init__(self, inner: BaseException) -> None:
        super().__init__(inner)
        self.inner = inner


def uncontained(exc: BaseException) -> BaseException:
    """The exception a task really ended with."""
    return exc.inner if isinstance(exc, Contained) else exc


class Stepper:
    """Awaits *awaitable* one step at a time.

    Around each step it calls ``on_step(True)`` and ``on_step(False)`` (from the loop
    thread), so a runner knows when the loop thread is inside this coroutine.
    ``SystemExit`` and ``KeyboardInterrupt`` leave as ``Contained``.  The exception
    that ended the coroutine, ``CancelledError`` included, is kept in ``error``
    with the coroutine's frames, to show where it was.
    """

    __slots__ = ("_awaitable", "_on_step", "error", "_started")

    def __init__(self, awaitable: Awaitable[Any], on_step: Callable[[bool], None] | None = None) -> None:
        self._awaitable = awaitable
        self._on_step = on_step
        self.error: BaseException | None = None
        self._started = False

    def close_unstarted(self, task: Any = None) -> None:
        """(In the loop thread, once its task is done.)  A task cancelled before its first
        step never awaited the coroutine: close it, or Python warns, whenever it is
        collected, that it was "never awaited" (the user only killed it early)."""
        close = getattr(self._awaitable, "close", None)
        if not self._started and close is not None:
            close()

    def __await__(self) -> Generator[Any, Any, Any]:
        self._started = True
        steps = self._awaitable.__await__()
        value: Any = None
        thrown: BaseException | None = None
        while True:
            try:
                yielded = self._step(steps, value, thrown)
            except StopIteration as stop:
                return stop.value
            except (SystemExit, KeyboardInterrupt) as exc:
                self.error = exc
                raise Contained(exc) from None
            except BaseException as exc:
                self.error = exc
                raise
            try:
                value, thrown = (yield yielded), None
            except BaseException as exc:  # the task throws in (a cancellation)
                value, thrown = None, exc

    def _step(self, steps: Any, value: Any, thrown: BaseException | None) -> Any:
        on_step = self._on_step
        here = threading.get_ident()
        _step_began[here] = time.monotonic()
        if on_step is not None:
            on_step(True)
        take_main_mask()
        try:
            return steps.throw(thrown) if thrown is not None else steps.send(value)
        finally:
            leave_signals_to_main()
            _step_began.pop(here, None)
            _condemned.discard(here)
            if on_step is not None:
                on_step(False)


def run_foreground(awaitable: Awaitable[Any]) -> Any:
    """Run *awaitable* on the shared loop and wait for it (top-level ``await``).

    Its outcome is the shell's: ``sys.exit(4)`` inside it leaves the shell with 4.
    Ctrl-C cancels the task and raises ``KeyboardInterrupt`` here, with the frames
    of the user's code where it was waiting.
    """
    stepper = Stepper(awaitable)
    ended = threading.Event()
    future, loop = submit(_drive(stepper, ended))
    try:
        return future.result()
    except KeyboardInterrupt:
        future.cancel()  # (this future is cancelled at once; the task a moment later)
        _wait_for_cancellation(loop, ended)
        interrupt = KeyboardInterrupt()
        raise interrupt.with_traceback(_user_part(stepper.error) or _not_started(awaitable)) from None
    except BaseException as exc:
        inner = uncontained(exc)
        raise inner.with_traceback(_user_part(inner)) from None


#: How long Ctrl-C on a top-level await waits for the cancellation to go through the
#: user's frames (to show where it was), and how long a step of another coroutine may
#: hold the loop before that wait is given up (seconds).
CANCEL_PATIENCE, HELD_PATIENCE = 2.0, 0.1


def _wait_for_cancellation(loop: asyncio.AbstractEventLoop, ended: threading.Event) -> None:
    """Wait for the cancelled task to end, unless a coroutine holds the loop: then the
    prompt comes back at once (the task is cancelled whenever the loop is free)."""
    deadline = time.monotonic() + CANCEL_PATIENCE
    thread = _threads.get(loop, 0)
    while not ended.wait(0.02) and time.monotonic() < deadline:
        began = _step_began.get(thread)
        if began is not None and time.monotonic() - began > HELD_PATIENCE:
            return


async def _drive(stepper: Stepper, ended: threading.Event) -> Any:
    try:
        return await stepper
    finally:
        ended.set()


def _not_started(awaitable: Awaitable[Any]) -> Any:
    """A traceback at the first line of a coroutine that never ran (the loop was busy
    when Ctrl-C came): the user's line, as python3 shows for any interrupted input."""
    frame = getattr(awaitable, "cr_frame", None)
    if frame is None:
        return None
    return types.TracebackType(None, frame, max(frame.f_lasti, 0), frame.f_lineno or 1)


def _user_part(exc: BaseException | None) -> Any:
    """*exc*'s traceback in the user's code: after the stepper's own frames (before
    them are the frames that carried it back to this thread), and up to the stepper's
    frame where a cancellation was thrown in, if it ends there."""
    tb = None if exc is None else exc.__traceback__
    probe = tb
    while probe is not None and probe.tb_frame.f_code not in _OWN_CODES:
        probe = probe.tb_next
    tb = probe if probe is not None else tb
    while tb is not None and tb.tb_frame.f_code in _OWN_CODES:
        tb = tb.tb_next
    return cut_before(tb, _OWN_CODES)


_OWN_CODES = (Stepper.__await__.__code__, Stepper._step.__code__, _drive.__code__)
