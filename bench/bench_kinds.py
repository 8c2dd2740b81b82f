#!/usr/bin/env python3
"""Benchmark bgshell's job kinds in the engine alone (no terminal): launch and kill.

    python bench/bench_kinds.py [--quick]

1. Process-job launch latency, ``jobs.new(f, kind="process")``:

   * submit -> running: the function's first line stamps ``time.time()`` in the child
     and returns it, so this is the child's clock minus the parent's at submit (one
     host, one clock);
   * submit -> first output: the function prints at once; the parent polls
     ``job.output.written`` every 0.2 ms;
   * submit -> result: ``job.join()`` returns with the value in the shell.

   Three ways: with a pause before each launch, so the process runner is ready (its
   fork server idle; "spare ready" in the table, the name it had when a spare
   interpreter was kept ready instead); back to back (each job submitted the moment
   the previous one returned); and a burst of jobs submitted at once.  Side by side:
   ``multiprocessing`` with the forkserver and the spawn start methods running the
   same function (``Process.start()`` -> the child's stamp / the value received on a
   pipe), and a bare ``python -c pass`` for scale.

2. Kill latency for each kind, from ``jobs.kill(n)`` to ``job.join()`` returning: a
   thread job in a pure-Python loop; a thread job in ``time.sleep(5)`` (a blocking C
   call: it cannot be interrupted, so it shows Killing until the sleep returns); a
   process job in a pure-Python loop (SIGTERM); a process job that ignores SIGTERM
   (SIGKILL after the grace period); a coroutine job awaiting ``asyncio.sleep(100)``.

Bytecode: when ``PYTHONDONTWRITEBYTECODE`` is set, the script runs itself again
without it and with a private ``PYTHONPYCACHEPREFIX`` (removed at the end), so that
every interpreter it starts loads cached bytecode as an installed program would,
without writing into the work tree (multiprocessing would otherwise pass ``-B`` on).  Module-level imports here are
stdlib only, so a "spawn" child re-importing this file pays nothing for bgshell.
"""

from __future__ import annotations

# Only modules every interpreter has loaded anyway: a multiprocessing "spawn" child
# imports this file again, and should pay no more than for a one-line target.
# Everything else is imported where it is used.
import os
import signal
import sys
import time

from report import load_text, ms, p95, print_ending, table  # bench/report.py (beside this script)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
perf = time.perf_counter
GOAL_LAUNCH_MS = 60.0
_OWN_CACHE = "BGSHELL_BENCH_PYCACHE"  # set when this script made the private bytecode cache


# -- what the jobs run (shipped by value with cloudpickle: this file is __main__) ----------
def stamp_and_print() -> float:
    """The child's clock the moment the function runs; prints at once."""
    started = time.time()
    print("started", flush=True)
    return started


def stamp() -> float:
    return time.time()


def spin() -> None:
    print("ready", flush=True)
    while True:
        pass


def spin_ignoring_sigterm() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print("ready", flush=True)
    while True:
        pass


def nap() -> None:
    print("ready", flush=True)
    time.sleep(5)


async def snooze() -> None:
    import asyncio

    await asyncio.sleep(100)


def mp_target(conn) -> None:  # noqa: ANN001 - a multiprocessing Connection
    conn.send(time.time())
    conn.close()


# -- helpers -----------------------------------------------------------------------------------






def summary(values: list[float]) -> list[str]:
    """median, p95, max in ms ("-" when there is nothing)."""
    import statistics

    if not values:
        return ["-", "-", "-"]
    return [ms(statistics.median(values)), ms(p95(values)), ms(max(values))]


def wait_for(predicate, timeout: float = 10.0, step: float = 0.0002) -> bool:  # noqa: ANN001
    deadline = perf() + timeout
    while not predicate():
        if perf() > deadline:
            return False
        time.sleep(step)
    return True


# -- 1. process-job launch ---------------------------------------------------------------------
class Launches:
    def __init__(self, name: str) -> None:
        self.name = name
        self.submit: list[float] = []
        self.running: list[float] = []
        self.first_output: list[float] = []
        self.result: list[float] = []

    def row(self) -> list[str]:
        return [
            self.name,
            str(len(self.result)),
            summary(self.submit)[0],
            *summary(self.running)[:2],
            summary(self.first_output)[0],
            *summary(self.result),
        ]


def launch_one(jobs, record: Launches) -> None:  # noqa: ANN001
    wall0, t0 = time.time(), perf()
    job = jobs.new(stamp_and_print, kind="process")
    record.submit.append(perf() - t0)
    if wait_for(lambda: job.output.written > 0 or job.done()):
        record.first_output.append(perf() - t0)
    job.join(30)
    t1 = perf()
    value = job.result
    if not isinstance(value, float):
        raise RuntimeError(f"process job failed: {job.state.value}: {job.traceback_text}")
    record.running.append(value - wall0)
    record.result.append(t1 - t0)


def bench_launch(jobs, runs: int, pause: float, burst: int) -> list[Launches]:  # noqa: ANN001
    warm = Launches(f"bgshell, spare ready ({pause:.1f} s pause)")
    back = Launches("bgshell, back to back")
    bursts = Launches(f"bgshell, burst of {burst} at once")
    for _ in range(3):  # warm-up: the fork server, bytecode cache, cloudpickle in the shell
        launch_one(jobs, Launches("warm-up"))
        time.sleep(pause)
    for _ in range(runs):
        time.sleep(pause)
        launch_one(jobs, warm)
    time.sleep(pause)
    for _ in range(runs):
        launch_one(jobs, back)
    for _ in range(max(1, runs // burst)):
        time.sleep(pause)
        wall0, t0 = time.time(), perf()
        started = []
        for _ in range(burst):
            t_new = perf()
            started.append(jobs.new(stamp, kind="process"))
            bursts.submit.append(perf() - t_new)
        for job in started:
            job.join(60)
            bursts.result.append(perf() - t0)
            if isinstance(job.result, float):
                bursts.running.append(job.result - wall0)
    time.sleep(pause)
    return [warm, back, bursts]


def bench_multiprocessing(method: str, runs: int) -> tuple[Launches, float | None]:
    """Process.start() -> child's stamp / value on a pipe; the first start reported apart."""
    import multiprocessing

    record = Launches(f"multiprocessing {method}")
    first = None
    try:
        ctx = multiprocessing.get_context(method)
    except ValueError:
        return record, None
    for i in range(runs + 1):
        reader, writer = ctx.Pipe(duplex=False)
        process = ctx.Process(target=mp_target, args=(writer,))
        wall0, t0 = time.time(), perf()
        process.start()
        t_started = perf()
        writer.close()
        child_wall = reader.recv()
        t1 = perf()
        process.join()
        reader.close()
        if i == 0:
            first = t1 - t0
            continue
        record.submit.append(t_started - t0)
        record.running.append(child_wall - wall0)
        record.result.append(t1 - t0)
    return record, first


def bench_bare_interpreter(runs: int) -> Launches:
    import subprocess

    record = Launches("python -c pass (subprocess.run)")
    for _ in range(runs):
        t0 = perf()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        record.result.append(perf() - t0)
    return record


def section_launch(jobs, quick: bool) -> None:  # noqa: ANN001
    import statistics

    runs = 8 if quick else 30
    pause = 0.6
    print(f"\n1. Process-job launch latency (ms; {runs} launches per case after 3 warm-ups)")
    ours = bench_launch(jobs, runs, pause, burst=4 if quick else 8)
    theirs = []
    firsts = {}
    for method in ("forkserver", "spawn"):
        record, first = bench_multiprocessing(method, runs)
        theirs.append(record)
        firsts[method] = first
    bare = bench_bare_interpreter(max(5, runs // 3))
    rows = [r.row() for r in [*ours, *theirs, bare]]
    table(
        ["how", "n", "new() med", "->running med", "p95", "->1st output med", "->result med", "p95", "max"],
        rows,
    )
    for method, first in firsts.items():
        if first is not None:
            print(f"  multiprocessing {method}: first start (not in the table) {ms(first)} ms")
        else:
            print(f"  multiprocessing {method}: not available here")
    print("  new(): how long the call blocks the caller (the prompt); ->running: until the function runs in")
    print("  the child (child's clock); ->result: until join() returns with the value in the caller")
    warm = statistics.median(ours[0].running)
    warm_result = statistics.median(ours[0].result)
    back = statistics.median(ours[1].running)
    back_result = statistics.median(ours[1].result)
    for label, running, result in (("spare ready", warm, warm_result), ("back to back", back, back_result)):
        status = "met" if running * 1000 < GOAL_LAUNCH_MS else "MISSED"
        print(
            f"  goal launch < {GOAL_LAUNCH_MS:.0f} ms, {label}: running after {ms(running)} ms ({status}); "
            f"result after {ms(result)} ms ({'met' if result * 1000 < GOAL_LAUNCH_MS else 'MISSED'})"
        )


# -- 2. kill latency ------------------------------------------------------------------------------------
class KillCase:
    def __init__(self, name: str, func, kind: str | None, runs: int, expect: str, ready: str) -> None:  # noqa: ANN001
        self.name = name
        self.func = func
        self.kind = kind
        self.runs = runs
        self.expect = expect
        self.ready = ready  # "output": wait for its first output; "coroutine": until it is a task
        self.times: list[float] = []
        self.state_after_kill: set[str] = set()
        self.final: set[str] = set()


def run_kill_case(jobs, case: KillCase) -> None:  # noqa: ANN001
    from bgshell.jobs import JobState

    for _ in range(case.runs):
        job = jobs.new(case.func) if case.kind is None else jobs.new(case.func, kind=case.kind)
        if case.ready == "output":
            ok = wait_for(lambda: job.output.written > 0 or job.done(), timeout=15, step=0.001)
        else:
            ok = wait_for(lambda: job.kind == "coroutine" and job.state is JobState.RUNNING, timeout=15, step=0.001)
        if not ok or job.done():
            raise RuntimeError(f"{case.name}: the job did not start ({job.state.value})")
        time.sleep(0.3)  # well inside its loop / sleep / await
        t0 = perf()
        jobs.kill(job.num)
        case.state_after_kill.add(job.state.value)
        job.join(60)
        case.times.append(perf() - t0)
        case.final.add(job.state.value)
        if not job.done():
            raise RuntimeError(f"{case.name}: still {job.state.value} 60 s after kill")


def section_kill(jobs, quick: bool) -> None:  # noqa: ANN001
    from bgshell.engine.runners.process import GRACE_SECONDS

    few, some = (1, 5) if quick else (2, 15)
    cases = [
        KillCase("thread, pure-Python loop", spin, None, some, "< 100 ms", "output"),
        KillCase("thread, in time.sleep(5)", nap, None, few, "~4.7 s: not before the sleep returns", "output"),
        KillCase("process, pure-Python loop", spin, "process", some, "SIGTERM: a few ms", "output"),
        KillCase(
            "process, ignores SIGTERM", spin_ignoring_sigterm, "process", max(few, 2),
            f"SIGKILL after the {GRACE_SECONDS:g} s grace", "output",
        ),
        KillCase("coroutine, asyncio.sleep(100)", snooze, None, some, "cancel: ~1 ms", "coroutine"),
    ]
    print("\n2. Kill latency: jobs.kill(n) -> job.join() returns (ms; the job killed 0.3 s after it started)")
    for case in cases:
        run_kill_case(jobs, case)
    rows = []
    for case in cases:
        rows.append(
            [
                case.name, str(len(case.times)), *summary(case.times)[:1], ms(min(case.times)), ms(max(case.times)),
                "/".join(sorted(case.state_after_kill)), "/".join(sorted(case.final)), case.expect,
            ]
        )
    table(["job", "n", "median", "min", "max", "state after kill()", "final", "expected"], rows)
    loop = cases[0]
    status = "met" if max(loop.times) < 0.1 else "MISSED"
    print(f"  goal: a thread job in pure Python killed within 100 ms: worst {ms(max(loop.times))} ms ({status})")




# -- main ----------------------------------------------------------------------------------------------
def main() -> int:
    import argparse
    import platform
    import shutil
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (about 30 s)")
    options = parser.parse_args()

    cache = os.environ.get(_OWN_CACHE)
    if os.environ.get("PYTHONDONTWRITEBYTECODE") and not cache:
        # Children would inherit "write no bytecode" (multiprocessing even passes -B), and
        # every start would compile from source.  Run again, caching in a private place.
        cache = tempfile.mkdtemp(prefix="bgshell-bench-pycache-")
        env = dict(os.environ, PYTHONPYCACHEPREFIX=cache, **{_OWN_CACHE: cache})
        env.pop("PYTHONDONTWRITEBYTECODE")
        sys.stdout.flush()
        os.execve(sys.executable, [sys.executable, os.path.abspath(__file__), *sys.argv[1:]], env)
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    from bgshell import BackgroundJobManager

    print("bgshell job-kind benchmark (engine only)" + (" (--quick)" if options.quick else ""))
    print(
        f"machine: {os.cpu_count()} CPUs ({len(os.sched_getaffinity(0))} usable), "
        f"{platform.machine()}, {platform.system()} {platform.release()}"
    )
    print(f"python:  {platform.python_implementation()} {platform.python_version()} ({sys.executable})")
    try:
        import cloudpickle

        print(f"cloudpickle {cloudpickle.__version__}")
    except ImportError:
        print("cloudpickle: not installed (process jobs will fail)")
    if cache:
        print("bytecode: cached in a private PYTHONPYCACHEPREFIX (PYTHONDONTWRITEBYTECODE was set: dropped)")
    print(f"load:    {load_text()} at the start")
    t_all = perf()
    jobs = BackgroundJobManager()
    try:
        section_launch(jobs, options.quick)
        section_kill(jobs, options.quick)
    finally:
        for job in jobs.running:  # nothing should be left; make sure of it
            job.kill()
        if cache:
            shutil.rmtree(cache, ignore_errors=True)
    print_ending(t_all)
    return 0


if __name__ == "__main__":
    sys.exit(main())
