#!/usr/bin/env python3
"""Benchmark cluster jobs (``&:cluster``) beside bare dask.distributed, in one run.

    python bench/bench_cluster.py [--quick]

On a local cluster of 2 worker processes (one thread each) that bgshell starts, as
``--cluster local:2`` would:

1. one small job, launch to result, one at a time: through the shell
   (``Shell.handle("x = inc(1) &:c")`` until the job has ended), through the manager
   (``jobs.new(inc, 1, kind="cluster").get()``), and bare dask
   (``client.submit(inc, 1, pure=False).result()`` on a client of its own to the
   same scheduler), interleaved; goal: manager <= 1.2x bare (dask batches its
   messages on 2-10 ms timers, which sets the floor);
2. 1,000 small jobs submitted at once, until all have ended: the manager, bare
   ``client.submit`` + ``client.gather``, and process jobs (``kind="process"``) for
   scale; goal: manager <= 1.3x bare;
3. kill latency of a running cluster job (a Python loop), ``kill()`` to ``join()``
   returning, beside one ``client.run`` round trip (what reaching a worker costs);
4. time to first prompt, ``bgshell --cluster local`` against plain ``bgshell``, in a
   pty (needs pexpect; reuses bench_shell.py's pty driver); goal: no difference.
"""

from __future__ import annotations

import io
import os
import statistics
import sys
import tempfile
import time
from contextlib import redirect_stdout

from report import load_text, ms, p95, print_ending, table  # bench/report.py (beside this script)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
perf = time.perf_counter
GOAL_ONE = 1.2
GOAL_MANY = 1.3


def inc(x):
    return x + 1


def spin(x):
    while True:
        x += 1


def _ratio(value: float, base: float, goal: float | None = None) -> str:
    text = f"{value / base:.2f}x"
    if goal is not None:
        text += " (goal <= %.1fx: %s)" % (goal, "met" if value / base <= goal else "NOT met")
    return text


# -- the cluster ---------------------------------------------------------------------------
def setup():
    """A runner on a local cluster of 2 workers, a manager using it, and a bare client."""
    import distributed

    from bgshell.engine.kinds import Runners
    from bgshell.engine.runners.cluster import ClusterRunner
    from bgshell.engine.runners.clusters import ClusterSpec
    from bgshell.jobs import BackgroundJobManager

    runner = ClusterRunner()
    t0 = perf()
    link = runner.use(ClusterSpec(workers=2))
    if not link.started.wait(120) or link.state != "ready":
        sys.exit(f"the local cluster did not start: {link.problem}")
    print(f"local cluster of 2 workers up in {perf() - t0:.2f} s (in the background of a session)")
    jobs = BackgroundJobManager(runners=Runners({"cluster": runner}))
    bare = distributed.Client(link.address, set_as_default=False)
    return runner, jobs, bare


# -- 1. one job --------------------------------------------------------------------------------
def bench_one(jobs, bare, repeats: int) -> None:
    from bgshell.shell.repl import Shell

    print(f"\n1. One small job, launch to result (median of {repeats}, interleaved, after 10 warm-ups)")
    shell = Shell()
    shell.jobs.runners = jobs.runners
    shell.namespace["inc"] = inc

    def via_shell() -> None:
        with redirect_stdout(io.StringIO()):
            shell.handle("x = inc(1) &:c")
        shell.jobs.newest.join()

    ways = {
        "bgshell: x = inc(1) &:c": via_shell,
        "bgshell: jobs.new(inc, 1, kind='cluster').get()": lambda: jobs.new(inc, 1, kind="cluster").get(),
        "bare dask: client.submit(inc, 1).result()": lambda: bare.submit(inc, 1, pure=False).result(),
    }
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(10):
        for way in ways.values():
            way()
    order = list(ways.items())
    for round_number in range(repeats):
        rotated = order[round_number % len(order):] + order[:round_number % len(order)]  # no way always first
        for name, way in rotated:
            t0 = perf()
            way()
            times[name].append(perf() - t0)
        if len(shell.jobs) > 100:
            with redirect_stdout(io.StringIO()):
                shell.jobs.flush(report=lambda fresh: None)
    base = statistics.median(times["bare dask: client.submit(inc, 1).result()"])
    rows = [[name, ms(statistics.median(v)), ms(p95(v)), _ratio(statistics.median(v), base)]
            for name, v in times.items()]
    table(["way", "median ms", "p95 ms", "vs bare"], rows)
    typed = statistics.median(times["bgshell: x = inc(1) &:c"])
    manager = statistics.median(times["bgshell: jobs.new(inc, 1, kind='cluster').get()"])
    print(f"  &:c / bare: {_ratio(typed, base, GOAL_ONE)}  (the issue's measure)")
    print(f"  jobs.new / bare: {_ratio(manager, base, GOAL_ONE)}")


# -- 2. 1,000 jobs ----------------------------------------------------------------------------
def bench_many(jobs, bare, count: int, rounds: int) -> None:
    from bgshell.jobs import BackgroundJobManager

    print(f"\n2. {count:,} small jobs submitted at once, until all have ended (median of {rounds} rounds)")
    processes = BackgroundJobManager()

    def manager() -> None:
        made = [jobs.new(inc, i, kind="cluster") for i in range(count)]
        for job in made:
            job.join()
        with redirect_stdout(io.StringIO()):
            jobs.flush(report=lambda fresh: None)

    def dask() -> None:
        bare.gather([bare.submit(inc, i, pure=False) for i in range(count)])

    def process() -> None:
        made = [processes.new(inc, i, kind="process") for i in range(count)]
        for job in made:
            job.join()

    ways = {"bgshell cluster jobs (manager)": manager, "bare dask: submit + gather": dask,
            "bgshell process jobs": process}
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(rounds):
        for name, way in ways.items():
            t0 = perf()
            way()
            times[name].append(perf() - t0)
    base = statistics.median(times["bare dask: submit + gather"])
    rows = [[name, f"{statistics.median(v):.2f}", f"{count / statistics.median(v):,.0f}",
             _ratio(statistics.median(v), base)] for name, v in times.items()]
    table(["way", "median s", "jobs/s", "vs bare"], rows)
    print(f"  manager / bare: {_ratio(statistics.median(times['bgshell cluster jobs (manager)']), base, GOAL_MANY)}")


# -- 3. kill ---------------------------------------------------------------------------------------
def bench_kill(jobs, bare, repeats: int) -> None:
    import pickle

    from bgshell.engine.runners import clustership
    from bgshell.jobs import JobState

    print(f"\n3. Kill latency of a running cluster job in a Python loop (median of {repeats})")
    kills, trips = [], []
    for _ in range(repeats):
        job = jobs.new(spin, 0, kind="cluster")
        while job.state is not JobState.RUNNING:
            time.sleep(0.001)
        t0 = perf()
        job.kill()
        job.join()
        kills.append(perf() - t0)
        t0 = perf()
        bare.run(pickle.loads, clustership.blob("interrupt", ["nobody"], "interrupt"))
        trips.append(perf() - t0)
    table(["what", "median ms", "p95 ms"], [
        ["kill() -> join() returns (Killed)", ms(statistics.median(kills)), ms(p95(kills))],
        ["one client.run round trip to the workers", ms(statistics.median(trips)), ms(p95(trips))],
    ])


# -- 4. first prompt ----------------------------------------------------------------------------
def bench_prompt(runs: int) -> None:
    print(f"\n4. Start to first prompt in a pty, with and without --cluster local (median of {runs}, alternated)")
    try:
        import bench_shell
    except SystemExit as exc:  # pexpect missing
        print(f"  skipped: {exc}")
        return
    plain = bench_shell.Contender("bgshell", bench_shell.bgshell_argv(), r">>> ", r"42")
    local = bench_shell.Contender("bgshell --cluster local", [*plain.argv, "--cluster", "local"], r">>> ", r"42")
    with tempfile.TemporaryDirectory() as home:
        env = bench_shell.make_env(home)
        times: dict[str, list[float]] = {plain.name: [], local.name: []}
        editing: dict[str, list[float]] = {plain.name: [], local.name: []}
        for contender in (plain, local):
            shell, _ = bench_shell.start(contender, env)
            shell.close()
        for i in range(runs):
            for contender in (plain, local) if i % 2 == 0 else (local, plain):
                shell, seconds = bench_shell.start(contender, env)
                times[contender.name].append(seconds)
                editing[contender.name].append(bench_shell.until_editing(shell))
                shell.close()
    base, base_edit = statistics.median(times[plain.name]), statistics.median(editing[plain.name])
    table(["shell", "first prompt ms", "vs plain", "key echoed ms", "vs plain"], [
        [name, ms(statistics.median(times[name])), _ratio(statistics.median(times[name]), base),
         ms(statistics.median(editing[name])), _ratio(statistics.median(editing[name]), base_edit)]
        for name in times
    ])


def main() -> int:
    quick = "--quick" in sys.argv[1:]
    started = perf()
    print(f"bench_cluster.py on Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {load_text()}")
    try:
        import distributed  # noqa: F401
    except ImportError:
        sys.exit("bench_cluster.py needs dask.distributed: pip install '.[dask]'")
    os.environ.setdefault("XDG_STATE_HOME", tempfile.mkdtemp(prefix="bench-cluster-state-"))
    runner, jobs, bare = setup()
    try:
        bench_one(jobs, bare, 20 if quick else 50)
        bench_many(jobs, bare, 1000, 1 if quick else 3)
        bench_kill(jobs, bare, 5 if quick else 10)
    finally:
        bare.close()
        runner.close()
    bench_prompt(3 if quick else 7)
    print_ending(started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
