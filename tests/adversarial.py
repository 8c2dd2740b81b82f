"""Helpers for tests/test_adversarial.py: hostile objects and jobs, a lab directory per
test, and the three channels (pty, pipe, API) with the checks every case ends with.

Every case ends the same way ("nothing lost"): before it, the session binds
``earlier`` and runs job 1, ``say('bystander-output')``; after it, ``6*7`` must show
``42``, ``earlier`` must still be bound, ``output 1`` must still show the bystander's
output and (at the pty) the history file must still hold what was typed.

Nothing synchronises on sleeps: jobs publish files (``publish``) or set events when
they have reached the interesting point, and the tests wait for those or for text.
The only timings are hang bounds.  Every process a test starts carries a token in its
environment, and whatever still carries it after the test is SIGKILLed, so a failing
case leaves nothing running.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from processes import process_gone
from pty_shell import PtyShell, find_bgshell

__all__ = [
    "HELPERS", "Lab", "PipeResult", "run_pipe", "run_api", "start_pty", "assert_still_fine",
    "wait_for", "wait_cooked", "kill_token", "assert_one", "assert_pipe_epilogue", "assert_api_ok",
    "PTY_WAIT", "PROMPTLY", "PIPE_HANG", "API_HANG", "TOKEN_NAME",
]

#: How long the pty waits for any one thing (a prompt, a marker).
PTY_WAIT = 8
#: Bound for what the user must see "at once" / "promptly": generous, not a timing.
PROMPTLY = 5
#: A pipe run (or an API snippet) that has not ended by then is reported as a hang.
PIPE_HANG = 10
#: An API snippet's own waits add up to less than this.
API_HANG = 15
TOKEN_NAME = "BGSHELL_ADVERSARIAL_TOKEN"

# Loaded into the shell's namespace with one line (exec), so the pty, the pipe and the
# API snippets see the same definitions.  Functions defined here are cloudpickled by
# value into process jobs.
HELPERS = r'''
import asyncio, contextlib, io, os, signal, subprocess, sys, threading, time

MARKS = os.environ["ADV_MARKS"]


def publish(name, value=""):
    """Write MARKS/name atomically: the test waits for the file."""
    path = os.path.join(MARKS, name)
    with open(path + ".tmp", "w") as handle:
        handle.write(str(value))
    os.replace(path + ".tmp", path)


def when_published(name):
    """Wait (sleeping inside the job) until the test publishes MARKS/name."""
    while not os.path.exists(os.path.join(MARKS, name)):
        time.sleep(0.005)


def say(text):
    print(text)
    return text


def one():
    return 1


def seven():
    return 7


def spin():
    while True:
        pass


def raise_(exc):
    raise exc


def bp():
    breakpoint()
    return "bp-done"


def rss_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024


# -- streams -----------------------------------------------------------------------
release = threading.Event()
entered = threading.Event()


def hold_redirect():
    """Replace sys.stdout (contextlib.redirect_stdout) until `release` is set."""
    with contextlib.redirect_stdout(io.StringIO()):
        entered.set()
        publish("redirect-entered")
        release.wait(60)
    return "released"


# -- hostile objects ---------------------------------------------------------------
class Poison:
    """Every dunder the shell might touch raises SystemExit."""
    def __repr__(self): raise SystemExit(3)
    def __str__(self): raise SystemExit(3)
    def __bool__(self): raise SystemExit(4)
    def __len__(self): raise SystemExit(5)
    def __eq__(self, other): raise SystemExit(6)
    def __hash__(self): raise SystemExit(7)
    def __iter__(self): raise SystemExit(8)
    def __reduce_ex__(self, protocol): raise SystemExit(9)


class ExitLen(str):
    def __len__(self):
        raise SystemExit(5)


class SneakyRepr:
    """repr() returns a str subclass whose len() raises SystemExit."""
    def __repr__(self):
        return ExitLen("sneaky")


class ExitStrCallable:
    def __call__(self):
        return 1
    def __str__(self):
        raise SystemExit(7)


class InterruptStrCallable:
    def __call__(self):
        return 1
    def __str__(self):
        raise KeyboardInterrupt


class TitleLabel:
    """A job label that would clear the screen and retitle the window."""
    def __call__(self):
        return 1
    def __str__(self):
        return "\x1b]0;pwned-title\x07\x1b[2Jlabel"


class NoNameMeta(type):
    @property
    def __name__(cls):
        raise RuntimeError("no name")


class Nameless(Exception, metaclass=NoNameMeta):
    pass


class SliceBombStr(str):
    def __getitem__(self, index):
        raise SystemExit(2)
    def split(self, *args, **kwargs):
        raise SystemExit(2)


class SliceBomb(Exception):
    def __str__(self):
        return SliceBombStr("slice-bomb")


class ExitDir:
    def __dir__(self):
        raise SystemExit(3)


class SlowDir:
    def __dir__(self):
        sys.__stdout__.write("dir-started\n")
        sys.__stdout__.flush()
        time.sleep(60)
        return []


class ExitGetattr:
    def __getattr__(self, name):
        raise SystemExit(4)


class InterruptProperty:
    @property
    def prop(self):
        raise KeyboardInterrupt


class SlowProperty:
    @property
    def prop(self):
        sys.__stdout__.write("prop-started\n")
        sys.__stdout__.flush()
        time.sleep(60)
        return 1


class HugeDir:
    def __dir__(self):
        return [f"name{i}" for i in range(300_000)]


class SlowReduce:
    def __reduce_ex__(self, protocol):
        sys.__stdout__.write("reduce-started\n")
        sys.__stdout__.flush()
        time.sleep(60)
        return (int, ())


def len_of(value):
    return len(value)


# -- process jobs --------------------------------------------------------------------
class NeedyError(Exception):
    def __init__(self, a, b):
        super().__init__(f"needs-{a}-{b}")


def raise_needy():
    raise NeedyError(1, 2)


def leave_grandchild():
    """Fork a child that outlives the job's own process (and holds its fds)."""
    pid = os.fork()
    if pid == 0:
        time.sleep(30)
        os._exit(0)
    publish("grandchild", pid)
    return pid


def run_sleeper(name):
    """subprocess.run of a shell command that sleeps; the sleep's pid is published."""
    subprocess.run(f"echo $$ > {MARKS}/{name}.tmp && mv {MARKS}/{name}.tmp {MARKS}/{name} && exec sleep 300",
                   shell=True)
    return "slept"


def sum_in_c():
    publish("summing")
    return sum(range(10**11))


# -- coroutines ----------------------------------------------------------------------
async def sleeper():
    publish("sleeping")
    await asyncio.sleep(30)


async def ok():
    await asyncio.sleep(0)
    return "ok-async"


async def bye():
    raise SystemExit(3)


async def interrupted():
    raise KeyboardInterrupt


async def gen_exit():
    raise GeneratorExit


async def busy():
    publish("busy")
    while True:
        pass


async def blocker():
    publish("blocking")
    time.sleep(30)


async def stopper():
    asyncio.get_running_loop().stop()
    return "stopped"


async def closer():
    asyncio.get_running_loop().close()


async def unset_loop():
    asyncio.set_event_loop(None)
    await asyncio.sleep(0)
    return "unset"


async def exits4():
    sys.exit(4)


async def print_100mb():
    chunk = "z" * 1_000_000
    for _ in range(100):
        sys.stdout.write(chunk)
    return "printed"


# -- resources -----------------------------------------------------------------------
fds_released = threading.Event()


def hog_fds(limit=256):
    """Lower RLIMIT_NOFILE, then keep every file descriptor taken (a thread grabs
    each one that is freed) until release_fds()."""
    import resource
    global held_fds
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
    held_fds = []
    mark = open(os.path.join(MARKS, "fds-held.tmp"), "w")  # opened while fds are left

    def grab():
        while True:
            try:
                held_fds.append(open(os.devnull))
                return True
            except OSError:
                return False

    while grab():
        pass
    mark.write(str(len(held_fds)))
    mark.close()
    grab()  # the mark's own descriptor
    os.replace(os.path.join(MARKS, "fds-held.tmp"), os.path.join(MARKS, "fds-held"))

    def keep_grabbing():
        while not fds_released.is_set():
            if not grab():
                fds_released.wait(0.0005)

    threading.Thread(target=keep_grabbing, daemon=True).start()
    return len(held_fds)


def release_fds():
    global held_fds
    fds_released.set()
    for handle in held_fds:
        handle.close()
    held_fds = []


thread_gate = threading.Event()


def many_threads(n=2000):
    for _ in range(n):
        threading.Thread(target=thread_gate.wait, daemon=True).start()
    publish("threads-started", n)
    return n


def hold_memory(megabytes=400):
    block = [bytes(1 << 20) for _ in range(megabytes)]
    publish("memory-held", len(block))
    while True:
        pass


def write_fd2_100mb():
    chunk = b"e" * 1_000_000
    for _ in range(100):
        os.write(2, chunk)
    return "written"
'''


class Lab:
    """A test's directory: the helpers file, a marks directory, a history location,
    and a token carried by every process the test starts."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.marks = directory / "marks"
        self.marks.mkdir()
        self.state = directory / "state"
        self.state.mkdir()
        self.helpers = directory / "helpers.py"
        self.helpers.write_text(HELPERS)
        self.token = uuid.uuid4().hex

    @property
    def history(self) -> Path:
        return self.state / "bgshell" / "history"

    def env(self, **extra: str | None) -> dict[str, str | None]:
        values: dict[str, str | None] = {
            "ADV_MARKS": str(self.marks),
            TOKEN_NAME: self.token,
            "XDG_STATE_HOME": str(self.state),
            "HOME": str(self.dir),
            "PYTHONSTARTUP": None,
            "PYTHONPATH": None,
            "NO_COLOR": None,
        }
        values.update(extra)
        return values

    def full_env(self, **extra: str | None) -> dict[str, str]:
        environ = dict(os.environ)
        for name, value in self.env(**extra).items():
            if value is None:
                environ.pop(name, None)
            else:
                environ[name] = value
        return environ

    def mark(self, name: str, timeout: float = PTY_WAIT, shell: PtyShell | None = None) -> str:
        """Wait for the job to publish *name*; its content.  With *shell*, fail at
        once, showing its last output, if the shell ends first."""
        path = self.marks / name

        def published() -> bool:
            if path.exists():
                return True
            if shell is not None and not shell.alive():
                shell.read_available(quiet=0.1, limit=1)
                raise AssertionError(f"bgshell ended before the job published {name!r}; it printed "
                                     f"{shell.rest()[-1500:]!r}")
            return False

        wait_for(published, timeout, f"the job to publish {name!r}")
        return path.read_text()

    def prelude_line(self) -> str:
        return f"exec(open({str(self.helpers)!r}).read())"

    def cleanup(self) -> None:
        kill_token(self.token)


def wait_cooked(shell: PtyShell, timeout: float = PTY_WAIT) -> None:
    """Wait until the prompt has handed the terminal back (ISIG on again): from then
    on Ctrl-C is a SIGINT for the code running in the foreground, not a key for the
    line editor."""
    import termios

    wait_for(lambda: termios.tcgetattr(shell.child.child_fd)[3] & termios.ISIG, timeout,
             "the terminal to leave raw mode (the input to start running)")


def wait_for(predicate, timeout: float, what: str):
    """Poll *predicate* until true (a hang bound, not a timing)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def processes_with_token(token: str) -> list[int]:
    needle = f"{TOKEN_NAME}={token}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as handle:
                environ = handle.read().split(b"\0")
        except OSError:
            continue
        if needle in environ and not process_gone(int(entry)):
            found.append(int(entry))
    return found


def kill_token(token: str) -> None:
    for pid in processes_with_token(token):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


# ----------------------------------------------------------------------------- the pipe

PIPE_PRELUDE = [
    "earlier = 'kept-' + 'earlier'",
    "bystander = jobs.new(say, 'bystander-output')",
    "_ = bystander.wait_done()",
]
PIPE_EPILOGUE = ["'epilogue ' + earlier", "output 1", "6*7"]


@dataclass
class PipeResult:
    out: str
    err: str
    status: int | None
    seconds: float
    hung: bool
    bound: float = PIPE_HANG

    def stream(self, name: str) -> str:
        return {"out": self.out, "err": self.err, "any": self.out + "\n" + self.err}[name]

    def describe(self) -> str:
        how = f"did not end within {self.bound:g}s" if self.hung else f"exit status {self.status}"
        return f"[{how}] stdout ends {self.out[-1500:]!r}; stderr ends {self.err[-2000:]!r}"


def _run(lab: Lab, argv: list[str], data: bytes | None, timeout: float) -> PipeResult:
    """Run *argv* in a session of its own (no controlling terminal, so nothing can
    open /dev/tty), output into files: a process the case leaves behind holding the
    pipes must not make the run look hung.  Whatever carries the lab's token once it
    has ended (or hung) is killed."""
    out_path, err_path = lab.dir / "run.out", lab.dir / "run.err"
    started = time.monotonic()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE if data is not None else subprocess.DEVNULL,
                                stdout=out, stderr=err, env=lab.full_env(), cwd=lab.dir, start_new_session=True)
        hung = False
        try:
            proc.communicate(data, timeout=timeout)
        except subprocess.TimeoutExpired:
            hung = True
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
            proc.wait()
    kill_token(lab.token)
    return PipeResult(out_path.read_bytes().decode("utf-8", "replace"), err_path.read_bytes().decode("utf-8", "replace"),
                      None if hung else proc.returncode, time.monotonic() - started, hung, timeout)


def run_pipe(lab: Lab, lines: list[str], *, prelude: bool = True, epilogue: bool = True,
             timeout: float = PIPE_HANG, args: tuple[str, ...] = ()) -> PipeResult:
    """Feed *lines* to bgshell on a pipe; never waits longer than *timeout*."""
    script = ([lab.prelude_line(), *PIPE_PRELUDE] if prelude else [lab.prelude_line()]) + list(lines)
    if epilogue:
        script += PIPE_EPILOGUE
    return _run(lab, [find_bgshell(), *args], ("\n".join(script) + "\n").encode(), timeout)


def assert_pipe_epilogue(result: PipeResult) -> None:
    """After the case: earlier results, the bystander's output and 6*7 are all there."""
    lines = result.out.splitlines()
    try:
        start = lines.index("'epilogue kept-earlier'")
    except ValueError:
        raise AssertionError("the shell did not run the lines after the case "
                             f"(no 'epilogue kept-earlier'): {result.describe()}") from None
    rest = lines[start + 1:]
    assert "bystander-output" in rest, f"output 1 lost the bystander's output: {result.describe()}"
    assert "42" in rest[rest.index("bystander-output"):], f"6*7 did not show 42: {result.describe()}"
    assert not result.hung, result.describe()


def assert_one(text: str, pattern: str, where: str, result: PipeResult | None = None) -> re.Match[str]:
    """Exactly one line of *text* matches *pattern*."""
    found = [m for m in (re.search(pattern, line) for line in text.splitlines()) if m]
    context = result.describe() if result is not None else repr(text[-2000:])
    assert len(found) == 1, f"{len(found)} lines on {where} match {pattern!r}, expected exactly 1; {context}"
    return found[0]


# ----------------------------------------------------------------------------- the API

API_PRELUDE = '''
import asyncio, os, subprocess, sys, threading, time
from bgshell.jobs import BackgroundJobManager, JobState
exec(open(HELPERS_PATH).read())
m = BackgroundJobManager()
SOON = 3  # seconds: a hang bound for what should take milliseconds

def within(predicate, seconds, what):
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(what)
        time.sleep(0.01)
'''

API_EPILOGUE = '''
assert m.new(lambda: 6 * 7).get(timeout=5) == 42, "the manager no longer runs 6*7 -> 42"
print("api-ok", flush=True)
'''

#: Jobs from the API are non-daemon by default: a stuck one would hold the
#: interpreter's exit, so the snippet leaves with os._exit either way.
API_WRAPPER = '''
import os as _os, sys as _sys, traceback as _traceback
try:
    exec(compile(BODY, "<api-case>", "exec"))
except BaseException:
    _traceback.print_exc()
    _sys.stderr.flush()
    _os._exit(1)
_sys.stdout.flush()
_os._exit(0)
'''


def run_api(lab: Lab, body: str, timeout: float = API_HANG) -> PipeResult:
    """Run *body* (asserts on a manager ``m``) in a fresh interpreter: a wedged
    event loop or an unkillable thread must not leak into the test process."""
    code = f"HELPERS_PATH = {str(lab.helpers)!r}\nBODY = {(API_PRELUDE + body + API_EPILOGUE)!r}\n" + API_WRAPPER
    return _run(lab, [sys.executable, "-c", code], None, timeout)


def assert_api_ok(result: PipeResult) -> None:
    if result.hung:
        raise AssertionError(f"the API snippet hung: {result.describe()}")
    if "api-ok" not in result.out.split():
        last = [line for line in result.err.splitlines() if line.strip()][-1:] or ["(no error)"]
        raise AssertionError(f"{last[0]}  [{result.describe()}]")


# ----------------------------------------------------------------------------- the pty

PTY_PRELUDE_BYSTANDER = "bystander = jobs.new(say, 'bystander-output')"


def start_pty(lab: Lab, *args: str, env: dict[str, str | None] | None = None, cwd: Path | None = None,
              prelude: bool = True, editor: bool = False) -> PtyShell:
    """bgshell in a pty with the helpers loaded, ``earlier`` bound and job 1 done.

    *editor*: wait until the line editor has taken over from the early prompt.  A case
    about Ctrl-C on running code needs it: until then inputs run as under python3,
    whose Ctrl-C is lost when it lands just before a blocking call begins (CPython only
    sets a flag); the editor's thread then wakes the main thread (``check_relay``)."""
    shell = PtyShell(list(args), state_dir=lab.state, env={**lab.env(), **(env or {})}, timeout=PTY_WAIT,
                     cwd=cwd or lab.dir)
    if editor:
        shell.wait_editor()
    shell.wait_prompt()
    shell.run(lab.prelude_line())
    if prelude:
        shell.run("earlier = 'kept-' + 'earlier'")
        shell.sendline(PTY_PRELUDE_BYSTANDER)
        shell.expect_text(r"\[1\]  Done  ")
        shell.wait_prompt()
    return shell


def assert_still_fine(shell: PtyShell, lab: Lab, history: Path | None = None) -> None:
    """6*7 shows 42; nothing typed or computed before the case is lost."""
    shell.read_available(quiet=0.2, limit=2)  # whatever the case left on the screen
    shell.pos = len(shell.text)
    out = shell.run("6*7")
    assert "42" in out.split(), f"6*7 printed {out!r}"
    out = shell.run("earlier")
    assert "'kept-earlier'" in out, f"earlier printed {out!r}"
    out = shell.run("output 1")
    assert "bystander-output" in out, f"output 1 printed {out!r}"
    path = history or lab.history
    wait_for(lambda: path.exists() and "+6*7" in path.read_text(errors="replace"), PTY_WAIT,
             f"the history file {path} to hold the inputs")
    assert "+earlier = 'kept-' + 'earlier'" in path.read_text(errors="replace"), "the history lost earlier inputs"
