#!/usr/bin/env python3
"""Benchmark bgshell's job engine against IPython's manager and bare threads.

    python bench/bench_jobs.py [--quick] [--futex-slots N]

Everything runs in this one process, side by side, so the contenders share the same
machine state.  Sections, in the order they run:

1. memory held by 10,000 finished jobs (VmRSS before and after), bgshell and IPython;
2. the check for newly finished jobs with those 10,000 finished jobs and nothing new;
3. launch-and-join throughput: 2,000 jobs each joined before the next starts, and
   10,000 trivial jobs started in a burst then joined; bgshell (its shared worker
   pool, and a brand-new pool every repetition), IPython's ``BackgroundJobManager``
   and one bare ``threading.Thread`` per job.  Median of several repetitions, the
   order of the contenders rotated between repetitions;
4. the cost of ``new()`` with 8,000 jobs running vs with 10 running.

Memory runs first, on a heap the throughput runs have not churned yet.  A summary of
the project's goals closes the output.  IPython is optional: without it its rows say
"not installed".
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import io
import os
import platform
import statistics
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from bgshell.jobs import BackgroundJobManager as BgManager  # noqa: E402
from bgshell.engine.kinds import DEFAULT_RUNNERS, Runners  # noqa: E402
from bgshell.engine.runners.thread import ThreadRunner  # noqa: E402

try:
    import IPython
    from IPython.lib.backgroundjobs import BackgroundJobManager as IPyManager

    IPY_VERSION = IPython.__version__
except Exception:  # not installed, or broken: the benchmark still runs without it
    IPyManager = None
    IPY_VERSION = None

perf = time.perf_counter
NOT_INSTALLED = "not installed"

BG = "bgshell (shared pool)"
BG_FRESH = "bgshell (new pool each rep)"
IPY = "IPython BackgroundJobManager"
BARE = "bare threading.Thread"
PINGPONG = "ref: lock ping-pong, 2 threads"

#: (goal, measured, verdict) lines for the closing summary.
GOALS: list[tuple[str, str, str]] = []


# --------------------------------------------------------------------------------------
# small helpers


def ipython_setup() -> str:
    """Run IPython's manager where it lives: inside an InteractiveShell instance.

    Its jobs take their traceback formatter from ``get_ipython()``; outside a shell
    each job builds one of its own, which IPython 9 cannot do any more (a TypeError in
    ``BackgroundJobBase._init``).  A shell with its history disabled starts no thread
    and leaves ``sys.stdout`` alone.  Returns a note on how IPython was set up.
    """
    from IPython.lib.backgroundjobs import BackgroundJobFunc

    try:
        BackgroundJobFunc(int)  # builds a job without starting it
        standalone = "its manager also works outside a shell"
    except Exception as exc:
        standalone = f"outside a shell its manager fails: {type(exc).__name__}: {exc}"
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    InteractiveShell.instance(config=config)
    return f"measured inside an InteractiveShell (history off); {standalone}"


def rss_bytes() -> int:
    """Resident set size of this process, from /proc/self/status (0 if unavailable)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def futex_hash_slots() -> int | None:
    """Slots of this process's private futex hash (Linux 6.16+), else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        slots = libc.prctl(78, 2, 0, 0, 0)  # PR_FUTEX_HASH, PR_FUTEX_HASH_GET_SLOTS
    except Exception:
        return None
    return slots if slots >= 0 else None


def set_futex_hash_slots(slots: int) -> str:
    """Resize this process's private futex hash (PR_FUTEX_HASH_SET_SLOTS, Linux 6.16+)."""
    t = threading.Thread(target=int)  # the private hash exists once a thread was started
    t.start()
    t.join()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(78, 1, slots, 0, 0) != 0:  # PR_FUTEX_HASH, PR_FUTEX_HASH_SET_SLOTS
            return f"could not set the futex hash size: {os.strerror(ctypes.get_errno())}"
    except Exception as exc:
        return f"could not set the futex hash size: {exc}"
    return f"private futex hash set to {futex_hash_slots()} slots (--futex-slots)"


class LoadMeter:
    """CPU time other processes used while the benchmark ran, from /proc/stat."""

    def __init__(self) -> None:
        self.start = self._sample()

    @staticmethod
    def _sample():
        try:
            with open("/proc/stat") as f:
                fields = [int(x) for x in f.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        busy = sum(fields[:3]) + sum(fields[5:8])  # user nice system, irq softirq steal
        steal = fields[7] if len(fields) > 7 else 0
        t = os.times()
        return perf(), busy, steal, t.user + t.system

    def report(self) -> str | None:
        end = self._sample()
        if self.start is None or end is None:
            return None
        hz = os.sysconf("SC_CLK_TCK")
        wall = end[0] - self.start[0]
        capacity = wall * (os.cpu_count() or 1)
        others = (end[1] - self.start[1]) / hz - (end[3] - self.start[3])
        steal = (end[2] - self.start[2]) / hz
        return (f"other processes used ~{max(others, 0) / capacity:.0%} of the machine's CPU time "
                f"during this run (steal {steal / capacity:.0%}); the higher, the noisier the figures")


def settle() -> None:
    """Collect garbage and give finishing threads a moment before a measured section."""
    gc.collect()
    time.sleep(0.02)
    gc.collect()


def fmt_s(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def fmt_us(x: float | None) -> str:
    if x is None:
        return "-"
    if x < 10:
        return f"{x:.2f}"
    return f"{x:,.1f}" if x < 10_000 else f"{x:,.0f}"


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def ratio_line(label: str, num: float | None, den: float | None, goal: str, limit: float) -> None:
    """Print num/den against a '<= limit' goal, and record it for the summary."""
    if num is None or den is None or not den:
        print(f"  {label:<32} n/a ({NOT_INSTALLED if den is None else 'no data'})")
        GOALS.append((f"{label} {goal}", "n/a", NOT_INSTALLED if den is None else "no data"))
        return
    r = num / den
    print(f"  {label:<32} {r:6.2f}   goal {goal:<7} {verdict(r <= limit)}")
    GOALS.append((f"{label} {goal}", f"{r:.2f}", verdict(r <= limit)))


def table(headers: list[str], rows: list[list[str]], left: int = 1) -> None:
    """Print rows aligned: the first *left* columns left-aligned, the rest right."""
    widths = [max(len(str(r[i])) for r in [headers] + rows) for i in range(len(headers))]

    def line(cells) -> str:
        out = [str(c).ljust(w) if i < left else str(c).rjust(w)
               for i, (c, w) in enumerate(zip(cells, widths))]
        return "  " + "  ".join(out).rstrip()

    print(line(headers))
    print("  " + "  ".join("-" * w for w in widths))
    for r in rows:
        print(line(r))


def join_all(jobs) -> None:
    for j in jobs:
        j.join()


def per_call_us(fn, min_time: float = 0.2, max_calls: int = 500_000) -> float:
    """Mean microseconds per call of *fn*, calling it until *min_time* has passed."""
    gc.collect()
    calls, total, batch = 0, 0.0, 10
    while total < min_time and calls < max_calls:
        t0 = perf()
        for _ in range(batch):
            fn()
        total += perf() - t0
        calls += batch
        batch = min(batch * 2, 20_000)
    return total / calls * 1e6


def timed_once(fn) -> float:
    gc.collect()
    t0 = perf()
    fn()
    return perf() - t0


# -- bgshell on a brand-new worker pool -------------------------------------------------

#: How long an idle worker of a per-repetition pool lives: short, so the pool drains
#: between repetitions instead of leaving hundreds of idle threads behind.
FRESH_IDLE_SECONDS = 0.25


def fresh_pool():
    """A factory of bgshell managers on a brand-new (empty) worker pool, and a drain.

    Managers are given their runners (``runners=``): a registry holding a new
    ``ThreadRunner``, so no idle worker left by earlier work is reused.
    """
    runner = ThreadRunner(idle_seconds=FRESH_IDLE_SECONDS)
    runners = Runners({"thread": runner})

    def drain() -> None:  # outside the timed part: let the pool's idle workers exit
        deadline = perf() + 5
        while runner.idle_workers and perf() < deadline:
            time.sleep(0.05)

    return (lambda: BgManager(runners=runners)), drain


# --------------------------------------------------------------------------------------
# 1 + 2. memory held by finished jobs; checking for newly finished jobs


def build_finished(make, n: int):
    """A manager holding *n* finished jobs; returns (manager, rss delta, blocks delta)."""
    settle()
    rss0, blocks0 = rss_bytes(), sys.getallocatedblocks()
    m = make()
    jobs = [m.new(int) for _ in range(n)]
    join_all(jobs)
    del jobs
    settle()
    return m, rss_bytes() - rss0, sys.getallocatedblocks() - blocks0


def section_memory_and_check(ipy, n_hold: int) -> None:
    print(f"\n1. Memory held by {n_hold:,} finished jobs (VmRSS after - before; pymalloc blocks)")
    held = {}
    rows = []
    # bgshell is built first, so any growth of the heap counts against it.
    for name, make in ((BG, BgManager), (IPY, ipy)):
        label = name.replace(" (shared pool)", "")
        if make is None:
            rows.append([f"{label}: {NOT_INSTALLED}", "-", "-", "-"])
            continue
        m, drss, dblocks = build_finished(make, n_hold)
        held[name] = m
        rows.append([label, f"{drss / 2**20:.1f}", f"{drss / n_hold:,.0f}", f"{dblocks / n_hold:.1f}"])
    table(["contender", "RSS +MiB", "bytes/job", "blocks/job"], rows)
    print(f"  bgshell's RSS includes the stacks of its idle pool workers: "
          f"{DEFAULT_RUNNERS.get('thread').idle_workers} now")
    if IPY in held:
        bg_b = rows[0][2]
        GOALS.append(("memory per finished job, bgshell vs IPython (bytes)",
                      f"{bg_b} vs {rows[1][2]}", "info"))

    print(f"\n2. Checking for newly finished jobs, {n_hold:,} finished jobs held "
          f"(stdout to /dev/null)")
    bgm, ipm = held.get(BG), held.get(IPY)
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        first_bg = timed_once(bgm._status_new)
        first_ip = timed_once(ipm._status_new) if ipm is not None else None
        drain_us = per_call_us(bgm.drain_finished)
        status_bg_us = per_call_us(bgm._status_new)
        status_ip_us = per_call_us(ipm._status_new) if ipm is not None else None
    nothing = "-" if ipm is None else None
    rows = [
        ["bgshell drain_finished(), nothing new", fmt_us(drain_us)],
        ["bgshell _status_new(), nothing new", fmt_us(status_bg_us)],
        ["IPython _status_new(), nothing new" + (f": {NOT_INSTALLED}" if nothing else ""),
         nothing or fmt_us(status_ip_us)],
        [f"bgshell _status_new(), first call: {n_hold:,} new", fmt_us(first_bg * 1e6)],
        [f"IPython _status_new(), first call: {n_hold:,} new" + (f": {NOT_INSTALLED}" if nothing else ""),
         nothing or fmt_us(first_ip * 1e6)],
    ]
    table(["call", "us/call"], rows)
    worst = max(drain_us, status_bg_us)
    print(f"  goal: bgshell check < 1000 us with nothing new: {worst:.2f} us  {verdict(worst < 1000)}")
    GOALS.append(("bgshell check, 10,000 finished, nothing new < 1000 us",
                  f"{worst:.2f} us", verdict(worst < 1000)))


# --------------------------------------------------------------------------------------
# 3. throughput: launch and join


def burst_manager(make, after=None):
    def run(n: int) -> float:
        m = make()
        settle()
        t0 = perf()
        jobs = [m.new(int) for _ in range(n)]
        for j in jobs:
            j.join()
        dt = perf() - t0
        if after is not None:
            after()
        return dt

    return run


def burst_bare(n: int) -> float:
    settle()
    Thread = threading.Thread
    t0 = perf()
    threads = []
    for _ in range(n):
        t = Thread(target=int)
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    return perf() - t0


def seq_manager(make, after=None):
    def run(n: int) -> float:
        m = make()
        settle()
        t0 = perf()
        for _ in range(n):
            m.new(int).join()
        dt = perf() - t0
        if after is not None:
            after()
        return dt

    return run


def seq_bare(n: int) -> float:
    settle()
    Thread = threading.Thread
    t0 = perf()
    for _ in range(n):
        t = Thread(target=int)
        t.start()
        t.join()
    return perf() - t0


def seq_pingpong(n: int) -> float:
    """The floor of a sequential handoff: wake a live thread and wait for its answer."""
    go, back = threading.Lock(), threading.Lock()
    go.acquire()
    back.acquire()

    def partner() -> None:
        for _ in range(n):
            go.acquire()
            back.release()

    t = threading.Thread(target=partner, daemon=True)
    t.start()
    settle()
    t0 = perf()
    for _ in range(n):
        go.release()
        back.acquire()
    dt = perf() - t0
    t.join()
    return dt


def throughput(n: int, reps: int, runners: dict) -> dict:
    """Run each contender *reps* times (order rotated), print a table, return medians."""
    names = [k for k, v in runners.items() if v is not None]
    times: dict[str, list[float]] = {k: [] for k in names}
    for rep in range(reps):
        k = rep % len(names)
        for name in names[k:] + names[:k]:
            times[name].append(runners[name](n))
    medians = {}
    rows = []
    for name, fn in runners.items():
        if fn is None:
            rows.append([f"{name}: {NOT_INSTALLED}", "-", "-", "-", "-"])
            continue
        med = statistics.median(times[name])
        medians[name] = med
        rows.append([name, fmt_s(med), fmt_us(med / n * 1e6),
                     fmt_s(min(times[name])), fmt_s(max(times[name]))])
    table(["contender", "median s", "us/job", "min s", "max s"], rows)
    return medians


def section_throughput(ipy, reps: int, n_burst: int, n_seq: int) -> None:
    print(f"\n3. Throughput (median of {reps}, contenders' order rotated each repetition; "
          f"new pool: idle timeout {FRESH_IDLE_SECONDS} s, drained between repetitions)")
    print("  Sequential first: the burst leaves idle workers in bgshell's shared pool, and when "
          "they time out together\n  (30 s later) the process stalls for a moment.")
    make_fresh, drain = fresh_pool()
    print(f"\n3a. Sequential: launch one job and join it before the next, {n_seq:,} jobs")
    med = throughput(n_seq, reps, {
        BG: seq_manager(BgManager),
        BG_FRESH: seq_manager(make_fresh, drain),
        IPY: seq_manager(ipy) if ipy else None,
        BARE: seq_bare,
        PINGPONG: seq_pingpong,
    })
    ratio_line("sequential: bgshell / IPython", med.get(BG), med.get(IPY), "<= 0.5", 0.5)
    ratio_line("sequential: bgshell / bare", med.get(BG), med.get(BARE), "<= 1.2", 1.2)
    if med.get(PINGPONG):
        print(f"  (bgshell / ping-pong floor: {med[BG] / med[PINGPONG]:.2f}; a pool job needs at "
              f"least one such round trip)")
    print(f"\n3b. Launch {n_burst:,} trivial jobs (new(int)) in a burst, then join them all")
    med = throughput(n_burst, reps, {
        BG: burst_manager(BgManager),
        BG_FRESH: burst_manager(make_fresh, drain),
        IPY: burst_manager(ipy) if ipy else None,
        BARE: burst_bare,
    })
    ratio_line("burst: bgshell / IPython", med.get(BG), med.get(IPY), "<= 0.5", 0.5)
    ratio_line("burst: bgshell / bare thread", med.get(BG), med.get(BARE), "<= 1.2", 1.2)
    ratio_line("burst: new pool / IPython", med.get(BG_FRESH), med.get(IPY), "<= 0.5", 0.5)
    ratio_line("burst: new pool / bare thread", med.get(BG_FRESH), med.get(BARE), "<= 1.2", 1.2)


# --------------------------------------------------------------------------------------
# 4. new() cost with many jobs running


def new_cost(make, n_blocked: int, n_new: int, warm_up: bool) -> dict:
    """The cost of new() for a trivial job while *n_blocked* jobs wait on one Event.

    Returns a dict: ``new`` (µs per new(), median over up to 3 timed bursts, fewer if
    they take over 2 s), ``check`` (µs per _status_new() with nothing new), ``setup``
    and ``teardown`` (seconds to start the blocked jobs, and to release and join them
    all), ``error``.  With *warm_up*, a burst of *n_new* trivial jobs (launched and
    joined) comes first, so a worker pool is in the same state in both cases and only
    the running count differs.
    """
    out = {"new": None, "check": None, "setup": None, "teardown": None, "error": None}
    event = threading.Event()
    m = make()
    blocked = []
    t0 = perf()
    try:
        try:
            for _ in range(n_blocked):
                blocked.append(m.new(event.wait))
        except RuntimeError as exc:  # can't start new thread
            out["error"] = f"started only {len(blocked)} jobs: {exc}"
            return out
        deadline = perf() + 60
        while not all(j.is_alive() for j in blocked) and perf() < deadline:
            time.sleep(0.01)
        out["setup"] = perf() - t0
        if warm_up:
            join_all([m.new(int) for _ in range(n_new)])
        m.running  # IPython moves the finished warm-up jobs off its running list here
        per_new = []
        budget = perf() + 2.0
        while len(per_new) < 3 and (not per_new or perf() < budget):
            settle()
            t0 = perf()
            jobs = [m.new(int) for _ in range(n_new)]
            per_new.append((perf() - t0) / n_new * 1e6)
            join_all(jobs)
            del jobs
            m.running
        out["new"] = statistics.median(per_new)
        with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
            m._status_new()  # report what ended, so the timed checks see nothing new
            out["check"] = per_call_us(m._status_new, min_time=0.1)
        return out
    finally:
        t0 = perf()
        event.set()
        join_all(blocked)
        out["teardown"] = perf() - t0


def with_blocked_threads(n_blocked: int, measure) -> dict:
    """Run *measure()* while *n_blocked* bare threads wait on one Event.

    Returns a dict: ``value`` (what *measure* returned), ``setup``, ``teardown``
    (seconds), ``error``.
    """
    out = {"value": None, "setup": None, "teardown": None, "error": None}
    event = threading.Event()
    threads = []
    t0 = perf()
    try:
        try:
            for _ in range(n_blocked):
                t = threading.Thread(target=event.wait, daemon=True)
                t.start()
                threads.append(t)
        except RuntimeError as exc:
            out["error"] = f"started only {len(threads)} threads: {exc}"
            return out
        out["setup"] = perf() - t0
        time.sleep(0.1)
        out["value"] = measure()
        return out
    finally:
        t0 = perf()
        event.set()
        join_all(threads)
        out["teardown"] = perf() - t0


def bare_start_cost(n_new: int) -> float:
    settle()
    threads = []
    t0 = perf()
    for _ in range(n_new):
        t = threading.Thread(target=int)
        t.start()
        threads.append(t)
    dt = perf() - t0
    join_all(threads)
    return dt / n_new * 1e6


def wake_cost(k: int = 300) -> float:
    """µs to release a lock that a sleeping thread waits on (one futex wake)."""
    locks = [threading.Lock() for _ in range(k)]
    for lock in locks:
        lock.acquire()
    waiters = [threading.Thread(target=lock.acquire, daemon=True) for lock in locks]
    for t in waiters:
        t.start()
    time.sleep(0.2)
    gc.collect()
    t0 = perf()
    for lock in locks:
        lock.release()
    dt = perf() - t0
    join_all(waiters)
    return dt / k * 1e6


def section_new_cost(ipy, n_running: int, n_new: int, ref_reps: int) -> None:
    print(f"\n4. new() cost with {n_running:,} jobs running vs 10 running "
          f"({n_new:,} timed new(int) calls; the running jobs wait on one Event)")
    old_stack = threading.stack_size()
    try:
        threading.stack_size(256 * 1024)
        print("  thread stack size set to 256 KiB for this section (all contenders)")
    except (ValueError, RuntimeError) as exc:
        print(f"  could not set the thread stack size ({exc}); using the default")
    rows, life = [], []
    results = {}
    slots = None
    counts = (10, n_running)

    def add_life(label: str, many: dict) -> None:
        life.append([label, fmt_s(many["setup"]), fmt_s(many["teardown"])])

    try:
        # bgshell last: it leaves its workers idle (waiting on locks) for 30 s, which
        # slows every thread wake-up measured after it.
        for name, make in ((IPY, ipy), (BG, BgManager)):
            if name == BG:  # the references first, for the reason above
                refs = []
                for n in counts:
                    got = with_blocked_threads(
                        n, lambda: (statistics.median(bare_start_cost(n_new) for _ in range(ref_reps)),
                                    statistics.median(wake_cost() for _ in range(ref_reps)),
                                    futex_hash_slots()))
                    if got["error"]:
                        print(f"  references: {got['error']}")
                    got["value"] = got["value"] or (None, None, None)
                    refs.append(got)
                slots = refs[-1]["value"][2]
                for i, label in enumerate(("ref: bare Thread.start()", "ref: wake a waiting thread")):
                    few, many = refs[0]["value"][i], refs[1]["value"][i]
                    ratio = f"{many / few:.2f}" if few and many else "-"
                    rows.append([label, fmt_us(few), fmt_us(many), ratio, "", ""])
                add_life("bare threads (for the references)", refs[1])
            label = name.replace(" (shared pool)", "")
            if make is None:
                rows.append([f"{label}: {NOT_INSTALLED}", "-", "-", "-", "-", "-"])
                continue
            few, many = (new_cost(make, n, n_new, warm_up=name == BG) for n in counts)
            for got in (few, many):
                if got["error"]:
                    print(f"  {label}: {got['error']}")
            results[name] = (few["new"], many["new"])
            ratio = f"{many['new'] / few['new']:.2f}" if few["new"] and many["new"] else "-"
            rows.append([label, fmt_us(few["new"]), fmt_us(many["new"]), ratio,
                         fmt_us(few["check"]), fmt_us(many["check"])])
            add_life(label, many)
    finally:
        threading.stack_size(old_stack)
    table(["us per call", "10 running", f"{n_running} running", "ratio",
           "check, 10", f"check, {n_running}"], rows)
    print(f"  (median of up to 3 timed bursts; check = _status_new() with nothing new; refs "
          f"(median of {ref_reps}): {n_new:,} bare Thread.start() calls, and releasing a Lock a "
          f"sleeping thread waits on)")
    print(f"\n  Starting the {n_running:,} blocked jobs, and releasing them (Event.set) and joining them all:")
    table(["contender", "start all, s", "release+join all, s"], life)
    if slots and slots * 8 < n_running:
        print(f"  this process's private futex hash (Linux 6.16+): {slots} slots; the kernel sizes "
              f"it by CPU count, not by threads, so with {n_running:,} threads waiting on locks every "
              f"wake-up walks long hash chains (try --futex-slots 16384)")
    elif slots:
        print(f"  this process's private futex hash (Linux 6.16+): {slots} slots")
    few, many = results.get(BG, (None, None))
    if few and many:
        r = many / few
        print(f"  goal: bgshell new() cost ratio about 1.0 (<= 1.5 accepted): {r:.2f}  {verdict(r <= 1.5)}")
        GOALS.append((f"bgshell new() cost, {n_running} vs 10 running, about 1.0",
                      f"{r:.2f}", verdict(r <= 1.5)))
    few, many = results.get(IPY, (None, None))
    if few and many:
        GOALS.append((f"(IPython new() cost, {n_running} vs 10 running)", f"{many / few:.2f}", "info"))


# --------------------------------------------------------------------------------------


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="2 repetitions, 2,000 running jobs in section 4 (about 30 s)")
    ap.add_argument("--futex-slots", type=int, metavar="N",
                    help="Linux 6.16+: resize this process's private futex hash to N slots "
                         "first, to separate the engine's costs from the kernel's")
    args = ap.parse_args(argv)
    quick = args.quick
    reps = 2 if quick else 5
    n_burst, n_seq, n_hold = 10_000, 2_000, 10_000
    n_running = 2_000 if quick else 8_000
    n_new = 500 if quick else 1_000
    started = perf()
    load = LoadMeter()

    print("bgshell job engine benchmark" + (" (--quick)" if quick else ""))
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    print(f"Python {platform.python_version()} ({platform.python_implementation()}), "
          f"{platform.system()} {platform.release()} {platform.machine()}, "
          f"{os.cpu_count()} CPUs ({cpus} usable)")
    try:
        with open("/proc/loadavg") as f:
            print("load average at start: " + " ".join(f.read().split()[:3]))
    except OSError:
        pass
    if args.futex_slots is not None:
        print(set_futex_hash_slots(args.futex_slots))
    ipy = IPyManager
    if ipy is not None:
        try:
            note = ipython_setup()
        except Exception as exc:
            ipy, note = None, f"could not be set up ({type(exc).__name__}: {exc})"
        print(f"IPython {IPY_VERSION}: {note}")
    else:
        print(f"IPython: {NOT_INSTALLED}")

    # Warm up: load what each contender imports lazily, so that neither the memory
    # figures nor the first repetitions pay for it.
    for make in (BgManager, ipy):
        if make is not None:
            m = make()
            join_all([m.new(int) for _ in range(50)])
            with contextlib.redirect_stdout(io.StringIO()):
                m._status_new()
    del m

    marks = []
    t = perf()
    section_memory_and_check(ipy, n_hold)
    settle()
    marks.append(("memory+check", perf() - t))
    t = perf()
    section_throughput(ipy, reps, n_burst, n_seq)
    marks.append(("throughput", perf() - t))
    t = perf()
    section_new_cost(ipy, n_running, n_new, ref_reps=1 if quick else 3)
    marks.append(("new() cost", perf() - t))

    print("\nGoals")
    table(["goal", "measured", "verdict"], [list(g) for g in GOALS])
    print(f"\nTotal time: {perf() - started:.1f} s ("
          + ", ".join(f"{name} {dt:.1f} s" for name, dt in marks) + ")")
    note = load.report()
    if note:
        print(note[0].upper() + note[1:] + ".")
    return 0


if __name__ == "__main__":
    sys.exit(main())
