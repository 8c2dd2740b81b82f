"""What the cluster tests' jobs run, the external test cluster, and two helpers.

The functions are imported by reference on the workers, so this module imports
nothing but the standard library: an external worker finds it on its PYTHONPATH
(the tests folder), an in-process one in ``sys.modules``.

``ExternalCluster`` is a ``dask scheduler`` and a ``dask worker`` (with nannies) as
subprocesses, everything on 127.0.0.1, each in a session of its own and logging to
a folder of its own, the address read from the scheduler file.
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

TESTS = Path(__file__).resolve().parent


# -- helpers for the tests --------------------------------------------------------------------
def run_input(shell, text: str) -> tuple[str, str]:
    """What the shell prints on stdout and stderr for one input."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        shell.handle(text)
    return out.getvalue(), err.getvalue()


def wait_until(predicate, timeout: float = 60) -> bool:
    """Poll *predicate*: only a hang guard, it holds as soon as the job gets there
    (used for states a job reaches by itself, which no event reports)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


# -- job functions --------------------------------------------------------------------------
def square(x):
    return x * x


def notify(port, message):
    """Tell the test something over TCP (the rendezvous a job reaches)."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(str(message).encode())


def hold(port, seconds=60):
    """Reach the rendezvous with this process's pid, then sleep in C (time.sleep)."""
    notify(port, os.getpid())
    time.sleep(seconds)
    return "slept"


def spin(port):
    """Reach the rendezvous, then loop in Python until killed."""
    notify(port, os.getpid())
    while True:
        pass


def chatter(port):
    """Print on both streams; between them, wait until the test has seen the first line."""
    print("line 1")
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"printed")
        sock.recv(1)  # the test answers once the line has reached the shell
    print("to stderr", file=sys.stderr)
    print("line 3")
    return "chatted"


def loaded_modules():
    """Which bgshell modules this worker process has loaded (the answer must be none)."""
    return sorted(name for name in sys.modules if name.split(".")[0] == "bgshell")


# -- the external cluster ----------------------------------------------------------------------
class ExternalCluster:
    """``dask scheduler`` + ``dask worker --nworkers N`` on 127.0.0.1, for faults."""

    def __init__(self, nworkers: int = 2) -> None:
        self.nworkers = nworkers
        self.dir = Path(tempfile.mkdtemp(prefix="bgshell-dask-"))
        self.processes: list[subprocess.Popen] = []
        self.address = ""

    def _spawn(self, args: list[str], log: str) -> subprocess.Popen:
        env = dict(os.environ, PYTHONPATH=str(TESTS))
        with open(self.dir / log, "ab") as out:
            process = subprocess.Popen([sys.executable, "-m", "dask", *args], stdin=subprocess.DEVNULL, stdout=out,
                                       stderr=subprocess.STDOUT, env=env, cwd=self.dir, start_new_session=True)
        self.processes.append(process)
        return process

    def start(self, timeout: float = 60) -> "ExternalCluster":
        try:
            self.start_scheduler(timeout)
            self.start_workers(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def start_scheduler(self, timeout: float = 60) -> None:
        scheduler_file = self.dir / "scheduler.json"
        scheduler_file.unlink(missing_ok=True)
        self.scheduler = self._spawn(["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                      "--dashboard-address", "127.0.0.1:0", "--scheduler-file", str(scheduler_file)],
                                     "scheduler.log")
        deadline = time.monotonic() + timeout
        while not scheduler_file.exists() or not scheduler_file.read_text().strip():
            if self.scheduler.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the scheduler did not start; see {self.dir}")
            time.sleep(0.02)
        self.address = json.loads(scheduler_file.read_text())["address"]

    def start_workers(self, timeout: float = 60) -> None:
        self.worker = self._spawn(["worker", self.address, "--host", "127.0.0.1", "--nworkers", str(self.nworkers),
                                   "--nthreads", "1", "--no-dashboard", "--dashboard-address", "127.0.0.1:0",
                                   "--death-timeout", "20"], "worker.log")
        self.wait_workers(self.nworkers, timeout)

    def wait_workers(self, count: int, timeout: float = 60) -> None:
        """Until *count* workers are registered with the scheduler (a hang guard only)."""
        from distributed import Client

        with Client(self.address, set_as_default=False, timeout=timeout) as client:
            client.wait_for_workers(count, timeout=timeout)

    def kill_scheduler(self) -> None:
        os.killpg(self.scheduler.pid, signal.SIGKILL)
        self.scheduler.wait()

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(process.pid, signal.SIGKILL)  # whatever is left in its session
            except (ProcessLookupError, PermissionError):
                pass
            process.wait()
