"""The watchdog process's side (see ``watchdog``, the shell's side, for the why).

It runs in a process forked from the shell before any thread, and lives on the
standard library alone: it must work whatever state the shell is in.
"""

from __future__ import annotations

import ctypes
import os
import platform
import select
import signal
import termios
import time

__all__ = ["watch", "POKE", "TERMINATING", "GRACE", "STUCK_EXIT", "HEARTBEAT", "SILENCE", "CTRL_Z_PATIENCE",
           "CTRL_Z_LATE"]

#: Sent to the shell's main thread to interrupt a blocking call, so that the handler of
#: a signal another thread took runs; its own handler does nothing (``termination``).
POKE = signal.SIGRTMIN + 1

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
TERMINATING = (signal.SIGTERM, signal.SIGHUP)


def watch(shell: int, wake_r: int, fwd_w: int, life_r: int, terminal: list | None) -> None:
    """The watchdog's whole life; it never returns."""
    try:
        _become_watchdog(fwd_w)
        state = _Watch(shell, fwd_w, terminal)
        while True:
            ready, _, _ = select.select([wake_r, life_r], [], [], state.timeout())
            if life_r in ready:
                state.heard_from_shell(os.read(life_r, 64))
            if wake_r in ready:
                state.signals(os.read(wake_r, 512))
            state.check()
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
        got = [number for number in data if number in TERMINATING]
        if got and self.deadline is None:
            _wake_main_thread(self.shell)  # (no deadline yet: the shell has not said it leaves)
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


#: ``tgkill``'s system call number, where glibc is too old to have the function.
_SYS_TGKILL = {"x86_64": 234, "aarch64": 131}


def _wake_main_thread(shell: int) -> None:
    """``POKE`` to the shell's main thread only (its thread id is the shell's pid)."""
    if os.getppid() != shell:  # it ended: its pid may be another process's now
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if hasattr(libc, "tgkill"):
            libc.tgkill(shell, shell, POKE)
        elif platform.machine() in _SYS_TGKILL:
            libc.syscall(_SYS_TGKILL[platform.machine()], shell, shell, POKE)
    except OSError:
        pass


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
