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
* on SIGTERM or SIGHUP the watchdog gives the shell ``GRACE`` seconds to run its
  handler.  If it has not, the watchdog stops every process the shell started
  (their process groups too), puts the terminal back as it found it, and sends the
  signal again: the shell dies of it, as python3 would have.  A leaving shell
  whose heartbeat stops for ``SILENCE`` seconds, or that is still there after
  ``STUCK_EXIT``, gets the same care, the signal twice (its handlers are one-shot
  again: ``one_shot``), then SIGKILL;
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
import select
import signal
import sys
import termios
import time

__all__ = ["start", "signals_fd", "leaving", "ctrl_z_done", "stop", "keep_signals", "keeps_watch", "one_shot"]

#: Seconds the shell has to run its SIGTERM/SIGHUP handler before the watchdog acts.
GRACE = 0.5
#: Seconds a shell that is leaving may take before the watchdog ends it.
STUCK_EXIT = 10.0
#: Seconds between two heartbeats of a leaving shell, and without one before it is stuck.
HEARTBEAT, SILENCE = 0.1, 1.0
#: Seconds the line editor has to act on Ctrl-Z before the watchdog says it waits.
CTRL_Z_PATIENCE = 0.15
#: What the watchdog says then.
CTRL_Z_LATE = "\r\nbgshell: Ctrl-Z waits for the running call to return (it holds the interpreter)\r\n"
#: ``SA_RESETHAND`` on Linux: the disposition goes back to the default once delivered.
_SA_RESETHAND = 0x80000000
_TERMINATING = (signal.SIGTERM, signal.SIGHUP)

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
        _watch(os.getppid(), wake_r, fwd_w, life_r, terminal)
    for fd in (wake_r, fwd_w, life_r):
        os.close(fd)
    for fd in (wake_w, fwd_r):
        os.set_blocking(fd, False)
    _wakeup_w, _signals_r, _lifeline_w, _pid = wake_w, fwd_r, life_w, pid
    os.register_at_fork(after_in_child=_forget)  # the user's os.fork(): a child is not the shell
    signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    for signum in _TERMINATING:
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


# -- the watchdog's side ------------------------------------------------------------------
def _watch(shell: int, wake_r: int, fwd_w: int, life_r: int, terminal: list | None) -> None:
    """The watchdog's whole life; it never returns."""
    try:
        _become_watchdog(fwd_w)
        watch = _Watch(shell, fwd_w, terminal)
        while True:
            ready, _, _ = select.select([wake_r, life_r], [], [], watch.timeout())
            if life_r in ready:
                watch.heard_from_shell(os.read(life_r, 64))
            if wake_r in ready:
                watch.signals(os.read(wake_r, 512))
            watch.check()
    finally:
        os._exit(0)


class _Watch:
    """What the watchdog knows and waits for."""

    def __init__(self, shell: int, fwd_w: int, terminal: list | None) -> None:
        self.shell = shell
        self.fwd_w = fwd_w
        self.terminal = terminal
        self.deadline: float | None = None  # to end the shell by
        self.stuck_by: float | None = None  # the shell leaves: STUCK_EXIT at the latest
        self.signum = signal.SIGTERM
        self.noted: list[tuple[int, bytes]] = []  # what the shell had started when the signal came
        self.bye = False
        self.ctrl_z_by: float | None = None  # the line editor should have acted on Ctrl-Z by then

    def timeout(self) -> float:
        due = [t for t in (self.deadline, self.ctrl_z_by) if t is not None]
        return max(min(due) - time.monotonic(), 0.0) if due else 1.0

    def heard_from_shell(self, data: bytes) -> None:
        if not data:  # the shell ended
            _after_the_shell(self.bye, self.noted, self.terminal)
        self.bye = self.bye or b"B" in data
        now = time.monotonic()
        if b"L" in data and self.stuck_by is None:
            self.stuck_by = now + STUCK_EXIT  # it leaves by itself
        if self.stuck_by is not None and (b"L" in data or b"H" in data):  # and Python code runs
            self.deadline = min(self.stuck_by, now + SILENCE)
        if b"Z" in data:
            self.ctrl_z_by = None

    def signals(self, data: bytes) -> None:
        _forward(self.fwd_w, data)
        got = [number for number in data if number in _TERMINATING]
        if got and self.deadline is None:
            self.deadline, self.signum = time.monotonic() + GRACE, got[0]
            self.noted = [(pid, _start_time(pid)) for pid in _descendants(self.shell) if pid != os.getpid()]
        if signal.SIGTSTP in data and self.ctrl_z_by is None:
            self.ctrl_z_by = time.monotonic() + CTRL_Z_PATIENCE

    def check(self) -> None:
        if os.getppid() != self.shell:
            _after_the_shell(self.bye, self.noted, self.terminal)
        now = time.monotonic()
        if self.ctrl_z_by is not None and now >= self.ctrl_z_by:
            self.ctrl_z_by = None
            try:
                os.write(2, CTRL_Z_LATE.encode())
            except OSError:
                pass
        if self.deadline is not None and now >= self.deadline:
            _end_the_shell(self.shell, self.signum, self.terminal)


def _become_watchdog(fwd_w: int) -> None:
    """Signals meant for the terminal's process group are the shell's business; the
    watchdog keeps only the fds it needs, and a name of its own (``ps``, ``pgrep``)."""
    for signum in (signal.SIGINT, signal.SIGQUIT, signal.SIGTSTP, signal.SIGTTOU, signal.SIGTTIN,
                   signal.SIGHUP, signal.SIGTERM, signal.SIGWINCH):
        signal.signal(signum, signal.SIG_IGN)
    signal.set_wakeup_fd(-1)
    os.set_blocking(fwd_w, False)
    try:
        ctypes.CDLL(None).prctl(15, b"bgshell-watch", 0, 0, 0)  # PR_SET_NAME
    except (OSError, AttributeError):
        pass


def _after_the_shell(bye: bool, noted: list[tuple[int, bytes]], terminal: list | None) -> None:
    """The shell has ended.  If it did not say goodbye, it died (a signal's default
    action, SIGKILL): what it started when the signal came is stopped, and the
    terminal put back as it was found.  The watchdog ends."""
    if not bye:
        _stop_noted(noted)
        _restore(terminal)
    os._exit(0)


def _restore(terminal: list | None) -> None:
    if terminal is not None:
        try:
            termios.tcsetattr(0, termios.TCSANOW, terminal)
        except termios.error:
            pass  # the terminal is gone


def _forward(fwd_w: int, data: bytes) -> None:
    try:
        os.write(fwd_w, data)
    except (BlockingIOError, BrokenPipeError):
        pass  # nobody reads them (no line editor): they only mattered here


def _end_the_shell(shell: int, signum: int, terminal: list | None) -> None:
    """The shell did not end in time: stop what it started, restore the terminal, then
    the signal twice (the default action by then, see ``one_shot``), then SIGKILL."""
    _stop_descendants(shell)
    _restore(terminal)
    for sig, patience in ((signum, 0.1), (signum, GRACE), (signal.SIGKILL, GRACE)):
        try:
            if os.getppid() == shell:  # else it ended: its pid may be another process's now
                os.kill(shell, sig)
        except ProcessLookupError:
            pass
        limit = time.monotonic() + patience
        while time.monotonic() < limit and os.getppid() == shell:
            time.sleep(0.01)
    os._exit(0)


def _stop_descendants(shell: int) -> None:
    """SIGTERM, then SIGKILL, to every process under the shell and their process groups."""
    me = os.getpid()
    for sig in (signal.SIGTERM, signal.SIGKILL):
        found = [pid for pid in _descendants(shell) if pid != me]
        for pid in found:
            for send in (os.killpg, os.kill):
                try:
                    target = os.getpgid(pid) if send is os.killpg else pid
                    if send is os.killpg and target in (os.getpgid(shell), os.getpgid(me)):
                        continue
                    send(target, sig)
                except (ProcessLookupError, PermissionError):
                    pass
        if found and sig == signal.SIGTERM:
            time.sleep(0.2)


def _start_time(pid: int) -> bytes:
    """Field 22 of /proc/PID/stat: tells a process from a later one with its pid."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[19]
    except (OSError, IndexError):
        return b""


def _stop_noted(noted: list[tuple[int, bytes]]) -> None:
    """SIGKILL the processes noted at the signal that are still the same processes
    (with their process groups: what they started too)."""
    for pid, started in noted:
        if started and _start_time(pid) == started:
            for send, target in ((os.killpg, pid), (os.kill, pid)):
                try:
                    send(target, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass


def _descendants(root: int) -> list[int]:
    """The pids under *root* (from /proc), children first."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as handle:
                    ppid = int(handle.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(name))
    found, todo = [], list(children.get(root, []))
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found
