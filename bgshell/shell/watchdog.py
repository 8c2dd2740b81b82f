"""A watchdog process ends the shell on SIGTERM or SIGHUP when the shell cannot.

CPython runs a signal's Python handler in the main thread, between two bytecodes.
While any thread holds the GIL inside a long C call (a thread job summing
``range(10**11)``, or the foreground doing so), no handler runs: the shell would
outlive a SIGTERM or a closed terminal for as long as the call lasts, where python3
(which leaves these signals at their default) dies at once.

So, at start, the shell forks a watchdog (standard library only, no threads):

* the signal wakeup fd points at a pipe the watchdog reads: CPython's C-level
  handler writes each signal's number there even while the GIL is held elsewhere.
  The watchdog passes every byte on to a second pipe (``signals_fd``), which the
  line editor reads for Ctrl-Z, Ctrl-C and resizes, so nothing else changes;
* SIGTERM and SIGHUP go back to their default action once delivered
  (``SA_RESETHAND``).  When the shell's handler runs, it takes them again and
  leaves as always (``termination``), telling the watchdog so, with a heartbeat
  (none while a thread job holds the GIL in a C call: nor does the way out run);
* on SIGTERM or SIGHUP the watchdog wakes the shell's main thread at once with
  ``POKE`` (a signal whose handler does nothing): the kernel may have handed the
  signal to another thread (a thread job runs with python3's mask), and the main
  thread, asleep in ``time.sleep`` or waiting for the next input, would not run the
  handler until that call returned; interrupted, it runs it.  Then the watchdog
  gives the shell ``GRACE`` seconds to run its handler.  If it has not, the
  watchdog stops every process the shell started (their process groups too), puts
  the terminal back as it found it, and sends the signal again: the shell dies of
  it, as python3 would have.  A leaving shell whose heartbeat stops for
  ``SILENCE`` seconds, or that is still there after ``STUCK_EXIT``, gets the same
  care, the signal twice (its handlers are one-shot again: ``one_shot``), then
  SIGKILL;
* Ctrl-Z while code runs is the line editor's to act on (it prints ``[N] INPUT``
  and draws the prompt); when it has not within ``CTRL_Z_PATIENCE`` (the code holds
  the GIL inside a C call), the watchdog says why the prompt is late;
* the watchdog ends when the shell does (the end of a pipe only the shell holds).
  A shell that died of a second signal before its handler ran (a closed terminal
  sends SIGHUP more than once) has its processes stopped by the watchdog first:
  it noted them when the first signal came.
"""

from __future__ import annotations

import _thread
import contextlib
import ctypes
import os
import platform
import signal
import sys
import termios
import time

from bgshell.shell.watchdog_process import HEARTBEAT, POKE, TERMINATING, watch

__all__ = ["start", "signals_fd", "leaving", "ctrl_z_done", "stop", "keep_signals", "keeps_watch", "one_shot",
           "POKE"]

#: ``SA_RESETHAND`` on Linux: the disposition goes back to the default once delivered.
_SA_RESETHAND = 0x80000000

_wakeup_w = -1  # the shell's end of the wakeup pipe
_signals_r = -1  # where the forwarded signal numbers come out
_lifeline_w = -1  # the shell writes "leaving" here; closed, it tells the watchdog the shell ended
_pid = 0  # the watchdog's
_lifeline_lock, _beating = _thread.allocate_lock(), False  # the heartbeat writes on the lifeline too


def start() -> bool:
    """Fork the watchdog (once, from the main thread, before any other thread); False
    if it could not be started (the shell goes on without it)."""
    global _wakeup_w, _signals_r, _lifeline_w, _pid
    if _pid or sys.platform != "linux":
        return bool(_pid)
    try:
        wake_r, wake_w = os.pipe()
        fwd_r, fwd_w = os.pipe()
        life_r, life_w = os.pipe()
        terminal = _terminal_settings()
        pid = os.fork()
    except OSError:
        return False
    if pid == 0:  # the watchdog
        os.close(wake_w), os.close(fwd_r), os.close(life_w)
        watch(os.getppid(), wake_r, fwd_w, life_r, terminal)
    for fd in (wake_r, fwd_w, life_r):
        os.close(fd)
    for fd in (wake_w, fwd_r):
        os.set_blocking(fd, False)
    _wakeup_w, _signals_r, _lifeline_w, _pid = wake_w, fwd_r, life_w, pid
    os.register_at_fork(after_in_child=_forget)  # the user's os.fork(): a child is not the shell
    signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    for signum in TERMINATING:
        _reset_once_delivered(signum)
    return True


def signals_fd() -> int:
    """Where the signal numbers come out, for the line editor (-1 without a watchdog)."""
    return _signals_r


def keep_signals() -> bool:
    """From the main thread: point the wakeup fd at the watchdog again (the user's
    asyncio may have taken it).  False if there is no watchdog (any more: the user's
    code may have killed it), and the caller reads signals itself."""
    if not keeps_watch():
        return False
    with contextlib.suppress(ValueError):  # not the main thread
        signal.set_wakeup_fd(_wakeup_w, warn_on_full_buffer=False)
    return True


def keeps_watch() -> bool:
    """Whether the watchdog still runs (the user's code may have killed it)."""
    global _pid
    if not _pid or _lifeline_w < 0:
        return False
    try:
        if os.waitpid(_pid, os.WNOHANG)[0]:
            _pid = 0
    except ChildProcessError:  # reaped by the user's code
        _pid = 0
    return bool(_pid)


def leaving() -> None:
    """The shell's own SIGTERM/SIGHUP handler ran: it leaves by itself, with a heartbeat."""
    global _beating
    if _tell(b"L") and not _beating:
        _beating = True
        with contextlib.suppress(RuntimeError):  # no thread: the watchdog acts after SILENCE
            _thread.start_new_thread(_beat, ())  # not threading's: no waiting for it to start


def one_shot(signum: int) -> None:
    """*signum*'s handler, just set, is one-shot while a watchdog may need to end the shell."""
    if keeps_watch():
        _reset_once_delivered(signum)


def ctrl_z_done() -> None:
    """From the line editor: it acted on a Ctrl-Z (the watchdog need not say a word)."""
    _tell(b"Z")


def stop() -> None:
    """The shell ends normally: the watchdog ends too, and is waited for."""
    global _lifeline_w, _pid
    if _lifeline_w >= 0:
        with _lifeline_lock:  # not while the heartbeat writes: the number could be reused
            fd, _lifeline_w = _lifeline_w, -1
            with contextlib.suppress(OSError):
                os.write(fd, b"B")  # bye: what it started, it stopped
            os.close(fd)
    if _pid:
        try:
            os.waitpid(_pid, 0)
        except ChildProcessError:
            pass
        _pid = 0


def _forget() -> None:
    """In a child the user's code forked: what it says is not the shell's."""
    global _lifeline_w, _pid, _lifeline_lock
    _lifeline_w, _pid, _lifeline_lock = -1, 0, _thread.allocate_lock()


def _tell(what: bytes) -> bool:
    """Write *what* on the lifeline; False if there is none."""
    if _lifeline_w < 0 or not _lifeline_lock.acquire(timeout=HEARTBEAT):  # (a handler inside stop())
        return False
    try:
        return _lifeline_w >= 0 and os.write(_lifeline_w, what) > 0
    except OSError:
        return False
    finally:
        _lifeline_lock.release()


def _beat() -> None:
    """The heartbeat of a shell that leaves: it only comes while Python code runs."""
    while _tell(b"H"):
        time.sleep(HEARTBEAT)


# -- the shell's side: SA_RESETHAND -------------------------------------------------------
class _SigAction(ctypes.Structure):
    """glibc's ``struct sigaction`` on x86-64 and aarch64."""

    _fields_ = [("handler", ctypes.c_void_p), ("mask", ctypes.c_ulong * 16), ("flags", ctypes.c_uint),
                ("restorer", ctypes.c_void_p)]


def _reset_once_delivered(signum: int) -> None:
    """Add ``SA_RESETHAND`` to *signum*'s current handler (Python's C-level one)."""
    if platform.machine() not in ("x86_64", "aarch64") or signal.getsignal(signum) in (signal.SIG_IGN, None):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        action = _SigAction()
        if libc.sigaction(signum, None, ctypes.byref(action)) == 0:
            action.flags |= _SA_RESETHAND
            libc.sigaction(signum, ctypes.byref(action), None)
    except (OSError, AttributeError):
        pass


def _terminal_settings() -> list | None:
    try:
        return termios.tcgetattr(0) if os.isatty(0) else None
    except termios.error:
        return None
