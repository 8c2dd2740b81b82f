#!/usr/bin/env python3
"""How fast a job's output reaches the screen under ``fg`` and ``output -f``, beside the
same line printed by code running in the foreground.

    python bench/bench_fg.py [--quick]

One bgshell runs in a pseudo-terminal (40x120, ``TERM=xterm``, a private state
directory).  A loop reads lines from a named pipe and prints each one; the benchmark
writes ``ping N`` into the pipe and times the read of the pty that brings ``ping N``
back.  The loop runs three ways, each measured the same number of times:

1. in the foreground (typed without ``&``): the floor, what python3 -i would do;
2. as a thread job brought back with ``fg``: its output is copied to the terminal as
   the job writes it;
3. as a thread job followed with ``output -f``.

Between the ways Ctrl-C ends the loop (foreground) or the following (the job is
then killed).  The medians and p95s are printed with the ratio to the foreground.
"""

from __future__ import annotations

import argparse
import os
import re
import select
import statistics
import sys
import tempfile
import time

import pexpect

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import ms, p95, table  # noqa: E402  (bench/report.py, beside this script)

EDITOR_UP = b"\x1b[?2004h"  # the line editor switches bracketed paste on when it is up
LOOP = "for line in open({fifo!r}): print(line.strip(), flush=True)"


def bgshell_argv() -> list[str]:
    script = os.path.join(os.path.dirname(sys.executable), "bgshell")
    return [script] if os.access(script, os.X_OK) else [sys.executable, "-m", "bgshell"]


class Pty:
    """A bgshell in a pty, read with ``select``/``os.read`` so times are not blurred."""

    def __init__(self, home: str) -> None:
        env = dict(os.environ, TERM="xterm", HOME=home, XDG_STATE_HOME=home, PROMPT_TOOLKIT_NO_CPR="1")
        argv = bgshell_argv()
        self.proc = pexpect.spawn(argv[0], argv[1:], env=env, dimensions=(40, 120), cwd=home)
        self.fd = self.proc.child_fd
        self.seen = b""

    def read_until(self, pattern: bytes, limit: float = 10.0) -> float:
        """Read until *pattern* shows; the time of the read that brought it."""
        regex = re.compile(pattern)
        deadline = time.perf_counter() + limit
        while not regex.search(self.seen):
            left = deadline - time.perf_counter()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                raise TimeoutError(f"no {pattern!r}; last output {self.seen[-300:]!r}")
            self.seen += os.read(self.fd, 65536)
        now = time.perf_counter()
        self.seen = self.seen[regex.search(self.seen).end():]
        return now

    def type(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def close(self) -> None:
        self.proc.terminate(force=True)


def pings(shell: Pty, fifo_writer: int, count: int, tag: str) -> list[float]:
    """Write ``ping`` lines into the loop's pipe; seconds until each shows."""
    times = []
    for n in range(count):
        line = f"{tag}-{n}"
        started = time.perf_counter()
        os.write(fifo_writer, f"{line}\n".encode())
        times.append(shell.read_until(rf"{line}\r?\n".encode()) - started)
        time.sleep(0.01)  # keys, not a flood: the next ping after this one is drawn
    return times


def run(count: int) -> dict[str, list[float]]:
    home = tempfile.mkdtemp(prefix="bench-fg-")
    fifo = os.path.join(home, "pings")
    shell = Pty(home)
    results: dict[str, list[float]] = {}
    try:
        shell.read_until(re.escape(EDITOR_UP))
        ways = [("foreground", "", None), ("fg", " &", "fg"), ("output -f", " &", "output -f")]
        for number, (name, suffix, command) in enumerate(ways, start=1):
            os.mkfifo(fifo + str(number))
            shell.type(LOOP.format(fifo=fifo + str(number)) + suffix + "\r\r")
            if command is not None:
                shell.read_until(rb">>>")
                shell.type(command + "\r")
            writer = os.open(fifo + str(number), os.O_WRONLY)  # the loop has opened it: it runs
            time.sleep(0.2)  # the prompt's last redraw is over
            results[name] = pings(shell, writer, count, name.replace(" ", ""))
            shell.type("\x03")  # Ctrl-C: ends the loop, or stops following
            os.close(writer)
            shell.read_until(rb">>>")
            shell.type("\x15")  # a clean line
    finally:
        shell.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples")
    options = parser.parse_args()
    count = 20 if options.quick else 100
    print(f"bench_fg: Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}, "
          f"{count} lines each")
    results = run(count)
    base = statistics.median(results["foreground"])
    rows = [[name, ms(statistics.median(v)), ms(p95(v)), f"{statistics.median(v) / base:.2f}x"]
            for name, v in results.items()]
    table(["a job's line to the screen", "median ms", "p95 ms", "vs foreground"], rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
