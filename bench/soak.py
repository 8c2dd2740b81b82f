#!/usr/bin/env python3
"""Soak: one bgshell session, 10,000 jobs in waves, ``flush`` between waves.

    python bench/soak.py [--quick]

One ``bgshell.repl.Shell`` in this process is fed inputs the way the plain front end
feeds them (``shell.handle(text)``, then ``shell.announce_finished()`` before the next
input), so the whole path runs: classifier, ``&`` jobs of both kinds, builtins,
announcements, per-job output capture.  Each wave is a mix of

* trivial thread jobs (``i * 2 &``),
* printing thread jobs (1 kB each, kept in the job's output),
* failing thread jobs (``1 / 0 &``) and failing jobs whose traceback holds a
  100 kB local (a leaked traceback would show),
* jobs that never end and are killed (a busy generator, then ``kill N``),
* a few process jobs (``os.getpid() &:process``; a few hundred in all at most),

then ``wait`` and ``flush`` (twice when the first says what ended since the last
look), after which the manager must hold no job.

Memory is read from ``/proc/self/status`` (VmRSS; VmHWM for the peak) after
``gc.collect()`` and, when glibc's ``malloc_trim`` is reachable through ctypes, after
``malloc_trim(0)`` too (the script says whether it was used; both readings are
printed, since without a trim glibc may keep freed memory that is not a leak).  The
baseline is taken after one warm-up wave and its flush, once imports, the worker
pool, the process runner's fork server and caches exist.  ``sys.getallocatedblocks()``
(live Python allocations) is printed beside RSS: it does not depend on the allocator
handing memory back.  At the end: threads, open file descriptors and child
processes against the baseline (no leak).

Keep the machine's load in mind: the figures are memory, not time; the run takes
about 1-3 minutes (``--quick``: 2,000 jobs, about 20-30 s).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bgshell.shell.repl import Shell  # noqa: E402
from report import MALLOC_TRIM, MB, Reading, mb, status_kb  # noqa: E402  bench/report.py (beside this script)


# ------------------------------------------------------------------------- the session


class Sink:
    """Stands in for the terminal: counts what the shell prints, keeps the errors."""

    def __init__(self, keep: bool = False) -> None:
        self.lines = 0
        self.keep = keep
        self.kept: list[str] = []

    def write(self, text: str) -> int:
        self.lines += text.count("\n")
        if self.keep and text.strip() and len(self.kept) < 50:
            self.kept.append(text.rstrip())
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:
        return "utf-8"


def wave_inputs(size: int, processes: int, kills: int) -> list[str]:
    """*size* job inputs (including *processes* process jobs and *kills* endless ones)."""
    inputs = []
    step = max(size // max(processes, 1), 1)
    for i in range(size - kills):
        if processes and i % step == step // 2 and sum(x.endswith(":process") for x in inputs) < processes:
            inputs.append("os.getpid() &:process")
            continue
        r = i % 20
        if r < 11:
            inputs.append(f"{i} * 2 &")
        elif r < 15:
            inputs.append(f"print('x' * 1000, {i}) &")
        elif r < 18:
            inputs.append("1 / 0 &")
        else:
            inputs.append(f"(lambda big: big[{i}] / 0)(bytearray(100_000)) &")
    inputs.extend(["sum(1 for _ in iter(int, 1)) &"] * kills)  # never ends; Python code, so killable
    return inputs


class Session:
    def __init__(self) -> None:
        self.out, self.err = Sink(), Sink(keep=True)
        self.real_out, self.real_err = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = self.out, self.err
        try:
            self.shell = Shell()
            self.feed("import os, time")
        finally:
            sys.stdout, sys.stderr = self.real_out, self.real_err
        self.jobs_run = 0
        self.process_jobs = 0
        self.killed = 0

    def feed(self, text: str) -> None:
        self.shell.announce_finished()  # as the front ends do before each input
        self.shell.handle(text)

    def wave(self, size: int, processes: int, kills: int) -> int:
        """Run one wave up to (not including) the flush; return the jobs still held."""
        sys.stdout, sys.stderr = self.out, self.err
        try:
            endless = []
            for text in wave_inputs(size, processes, kills):
                self.feed(text)
                if text.startswith("sum(1 for"):
                    endless.append(self.shell.jobs.newest.num)
            for num in endless:
                self.feed(f"kill {num}")
            self.feed("wait")
            self.shell.announce_finished()
            self.jobs_run += size
            self.process_jobs += processes
            self.killed += len(endless)
            return len(self.shell.jobs.all)
        finally:
            sys.stdout, sys.stderr = self.real_out, self.real_err

    def flush(self) -> int:
        """``flush`` (again if it first reports jobs); return the jobs still held."""
        sys.stdout, sys.stderr = self.out, self.err
        try:
            self.feed("flush")
            if self.shell.jobs.all:
                self.feed("flush")
            return len(self.shell.jobs.all)
        finally:
            sys.stdout, sys.stderr = self.real_out, self.real_err


# ------------------------------------------------------------------------- report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 jobs instead of 10,000 (about 30 s)")
    options = parser.parse_args()
    waves, size, processes, kills = (8, 250, 5, 2) if options.quick else (20, 500, 12, 3)
    started = time.monotonic()
    cpu_started = time.process_time()

    print(f"bgshell soak: Python {platform.python_version()} on {platform.machine()}, "
          f"{os.cpu_count()} CPUs, pid {os.getpid()}")
    print(f"{waves} waves x {size} jobs = {waves * size:,} jobs (+1 warm-up wave of {size // 2}); "
          f"per wave {processes} process jobs and {kills} killed endless jobs; flush after each wave")
    print(f"malloc_trim(0) via ctypes: {'used before every reading' if MALLOC_TRIM else 'not available'}")

    before = Reading("before the shell")
    session = Session()
    session.wave(size // 2, max(processes // 2, 1), 1)  # warm-up: imports, pool, fork server
    held = session.flush()
    assert held == 0, f"the warm-up flush left {held} jobs"
    session.jobs_run = session.process_jobs = session.killed = 0
    base = Reading("baseline")

    rows = []
    peak_before_flush = 0
    for number in range(1, waves + 1):
        held_before = session.wave(size, processes, kills)
        rss_full = status_kb("VmRSS") * 1024
        peak_before_flush = max(peak_before_flush, rss_full)
        held_after = session.flush()
        if held_after:
            raise SystemExit(f"wave {number}: flush left {held_after} jobs in the manager")
        after = Reading(f"after flush {number}")
        rows.append((number, held_before, rss_full, after))
    hwm = status_kb("VmHWM") * 1024
    end = rows[-1][3]

    print()
    print(f"{'':>16} {'VmRSS':>10} {'no trim':>10} {'blocks':>10} {'threads':>8} {'fds':>5} {'children':>9}")

    def show(label: str, r: Reading) -> None:
        print(f"{label:>16} {mb(r.rss):>10} {mb(r.rss_untrimmed):>10} {r.blocks:>10,} {r.threads:>8} "
              f"{r.fds:>5} {r.children:>5}/{r.zombies}Z")

    show("before shell", before)
    show("baseline", base)
    for number, held_before, rss_full, after in rows:
        if number in (1, 2, 3) or number % 5 == 0 or number == waves:
            show(f"flush {number:>2} ({held_before})", after)
    print(f"{'':>16} (flush N (jobs held before it); blocks = sys.getallocatedblocks(); children alive/zombies)")
    print()
    print(f"jobs run: {session.jobs_run:,} ({session.process_jobs} process jobs, {session.killed} killed) "
          f"in {time.monotonic() - started:.1f} s wall, {time.process_time() - cpu_started:.1f} s CPU (this process)")
    print(f"peak VmRSS before a flush: {mb(peak_before_flush)}   VmHWM (peak of the process): {mb(hwm)}")
    print(f"baseline VmRSS {mb(base.rss)}  ->  after the last flush {mb(end.rss)}: "
          f"ratio {end.rss / base.rss:.3f}  ({(end.rss - base.rss) / MB:+.1f} MB)")
    print(f"  without malloc_trim: {mb(base.rss_untrimmed)} -> {mb(end.rss_untrimmed)}: "
          f"ratio {end.rss_untrimmed / base.rss_untrimmed:.3f}")
    first = rows[0][3]
    per_wave = (end.rss - first.rss) / max(len(rows) - 1, 1)
    print(f"after-flush VmRSS, flush 1 -> flush {waves}: {mb(first.rss)} -> {mb(end.rss)} "
          f"({per_wave / 1024:+.1f} kB per wave)")
    print(f"live Python blocks: baseline {base.blocks:,} -> end {end.blocks:,} ({end.blocks - base.blocks:+,}); "
          f"flush 1 -> end: {end.blocks - first.blocks:+,}")
    print(f"threads: baseline {base.threads} -> end {end.threads} (OS threads {base.os_threads} -> {end.os_threads}); "
          f"open fds: {base.fds} -> {end.fds}; child processes: {base.children} -> {end.children}, "
          f"zombies {base.zombies} -> {end.zombies}")
    # Big values: a flushed job's result, and a dead job's traceback (its frame holds a
    # big local), must go with the job.  64 MB each, so a retention shows in RSS.
    sys.stdout, sys.stderr = session.out, session.err
    try:
        session.feed("bytearray(64 * 2**20) &")
        session.feed("(lambda big: big[0] / 0)(bytearray(64 * 2**20)) &")
        session.feed("wait")
        session.shell.announce_finished()
    finally:
        sys.stdout, sys.stderr = session.real_out, session.real_err
    held_big = Reading("two big jobs held")
    session.flush()
    freed_big = Reading("two big jobs flushed")
    retained = freed_big.rss - end.rss
    print(f"two jobs with 64 MB each (a result, a traceback's local): held {mb(held_big.rss)}, "
          f"after flush {mb(freed_big.rss)} ({retained / MB:+.1f} MB against the last flush)")
    ok_big = retained < 16 * MB
    if session.err.kept:
        print(f"stderr of the session ({session.err.lines} lines), first lines:")
        for line in session.err.kept[:5]:
            print(f"  {line}")
    else:
        print("stderr of the session: nothing")

    ok_rss = end.rss <= base.rss * 1.10 + 2 * MB
    ok_blocks = end.blocks - base.blocks < 20_000
    ok_threads = end.os_threads <= base.os_threads + 2
    ok_fds = end.fds <= base.fds + 2
    ok_children = end.children <= base.children + 1 and end.zombies == 0
    print()
    for ok, what in [
        (ok_rss, "VmRSS after flush within 10% (+2 MB) of the baseline"),
        (ok_blocks, "live Python blocks back near the baseline (< +20,000)"),
        (ok_threads, "no thread leak (OS threads <= baseline + 2)"),
        (ok_fds, "no fd leak (open fds <= baseline + 2)"),
        (ok_children, "no process leak (children <= baseline + 1, no zombies)"),
        (ok_big, "flush releases a big result and a big traceback (< 16 MB kept)"),
    ]:
        print(f"  [{'ok' if ok else 'FAIL'}] {what}")

    sys.stdout, sys.stderr = session.out, session.err
    try:
        stopped = session.shell.stop_jobs()
    finally:
        sys.stdout, sys.stderr = session.real_out, session.real_err
    print(f"stop_jobs at the end: {'all stopped' if stopped else 'some jobs would not stop'}")
    return 0 if all((ok_rss, ok_blocks, ok_threads, ok_fds, ok_children, ok_big)) else 1


if __name__ == "__main__":
    sys.exit(main())
