"""Cluster jobs (issue 13): the logic, on one in-process dask cluster for the module.

The cluster is ``LocalCluster(processes=False)``: a scheduler and one worker with two
threads in this process, everything on 127.0.0.1.  Kills, output capture across
processes and faults need real worker processes: ``test_cluster_faults.py``.  Without
dask.distributed these tests are skipped, saying so, except the ones that check the
install hint, which hide dask on purpose.

Tests synchronise on the jobs' own ends (``join``), on TCP rendezvous and on
``threading.Event``s the jobs set or wait for (an in-process worker shares this
process's objects); ``wait_until`` only bounds a wait for a state the job reaches by
itself.
"""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from bgshell.engine.kinds import Runners
from bgshell.jobs import BackgroundJobManager, JobState
from clusterjobs import run_input as run
from clusterjobs import square, wait_until

HANG = 60
HINT = "cluster jobs need dask.distributed: pip install 'bgshell[dask]'"


# -- without dask: the one-line hint (these run everywhere) -----------------------------------
_WITHOUT_DASK = """
import sys
sys.modules["distributed"] = None  # as if the extra were not installed
{}
"""


def _hidden_dask(code: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _WITHOUT_DASK.format(code), *args], input=stdin,
                          capture_output=True, text=True, timeout=HANG)


def test_without_dask_the_api_raises_the_install_hint():
    done = _hidden_dask(
        "from bgshell import BackgroundJobManager\n"
        "try:\n    BackgroundJobManager().new(abs, -1, kind='cluster')\n"
        "except RuntimeError as exc:\n    print(type(exc).__name__, exc)\n"
    )
    assert done.stdout == f"ClusterUnavailable {HINT}\n", done.stderr


def test_without_dask_the_shell_says_how_to_install_it_in_one_line():
    done = _hidden_dask("from bgshell.cli import main; sys.exit(main())", "--cluster", "local",
                        stdin="6 * 7 &:cluster\nkind cluster\ncluster\n6 * 7 &:c\n")
    assert done.stderr.splitlines() == [
        f"bgshell: --cluster local: {HINT}",
        f"cannot start the job: {HINT}",
        f"kind: {HINT}",
        f"cluster: {HINT}",
        f"cannot start the job: {HINT}",
    ]
    assert done.stdout == ""


def test_without_dask_kind_cluster_at_start_says_so_and_runs_threads():
    done = _hidden_dask("from bgshell.cli import main; sys.exit(main())", "--kind", "cluster", stdin="6 * 7 &\nwait\n")
    assert done.stderr == f"bgshell: --kind cluster: {HINT}\n"
    assert done.stdout.splitlines()[-1].startswith("[1]  Done  6 * 7")


# -- with dask ---------------------------------------------------------------------------------
distributed = pytest.importorskip(
    "distributed", reason="dask.distributed is not installed: pip install '.[dask]' to run the cluster tests"
)

from bgshell.engine.runners.cluster import ClusterRunner  # noqa: E402  (needs dask)
from bgshell.engine.runners.clusters import ClusterSpec  # noqa: E402
from bgshell.shell.repl import Shell  # noqa: E402


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """One in-process cluster (a worker with two threads) and a runner connected to it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))
        local = distributed.LocalCluster(processes=False, n_workers=1, threads_per_worker=2,
                                         dashboard_address="127.0.0.1:0", worker_dashboard_address="127.0.0.1:0")
        runner = ClusterRunner()
        link = runner.use(ClusterSpec(address=local.scheduler_address))
        assert link.started.wait(HANG) and link.state == "ready", link.problem
        yield runner
        runner.close()
        local.close()


@pytest.fixture
def jobs(cluster):
    manager = BackgroundJobManager(runners=Runners({"cluster": cluster}))
    yield manager
    for job in manager.all.values():
        job.kill()
    for job in manager.all.values():
        job.wait_done(HANG)


@pytest.fixture
def shell(cluster):
    """A shell whose cluster jobs go to the module's cluster."""
    saved_main = sys.modules.get("__main__")
    made = Shell()
    made.jobs.runners = Runners({"cluster": cluster})
    yield made
    for job in made.jobs.running:
        job.kill()
    made.jobs.wait(timeout=HANG)
    if saved_main is not None:
        sys.modules["__main__"] = saved_main


#: Shared with the in-process worker's threads (the same process).
GATE = threading.Event()
ENTERED = threading.Event()
RAN: list[str] = []


def gated(name):
    RAN.append(name)
    ENTERED.set()
    GATE.wait(HANG)
    return name


def boom():
    raise ValueError("from the worker")


class Picky(Exception):
    def __init__(self, a, b):
        super().__init__(f"{a}-{b}")


def picky():
    raise Picky(1, 2)


def talk_then_wait():
    print("first")
    ENTERED.set()
    GATE.wait(HANG)
    print("second", file=sys.stderr)
    return 5


def python_loop():
    ENTERED.set()
    while True:
        pass


@pytest.fixture
def gate():
    GATE.clear(), ENTERED.clear(), RAN.clear()
    yield
    GATE.set()


# -- the API -----------------------------------------------------------------------------------
def test_a_function_job_runs_on_the_cluster_and_shows_its_worker(jobs):
    job = jobs.new(square, 7, kind="cluster")
    assert job.kind == "cluster"
    assert job.get(HANG) == 49 and job.state is JobState.COMPLETED
    assert job.where.startswith("inproc://")


def test_a_job_is_queued_until_a_worker_starts_it(jobs, gate):
    first, second = jobs.new(gated, "a", kind="cluster"), jobs.new(gated, "b", kind="cluster")
    assert wait_until(lambda: len(RAN) == 2 and first.state is second.state is JobState.RUNNING)
    third = jobs.new(gated, "c", kind="cluster")  # both threads are taken
    assert third.state is JobState.QUEUED
    GATE.set()
    assert [job.get(HANG) for job in (first, second, third)] == ["a", "b", "c"]


def test_a_dead_job_keeps_the_workers_traceback(jobs):
    job = jobs.new(boom, kind="cluster")
    job.join(HANG)
    assert job.state is JobState.DEAD
    assert isinstance(job.exception, ValueError) and job.error_summary == "ValueError: from the worker"
    assert 'raise ValueError("from the worker")' in job.traceback_text
    frames = [line for line in job.traceback_text.splitlines() if line.startswith("  File ")]
    assert len(frames) == 1 and frames[0].startswith(f'  File "{__file__}"')  # none of the runner's


def test_an_exception_the_shell_cannot_rebuild_keeps_its_name_and_message(jobs):
    job = jobs.new(picky, kind="cluster")
    job.join(HANG)
    assert type(job.exception).__name__ == "Picky" and str(job.exception) == "1-2"


def test_work_that_cannot_be_sent_fails_at_launch_in_one_line(jobs):
    with pytest.raises(RuntimeError) as caught:
        jobs.new(square, threading.Lock(), kind="cluster")
    assert str(caught.value) == "cannot send the job to the cluster: TypeError: cannot pickle '_thread.lock' object"
    assert len(jobs) == 0


def test_output_is_the_jobs_own_and_arrives_while_it_runs(jobs, gate, capfd):
    job = jobs.new(talk_then_wait, kind="cluster")
    assert ENTERED.wait(HANG)
    assert wait_until(lambda: job.output.text() == "first\n")  # before the job has ended
    GATE.set()
    assert job.get(HANG) == 5
    assert job.output.text() == "first\nsecond\n"
    assert capfd.readouterr() == ("", "")


def test_killing_a_queued_job_cancels_it_for_sure(jobs, gate):
    holders = [jobs.new(gated, name, kind="cluster") for name in "ab"]
    assert wait_until(lambda: len(RAN) == 2)
    queued = jobs.new(gated, "never", kind="cluster")
    assert queued.state is JobState.QUEUED
    queued.kill()
    queued.join(HANG)
    assert queued.state is JobState.KILLED and "before it started" in str(queued.exception)
    GATE.set()
    for job in holders:
        job.join(HANG)
    assert jobs.new(square, 3, kind="cluster").get(HANG) == 9
    assert "never" not in RAN


def test_killing_a_running_job_stops_it_and_frees_its_thread(jobs, gate):
    job = jobs.new(python_loop, kind="cluster")
    assert ENTERED.wait(HANG) and wait_until(lambda: job.state is JobState.RUNNING)
    job.kill()
    job.join(HANG)
    assert job.state is JobState.KILLED and str(job.exception).startswith("killed on inproc://")
    results = [jobs.new(square, n, kind="cluster") for n in range(4)]  # both threads work
    assert [r.get(HANG) for r in results] == [0, 1, 4, 9]


# -- the shell -------------------------------------------------------------------------------
def test_the_shell_runs_code_on_the_cluster_and_binds_its_names(shell):
    run(shell, "def f(x):\n    print('from', x)\n    return x * 2\n")
    out, err = run(shell, "y = f(21) &:c")
    assert (out, err) == ("[1] y = f(21)\n", "")
    shell.jobs[1].join(HANG)
    assert shell.namespace["y"] == 42
    assert run(shell, "output 1") == ("from 21\n", "")
    lines = run(shell, "jobs -l")[0].splitlines()
    assert lines[0].split()[:2] == ["[1]", "Done"] and lines[0].split()[3] == "cluster"
    assert lines[1].startswith("      on inproc://") and "(pid " in lines[1]


def test_kind_cluster_and_the_traceback_shows_the_typed_lines(shell):
    assert run(shell, "kind cluster") == ("New jobs run as: cluster\n", "")
    run(shell, "def g(x):\n    return x[5]\n")
    run(shell, "g([]) &")
    job = shell.jobs[1]
    job.join(HANG)
    assert job.kind == "cluster" and job.state is JobState.DEAD
    _, err = run(shell, "traceback 1")
    assert "    return x[5]\n" in err and "IndexError: list index out of range" in err
    assert '<python-input-' in err


def test_unsendable_input_fails_at_launch_in_one_line(shell):
    run(shell, "import threading; lock = threading.Lock()")
    out, err = run(shell, "lock.acquire() &:cluster")
    assert out == ""
    assert err == ("cannot start the job: cannot send the job to the cluster (the value of 'lock'): "
                   "TypeError: cannot pickle '_thread.lock' object\n")


def test_the_cluster_builtin_shows_the_workers(shell):
    out, err = run(shell, "cluster")
    lines = out.splitlines()
    assert err == "" and lines[0].startswith("Cluster inproc://") and ": ready, connected" in lines[0]
    assert lines[1].split()[0] == "scheduler" and lines[2].split()[0] == "dashboard"
    assert "http://" in lines[2]
    assert lines[3] == "  1 worker, 2 threads:" and "2 threads" in lines[4]


def test_the_exit_guard_lists_cluster_jobs_and_leaving_interrupts_them(shell, gate, cluster):
    own = ClusterRunner()  # leaving closes the runner: not the module's
    own.use(ClusterSpec(address=cluster.link.address))
    shell.jobs.runners = Runners({"cluster": own})
    run(shell, "from test_cluster import python_loop")
    run(shell, "python_loop() &:c")
    job = shell.jobs[1]
    assert ENTERED.wait(HANG) and wait_until(lambda: job.state is JobState.RUNNING)
    shell.interactive = True
    out, err = run(shell, "exit()")
    assert "There is 1 running job:" in err and "cluster" in err and "python_loop()" in err
    assert shell.stop_jobs() is True
    assert job.state is JobState.KILLED
