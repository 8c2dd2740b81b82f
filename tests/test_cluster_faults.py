"""Cluster jobs on real worker processes: kills, output capture, faults, the local
cluster a session starts (issue 13).

A module-wide external cluster (``dask scheduler`` + ``dask worker --nworkers 2``,
one thread each, with nannies, on 127.0.0.1; see ``clusterjobs.ExternalCluster``),
and clusters of their own for the tests that kill a scheduler.  Jobs reach a TCP
rendezvous when they are where the test needs them; the tests wait for the jobs'
ends, never sleep.  Skipped, saying so, without dask.distributed.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

distributed = pytest.importorskip(
    "distributed", reason="dask.distributed is not installed: pip install '.[dask]' to run the cluster tests"
)

from bgshell.engine.kinds import Runners  # noqa: E402
from bgshell.engine.runners.cluster import ClusterRunner  # noqa: E402
from bgshell.engine.runners.clusters import ClusterSpec  # noqa: E402
from bgshell.jobs import BackgroundJobManager, JobState  # noqa: E402
from clusterjobs import (  # noqa: E402
    ExternalCluster, chatter, hold, loaded_modules, run_input, spin, square, wait_until,
)
from processes import wait_gone  # noqa: E402

HANG = 60
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module", autouse=True)
def state_home(tmp_path_factory):
    """The cluster log goes to a folder of the test's, not the user's."""
    with pytest.MonkeyPatch.context() as patch:
        folder = tmp_path_factory.mktemp("state")
        patch.setenv("XDG_STATE_HOME", str(folder))
        yield folder


@pytest.fixture(scope="module")
def external():
    cluster = ExternalCluster(nworkers=2).start()
    yield cluster
    cluster.stop()


def connected(address: str) -> tuple[ClusterRunner, BackgroundJobManager]:
    runner = ClusterRunner()
    link = runner.use(ClusterSpec(address=address))
    assert link.started.wait(HANG) and link.state == "ready", link.problem
    return runner, BackgroundJobManager(runners=Runners({"cluster": runner}))


@pytest.fixture
def jobs(external):
    runner, manager = connected(external.address)
    yield manager
    runner.close()


@contextmanager
def rendezvous():
    """A listening socket on 127.0.0.1: (port, accept) where accept() returns what the
    next job that connects sends, and the connection (open)."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(HANG)

        def accept() -> tuple[str, socket.socket]:
            conn, _ = server.accept()
            return conn.recv(100).decode(), conn

        yield server.getsockname()[1], accept


def test_output_is_captured_per_job_on_the_worker_and_streamed_back(jobs, capfd):
    with rendezvous() as (port, accept):
        job = jobs.new(chatter, port, kind="cluster")
        said, conn = accept()
        assert said == "printed"
        assert wait_until(lambda: job.output.text() == "line 1\n")  # while the job still runs
        conn.sendall(b"g")
        conn.close()
    assert job.get(HANG) == "chatted"
    assert job.output.text() == "line 1\nto stderr\nline 3\n"
    assert capfd.readouterr() == ("", "")


def test_workers_need_no_bgshell(jobs):
    assert jobs.new(loaded_modules, kind="cluster").get(HANG) == []


def test_kill_stops_python_code_on_the_worker_and_frees_its_thread(jobs):
    with rendezvous() as (port, accept):
        job = jobs.new(spin, port, kind="cluster")
        pid, _ = accept()
        assert wait_until(lambda: job.state is JobState.RUNNING)
        job.kill()
        job.join(HANG)
    assert job.state is JobState.KILLED and str(job.exception).startswith("killed on tcp://127.0.0.1:")
    assert f"(pid {pid})" in job.where
    assert [jobs.new(square, n, kind="cluster").get(HANG) for n in (2, 3, 4)] == [4, 9, 16]


def test_a_job_blocked_in_c_says_so_and_kill_9_restarts_its_worker(jobs, external):
    with rendezvous() as (port, accept):
        job = jobs.new(hold, port, kind="cluster")
        pid, _ = accept()
        assert wait_until(lambda: job.state is JobState.RUNNING)
        job.kill()
        assert wait_until(lambda: "blocked in C code" in (job.where or ""))
        assert job.state is JobState.KILLING
        job.kill(force=True)
        job.join(HANG)
    assert job.state is JobState.KILLED and "was restarted (kill -9)" in str(job.exception)
    assert wait_gone(int(pid), HANG)
    external.wait_workers(2)  # its nanny started another
    assert jobs.new(square, 5, kind="cluster").get(HANG) == 25


def test_a_worker_that_dies_under_a_job_makes_it_dead_and_a_second_run_is_stopped(jobs):
    """This scheduler allows retries (dask's default), so dask may start the job again
    elsewhere before the shell hears of the death: that run is stopped at once."""
    with rendezvous() as (port, accept):
        job = jobs.new(spin, port, kind="cluster")
        pid, _ = accept()
        os.kill(int(pid), signal.SIGKILL)
        job.join(HANG)
    assert job.state is JobState.DEAD and isinstance(job.exception, RuntimeError)
    assert "its worker tcp://127.0.0.1:" in str(job.exception) and "died" in str(job.exception)
    assert [jobs.new(square, n, kind="cluster").get(HANG) for n in (6, 7)] == [36, 49]  # no thread is held


def test_a_lost_scheduler_ends_the_jobs_dead_quietly_and_connect_recovers(capfd):
    lost = ExternalCluster(nworkers=1).start()
    other = None
    try:
        runner, jobs = connected(lost.address)
        with rendezvous() as (port, accept):
            running = jobs.new(hold, port, kind="cluster")
            accept()
            queued = jobs.new(square, 2, kind="cluster")  # the one thread is taken
            assert wait_until(lambda: running.state is JobState.RUNNING)
            lost.kill_scheduler()
            running.join(HANG)
            queued.join(HANG)
        assert running.state is queued.state is JobState.DEAD
        assert str(running.exception).startswith("lost contact with the cluster (may still run on tcp://127.0.0.1:")
        assert str(queued.exception) == "lost contact with the cluster before the job started"
        other = ExternalCluster(nworkers=1).start()
        runner.use(ClusterSpec(address=other.address)).started.wait(HANG)
        assert jobs.new(square, 7, kind="cluster").get(HANG) == 49
        runner.close()
    finally:
        lost.stop()
        if other is not None:
            other.stop()
    assert capfd.readouterr() == ("", "")


def test_the_cluster_builtin_connects_and_lists_workers_with_their_jobs(external):
    from bgshell.shell.repl import Shell

    saved = sys.modules.get("__main__")
    shell = Shell()
    shell.jobs.runners = Runners({"cluster": ClusterRunner()})
    try:
        out, err = run_input(shell, f"cluster connect {external.address}")
        assert (out, err) == (f"Connected to {external.address}: 2 workers.\n", "")
        out, _ = run_input(shell, "cluster")
        assert out.startswith(f"Cluster {external.address}: ready, connected\n")
        assert "  2 workers, 2 threads:\n" in out and out.count("    tcp://127.0.0.1:") == 2
        out, _ = run_input(shell, "cluster close")
        assert out == f"Disconnected from {external.address}.\n"
        assert run_input(shell, "cluster close") == ("No cluster to close.\n", "")
    finally:
        shell.jobs.runners.shutdown()
        if saved is not None:
            sys.modules["__main__"] = saved


def test_a_session_with_a_local_cluster_listens_on_localhost_only_and_leaves_nothing(state_home):
    psutil = pytest.importorskip("psutil")
    code = (
        "import os, psutil\n"
        "def f(x):\n    print('on', x)\n    return x + 1\n\n"
        "y = f(1) &:cluster\nwait\n"
        "link = jobs.runners.get('cluster').link\n"
        "tree = [psutil.Process(link.host.process.pid), *psutil.Process(link.host.process.pid).children(recursive=True)]\n"
        "print(sorted({c.laddr.ip for p in tree for c in p.net_connections('inet') if c.status == 'LISTEN'}))\n"
        "print(len(tree) >= 3, [p.pid for p in tree])\n"
        "print(link.client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.allowed_failures))\n"
        "output 1\ny\n"
    )
    done = subprocess.run([sys.executable, "-m", "bgshell", "--cluster", "local:1"], input=code, text=True,
                          capture_output=True, timeout=HANG, env=dict(os.environ, XDG_STATE_HOME=str(state_home)))
    lines = done.stdout.splitlines()
    assert done.stderr == "" and done.returncode == 0, done.stderr
    assert lines[0] == "[1] y = f(1)" and lines[1].startswith("[1]  Done  y = f(1)")
    assert lines[2] == "['127.0.0.1']" and lines[3].startswith("True [")
    assert lines[5:] == ["on 1", "2"]
    assert lines[4] == "0"  # the scheduler retries no task: a job runs at most once
    pids = [int(pid) for pid in lines[3][len("True ["):-1].split(", ")]
    assert all(wait_gone(pid, HANG) for pid in pids)
    assert (state_home / "bgshell" / "cluster.log").stat().st_mode & 0o077 == 0
    del psutil


# -- helpers --------------------------------------------------------------------------------
def _accept_within(accept, seconds: float):
    """*accept()*, but give up after *seconds* with TimeoutError."""
    import threading

    got: list = []
    thread = threading.Thread(target=lambda: got.append(accept()), daemon=True)
    thread.start()
    thread.join(seconds)
    if not got:
        raise TimeoutError
    return got[0]
