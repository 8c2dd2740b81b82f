"""The background job engine, ``bgshell.jobs``: the seed's API and the fixes to it.

Every test synchronises on events (``join``, ``Event``, ``Barrier``), never on sleeps,
and asserts no timings.  ``jobs`` is a fresh manager (see ``conftest.py``).
"""

from __future__ import annotations

import contextvars
import operator
import random
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

import bgshell
import bgshell.jobs as bgjobs
from bgshell.jobs import (
    DIED,
    NOT_FINISHED,
    BackgroundJobBase,
    BackgroundJobExpr,
    BackgroundJobFunc,
    BackgroundJobManager,
    JobKilled,
    JobState,
    NoSuchJob,
)
from bgshell.engine.kinds import Runners
from bgshell.engine.runners.thread import ThreadRunner

REPO = Path(__file__).resolve().parent.parent
GLOBAL_OFFSET = 1000


# -- helpers -------------------------------------------------------------------------
def settle(manager: BackgroundJobManager) -> None:
    """Wait until every job of *manager* has ended and been filed, without marking any
    job as seen (``join()`` would)."""
    while manager.running:
        manager.wait()


def count_to(n: int) -> int:
    """Pure-Python work: interruptible by ``kill`` at every iteration."""
    total = 0
    for i in range(n):
        total += i
    return total


def crash(message: str = "boom"):
    raise ValueError(message)


def stderr_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


class SquareJob(BackgroundJobBase):
    """A job class written the way the seed documents: own __init__, strform, call()."""

    def __init__(self, x: int) -> None:
        self.x = x
        self.strform = f"square({x})"
        self._init()

    def call(self) -> int:
        return self.x * self.x


# -- the public names ----------------------------------------------------------------
def test_package_exports_the_manager_and_job_classes():
    from bgshell import BackgroundJobManager as FromPackage

    assert FromPackage is BackgroundJobManager
    for name in ("BackgroundJobManager", "BackgroundJobBase", "BackgroundJobExpr", "BackgroundJobFunc"):
        assert name in bgjobs.__all__
        assert getattr(bgshell, name) is getattr(bgjobs, name)
    assert issubclass(BackgroundJobExpr, BackgroundJobBase)
    assert issubclass(BackgroundJobFunc, BackgroundJobBase)
    job = FromPackage().new(sum, range(10))
    job.join()
    assert job.result == 45


# -- new() with an expression --------------------------------------------------------
def test_new_expression_sees_callers_locals_and_globals(jobs):
    def caller():
        local_value = 23
        job = jobs.new("local_value + GLOBAL_OFFSET")
        job.join()
        return job

    job = caller()
    assert job.result == 1023
    assert str(job) == "local_value + GLOBAL_OFFSET"
    assert isinstance(job, BackgroundJobExpr)


def test_new_expression_with_one_dict_uses_it_as_globals_and_locals(jobs):
    namespace = {"a": 6, "b": 7}
    job = jobs.new("(c := a * b)", namespace)
    job.join()
    assert job.result == 42
    assert namespace["c"] == 42  # the same dict served as locals
    # The caller's own variables are not visible through an explicit namespace.
    secret = 1  # noqa: F841
    job = jobs.new("secret", {})
    job.join()
    assert job.state is JobState.DEAD
    assert isinstance(job.exception, NameError)


def test_new_expression_with_globals_and_locals(jobs):
    glob, loc = {"x": "global", "y": 1}, {"x": "local", "z": 2}
    job = jobs.new("(x, y + z)", glob, loc)
    job.join()
    assert job.result == ("local", 3)


def test_new_expression_with_three_dicts_is_a_value_error(jobs):
    with pytest.raises(ValueError):
        jobs.new("1", {}, {}, {})
    assert jobs.all == {}
    assert jobs.running == []


@pytest.mark.parametrize("source", ["1 +", "x = 1", "print 'hello'"])
def test_new_expression_that_does_not_compile_starts_nothing(jobs, source):
    done = jobs.new(int, "1")
    done.join()
    before = dict(jobs.all)
    with pytest.raises(SyntaxError):
        jobs.new(source)
    assert jobs.all == before
    assert jobs.running == []


# -- new() with a function -----------------------------------------------------------
def test_new_function_with_args_and_kw(jobs):
    def f(a, b, *, z):
        return (a, b, z)

    job = jobs.new(f, 1, 2, kw=dict(z=3))
    job.join()
    assert job.result == (1, 2, 3)
    assert isinstance(job, BackgroundJobFunc)
    assert str(job) == "f(1, 2, z=3)"  # the call, as typed


def test_new_daemon_flag(jobs):
    assert jobs.new(int, daemon=True).daemon is True
    assert jobs.new(int, daemon=False).daemon is False
    assert jobs.new(int).daemon is False


@pytest.mark.parametrize("thing", [42, None, b"1 + 1", ["f"]], ids=["int", "None", "bytes", "list"])
def test_new_with_neither_callable_nor_string_is_a_type_error(jobs, thing):
    with pytest.raises(TypeError):
        jobs.new(thing)
    assert jobs.all == {}


def test_new_with_unknown_keyword_is_a_type_error_not_dropped(jobs):
    called = threading.Event()

    def f(*args, **kwargs):
        called.set()

    with pytest.raises(TypeError, match="z"):
        jobs.new(f, 1, z=5)
    assert jobs.all == {}
    assert not called.is_set()


# -- looking jobs up, reporting ----------------------------------------------------------
def test_getitem_by_number_and_by_job(jobs):
    first = jobs.new(int, "1")
    second = jobs.new(int, "2")
    assert jobs[1] is first
    assert jobs[2] is second
    assert jobs[second] is second
    assert jobs[first.num] is first


def test_calling_the_manager_prints_running_completed_and_dead_groups(jobs, capsys):
    gate = threading.Event()
    running = jobs.new("gate.wait(10)", {"gate": gate})
    completed = jobs.new("6 * 7", {})
    dead = jobs.new("1 / 0", {})
    completed.join()
    dead.join()
    try:
        assert jobs() is None
        out_call = capsys.readouterr().out
        jobs.status()
        out_status = capsys.readouterr().out
    finally:
        gate.set()
    expected = (
        "Running jobs:\n"
        f"{running.num} : gate.wait(10)\n"
        "\n"
        "Completed jobs:\n"
        f"{completed.num} : 6 * 7\n"
        "\n"
        "Dead jobs:\n"
        f"{dead.num} : 1 / 0\n"
        "\n"
    )
    assert out_call == expected
    assert out_status == expected


def test_status_with_no_jobs_prints_nothing(jobs, capsys):
    jobs()
    assert capsys.readouterr().out == ""


def test_result_by_number(jobs):
    job = jobs.new(operator.add, 40, 2)
    job.join()
    assert jobs.result(job.num) == 42 == jobs[job.num].result


def test_traceback_by_number_and_on_the_job(jobs, capsys):
    def failing_step():
        raise ZeroDivisionError("the job divided by zero")

    job = jobs.new(failing_step)
    job.join()
    capsys.readouterr()
    jobs.traceback(job.num)
    by_number = capsys.readouterr().out
    job.traceback()
    on_job = capsys.readouterr().out
    assert by_number == on_job
    assert "Traceback (most recent call last)" in by_number
    assert "ZeroDivisionError: the job divided by zero" in by_number
    assert "failing_step" in by_number
    # The engine's own frames are not the user's business.
    assert "bgshell/runners" not in by_number and "bgshell/jobs.py" not in by_number
    assert "bgshell/engine" not in by_number
    assert job.traceback_text is not None and "failing_step" in job.traceback_text


def test_traceback_without_argument_prints_every_dead_job(jobs, capsys):
    ok = jobs.new(int, "1")
    first = jobs.new(crash, "first failure")
    second = jobs.new(crash, "second failure")
    for job in (ok, first, second):
        job.join()
    capsys.readouterr()
    assert jobs.traceback() is None
    out = capsys.readouterr().out
    assert f"Traceback for: {first!r}" in out
    assert f"Traceback for: {second!r}" in out
    assert "ValueError: first failure" in out and "ValueError: second failure" in out
    assert repr(ok) not in out


def test_lists_running_completed_dead_and_all(jobs):
    gate = threading.Event()
    running = jobs.new(gate.wait, 10)
    completed = jobs.new(int, "3")
    dead = jobs.new(crash)
    completed.join()
    dead.join()
    try:
        assert jobs.running == [running]
        assert jobs.completed == [completed]
        assert jobs.dead == [dead]
        assert jobs.all == {1: running, 2: completed, 3: dead}
    finally:
        gate.set()
    running.join()
    assert jobs.running == []
    assert jobs.completed == [completed, running]


def test_job_attributes_through_a_jobs_life(jobs):
    gate = threading.Event()
    started = threading.Event()

    def work():
        started.set()
        gate.wait(10)
        return "value"

    job = jobs.new(work)
    assert started.wait(10)
    try:
        assert job.num == 1
        assert job.status == "Running"
        assert job.stat_code == 1
        assert job.finished is False
        assert job.result is NOT_FINISHED
        assert job.is_alive() and not job.done()
    finally:
        gate.set()
    job.join()
    assert job.status == "Completed"
    assert job.stat_code == 2
    assert job.finished is True
    assert job.result == "value"
    assert not job.is_alive() and job.done()

    dead = jobs.new(crash)
    dead.join()
    assert dead.num == 2
    assert dead.status.startswith("Dead")
    assert dead.stat_code == -1
    assert dead.finished is None
    assert dead.result is DIED


def test_str_is_strform_and_repr_names_the_number(jobs):
    job = jobs.new("2 ** 10", {})
    job.join()
    assert str(job) == job.strform == "2 ** 10"
    assert repr(job) == "<BackgroundJob #1: 2 ** 10>"


# -- job classes -------------------------------------------------------------------------
def test_base_class_cannot_be_instantiated():
    with pytest.raises(NotImplementedError):
        BackgroundJobBase()


def test_subclass_runs_with_start_and_join():
    job = SquareJob(7)
    assert str(job) == "square(7)"
    assert job.result is NOT_FINISHED
    job.start()
    job.join(timeout=10)
    assert not job.is_alive()
    assert job.result == 49
    assert job.status == "Completed"
    with pytest.raises(RuntimeError):
        job.start()  # like a thread, a job runs once


def test_subclass_runs_when_submitted(jobs):
    job = SquareJob(12)
    assert jobs.submit(job) is job
    job.join()
    assert job.num == 1
    assert jobs[1] is job
    assert job.result == 144
    assert jobs.completed == [job]
    assert repr(job) == "<BackgroundJob #1: square(12)>"


# -- remove, flush, numbering ------------------------------------------------------------
def test_remove_forgets_the_job_everywhere(jobs, capsys):
    done = jobs.new(int, "1")
    died = jobs.new(crash)
    done.join()
    died.join()
    assert jobs.remove(done.num) is True
    assert jobs.remove(died) is True
    assert jobs.all == {}
    assert jobs.completed == [] and jobs.dead == []
    with pytest.raises(NoSuchJob):
        jobs[done.num]
    assert capsys.readouterr().err == ""


def test_remove_refuses_a_job_that_has_not_finished(jobs, capsys):
    gate, started = threading.Event(), threading.Event()

    def work():
        started.set()
        return gate.wait(10)

    job = jobs.new(work)
    assert started.wait(10)
    try:
        assert jobs.remove(job.num) is False
        err = capsys.readouterr().err
        assert jobs.all == {job.num: job}
        assert jobs.running == [job]
    finally:
        gate.set()
    lines = stderr_lines(err)
    assert len(lines) == 1
    assert str(job.num) in lines[0] and "running" in lines[0].lower()
    job.join()
    assert jobs.remove(job.num) is True


def test_flush_with_nothing_to_flush(jobs, capsys):
    assert jobs.flush() is False
    assert capsys.readouterr().out == "No jobs to flush.\n"
    gate = threading.Event()
    job = jobs.new(gate.wait, 10)
    try:
        jobs.flush()
        assert capsys.readouterr().out == "No jobs to flush.\n"
        assert jobs.running == [job]  # running jobs are never flushed
    finally:
        gate.set()


def test_flush_removes_joined_jobs(jobs, capsys):
    done = jobs.new(int, "1")
    died = jobs.new(crash)
    done.join()
    died.join()
    assert jobs.flush() is True
    assert jobs.all == {} and jobs.completed == [] and jobs.dead == []
    out = capsys.readouterr().out
    assert "No jobs to flush." not in out


def test_job_numbers_start_at_one_and_are_never_reused(jobs):
    first = [jobs.new(int, str(i)) for i in range(3)]
    assert [job.num for job in first] == [1, 2, 3]
    for job in first:
        job.join()
    jobs.flush()
    assert jobs.all == {}
    fourth = jobs.new(int, "4")
    assert fourth.num == 4
    fourth.join()
    jobs.remove(4)
    assert jobs.new(int, "5").num == 5
    assert BackgroundJobManager().new(int).num == 1  # numbering is per manager


# -- the newly-finished queue and flush ----------------------------------------------------
def test_flush_keeps_a_job_that_ended_unseen_until_the_next_flush(jobs, capsys):
    job = jobs.new(count_to, 10)
    settle(jobs)  # it ended, but nobody has looked at it
    assert jobs.flush() is False
    out = capsys.readouterr().out
    assert "Completed jobs:" in out and f"{job.num} : " in out
    assert jobs.all == {job.num: job}
    assert jobs.flush() is True
    assert jobs.all == {}


def test_flush_after_status_keeps_only_what_ended_since(jobs, capsys):
    early = jobs.new(count_to, 10)
    settle(jobs)
    jobs.status()  # the user has now seen `early`
    late = jobs.new(crash)
    settle(jobs)
    capsys.readouterr()
    assert jobs.flush() is False  # `late` ended since: reported, nothing dropped
    out = capsys.readouterr().out
    assert f"{late.num} : " in out and f"{early.num} : " not in out
    assert set(jobs.all) == {early.num, late.num}
    assert jobs.flush() is True
    assert jobs.all == {}


def test_flush_after_drain_finished_removes_at_once(jobs):
    job = jobs.new(crash)
    settle(jobs)
    assert jobs.drain_finished() == [job]
    assert jobs.drain_finished() == []
    assert jobs.flush() is True
    assert jobs.all == {}


def test_drain_finished_returns_each_job_once_under_concurrency(jobs):
    submitters, per_thread, drainers = 8, 150, 3
    barrier = threading.Barrier(submitters + drainers)
    stop = threading.Event()
    drained: list[list] = [[] for _ in range(drainers)]
    errors: list[BaseException] = []

    def submit(k):
        try:
            barrier.wait()
            for i in range(per_thread):
                jobs.new(crash if i % 7 == 0 else count_to, *(() if i % 7 == 0 else (i,)))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def drain(k):
        barrier.wait()
        while not stop.is_set():
            drained[k].extend(jobs.drain_finished())

    threads = [threading.Thread(target=submit, args=(k,)) for k in range(submitters)]
    threads += [threading.Thread(target=drain, args=(k,)) for k in range(drainers)]
    for t in threads:
        t.start()
    for t in threads[:submitters]:
        t.join()
    settle(jobs)
    stop.set()
    for t in threads[submitters:]:
        t.join()
    final = jobs.drain_finished()
    assert not errors
    counts = Counter(job.num for batch in drained + [final] for job in batch)
    total = submitters * per_thread
    assert set(counts) == set(range(1, total + 1))
    assert max(counts.values()) == 1
    assert jobs.drain_finished() == []


def test_flush_racing_with_jobs_that_end_loses_nothing(jobs, capsys):
    total = 600
    barrier = threading.Barrier(2)
    job_line = re.compile(r"^(\d+) : ", re.M)

    def submit():
        barrier.wait()
        for i in range(total):
            if i % 5 == 0:
                jobs.new(crash)
            else:
                jobs.new(count_to, i % 200)

    submitter = threading.Thread(target=submit)
    submitter.start()
    barrier.wait()
    seen: set[int] = set()
    flushed: set[int] = set()
    while submitter.is_alive() or jobs.running:
        seen.update(job.num for job in jobs.drain_finished())
        before = {job.num for job in jobs}
        seen_before = set(seen)
        jobs.flush()
        out = capsys.readouterr().out
        after = {job.num for job in jobs}
        removed = before - after
        # flush only drops jobs the user was shown (or had waited for) beforehand
        assert removed <= seen_before, sorted(removed - seen_before)
        flushed |= removed
        seen.update(int(n) for n in job_line.findall(out))
    submitter.join()
    held = {job.num for job in jobs}
    assert flushed.isdisjoint(held)
    assert flushed | held == set(range(1, total + 1))
    jobs.flush()
    jobs.flush()
    assert jobs.all == {}


# -- thread safety -----------------------------------------------------------------------------
def test_new_from_many_threads_at_once_loses_no_job(jobs):
    n_threads, per_thread = 8, 300
    barrier = threading.Barrier(n_threads)
    made: list[list] = [[] for _ in range(n_threads)]
    errors: list[BaseException] = []

    def submit(k):
        try:
            barrier.wait()
            for i in range(per_thread):
                made[k].append(jobs.new(operator.mul, k, i))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=submit, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    total = n_threads * per_thread
    nums = [job.num for batch in made for job in batch]
    assert sorted(nums) == list(range(1, total + 1))
    assert set(jobs.all) == set(nums)
    settle(jobs)
    assert len(jobs.completed) == total
    for k, batch in enumerate(made):
        assert [job.result for job in batch] == [k * i for i in range(per_thread)]


def test_a_job_is_never_seen_dead_before_its_traceback_is_ready(jobs):
    total = 1500
    barrier = threading.Barrier(2)
    stop = threading.Event()
    problems: list[str] = []
    looked = Counter()

    def poll():
        barrier.wait()
        while not stop.is_set():
            for job in jobs.dead:
                looked["dead"] += 1
                if job.traceback_text is None:
                    problems.append(f"#{job.num} in jobs.dead without a traceback")
            for job in jobs:
                if job.stat_code == -1:
                    looked["stat_code"] += 1
                    if job.traceback_text is None:
                        problems.append(f"#{job.num} has stat_code -1 without a traceback")

    poller = threading.Thread(target=poll)
    poller.start()
    barrier.wait()
    for i in range(total):
        jobs.new(crash, f"crash {i}")
    settle(jobs)
    stop.set()
    poller.join()
    assert problems == []
    assert looked["dead"] > 0 and looked["stat_code"] > 0  # the poller did overlap
    assert len(jobs.dead) == total


# -- unknown job numbers ------------------------------------------------------------------------
def test_unknown_job_number_raises_no_such_job_where_a_value_is_expected(jobs):
    with pytest.raises(NoSuchJob, match="no such job 99") as info:
        jobs[99]
    assert isinstance(info.value, KeyError)
    with pytest.raises(KeyError, match="no such job 99"):
        jobs.result(99)


@pytest.mark.parametrize(
    "action, expected", [("remove", False), ("traceback", False), ("kill", False)]
)
def test_unknown_job_number_prints_one_line_where_only_an_action_is_taken(jobs, capsys, action, expected):
    assert getattr(jobs, action)(99) is expected
    captured = capsys.readouterr()
    lines = stderr_lines(captured.err)
    assert len(lines) == 1 and "99" in lines[0]
    assert captured.out == ""


# -- how jobs end -----------------------------------------------------------------------------
@pytest.mark.parametrize("exc_type", [SystemExit, KeyboardInterrupt, GeneratorExit])
def test_base_exceptions_end_only_the_job(jobs, exc_type):
    def leave():
        raise exc_type("leaving")

    job = jobs.new(leave)
    job.join(timeout=10)
    assert not job.is_alive()
    assert job.state is JobState.DEAD
    assert jobs.dead == [job]
    assert isinstance(job.exception, exc_type)
    assert job.result is DIED
    assert f"{exc_type.__name__}: leaving" in job.traceback_text
    # the engine (and this process) go on working
    after = jobs.new(operator.add, 1, 1)
    after.join()
    assert after.result == 2


def test_result_and_exception_are_stored_apart(jobs):
    gate = threading.Event()
    unfinished = jobs.new(gate.wait, 10)
    lookalike = jobs.new(str, "<BackgroundJob has not completed>")
    died_text = jobs.new(str, str(DIED))
    lookalike.join()
    died_text.join()
    try:
        assert unfinished.result is NOT_FINISHED
        assert not unfinished.done()
        assert unfinished.exception is None
    finally:
        gate.set()
    assert lookalike.done()
    assert lookalike.result == "<BackgroundJob has not completed>"
    assert lookalike.result is not NOT_FINISHED
    assert lookalike.exception is None and lookalike.state is JobState.COMPLETED
    assert died_text.result is not DIED and died_text.state is JobState.COMPLETED
    none_job = jobs.new(lambda: None)
    none_job.join()
    assert none_job.result is None and none_job.state is JobState.COMPLETED


def test_dead_job_has_result_died_and_its_exception(jobs):
    job = jobs.new(crash, "kaput")
    job.join()
    assert job.result is DIED
    assert isinstance(job.exception, ValueError) and str(job.exception) == "kaput"
    assert job.done()
    with pytest.raises(ValueError, match="kaput"):
        job.get()


def test_start_end_and_elapsed_times_are_recorded(jobs):
    gate = threading.Event()
    started = threading.Event()

    def work():
        started.set()
        gate.wait(10)

    before = time.monotonic()
    job = jobs.new(work)
    assert started.wait(10)
    try:
        assert job.start_time is not None and before <= job.start_time
        assert job.end_time is None
    finally:
        gate.set()
    job.join()
    after = time.monotonic()
    assert job.start_time <= job.end_time <= after
    assert job.elapsed == job.end_time - job.start_time


# -- kill ---------------------------------------------------------------------------------------
def test_kill_stops_a_busy_loop_that_swallows_exceptions(jobs):
    started = threading.Event()

    def busy():
        started.set()
        try:
            n = 0
            while True:
                n += 1
        except Exception:
            return "swallowed"

    job = jobs.new(busy)
    assert started.wait(10)
    assert jobs.kill(job.num) is True
    job.join(timeout=10)
    assert not job.is_alive()
    assert job.state is JobState.KILLED
    assert isinstance(job.exception, JobKilled)
    assert job.result is DIED
    assert job.stat_code == -1
    assert jobs.dead == [job]


def test_kill_of_a_job_in_sleep_shows_killing_until_the_sleep_returns(jobs):
    started = threading.Event()

    def napper():
        started.set()
        time.sleep(3)
        return "woke up"

    job = jobs.new(napper)
    assert started.wait(10)
    assert jobs.kill(job.num) is True
    assert job.state is JobState.KILLING
    assert job.is_alive()
    assert jobs.running == [job]
    job.join(timeout=10)
    assert job.state is JobState.KILLED
    assert isinstance(job.exception, JobKilled)
    assert jobs.dead == [job]


def test_kill_of_a_job_blocked_in_c_takes_effect_when_it_returns(jobs):
    gate = threading.Lock()
    gate.acquire()
    started = threading.Event()

    def blocked():
        started.set()
        gate.acquire()  # blocks in C: the kill cannot land here
        return "got through"

    job = jobs.new(blocked)
    assert started.wait(10)
    assert job.kill() is True
    assert job.state is JobState.KILLING and job.is_alive()
    assert job.stat_code == 1
    gate.release()
    job.join(timeout=10)
    assert job.state is JobState.KILLED
    assert job.result is DIED


def test_kill_of_a_finished_job_prints_one_line_and_returns_false(jobs, capsys):
    job = jobs.new(int, "1")
    job.join()
    assert jobs.kill(job.num) is False
    lines = stderr_lines(capsys.readouterr().err)
    assert len(lines) == 1 and str(job.num) in lines[0]
    assert job.state is JobState.COMPLETED and job.result == 1


def test_kill_racing_with_normal_end_never_leaks_into_later_jobs(jobs, monkeypatch):
    """Kills land before, during and just after short jobs; none may hit a later job.

    The jobs run on a pool of their own (so that a failure here cannot spoil the
    shared pool for other tests) and are daemon jobs (so that a job stuck in
    'Killing' cannot hold up the interpreter's exit).
    """
    kind = "thread-kill-race"
    monkeypatch.setattr(jobs, "runners", Runners({kind: ThreadRunner()}))
    hint = " (see test_kill_landing_as_a_job_begins_still_ends_the_job)"

    def work(n, started):
        started.set()
        return count_to(n)

    rng = random.Random(20240531)
    outcomes = Counter()
    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often, so kills land everywhere
    try:
        for i in range(500):
            n = rng.randrange(0, 5000)
            started = threading.Event()
            job = jobs.new(work, n, started, kind=kind, daemon=True)
            if i % 2:
                started.wait(10)
            for _ in range(rng.randrange(0, 500)):
                pass
            accepted = job.kill()
            if i % 3 == 0:
                job.kill()  # a repeated request must be harmless too
            job.join(timeout=10)
            assert not job.is_alive(), f"job {job.num} still {job.state} after kill" + hint
            outcomes[job.state, accepted] += 1
            if job.state is JobState.COMPLETED:
                assert job.result == count_to(n)
            else:
                assert job.state is JobState.KILLED and isinstance(job.exception, JobKilled)
    finally:
        sys.setswitchinterval(old_interval)
    # Now many ordinary jobs, on the same pool of workers, must all complete.
    later = [jobs.new(count_to, k, kind=kind, daemon=True) for k in range(800)]
    for job in later:
        job.join(timeout=10)
    states = Counter(job.state for job in later)
    assert states == Counter({JobState.COMPLETED: len(later)}), (states, outcomes, hint)
    assert [job.result for job in later] == [count_to(k) for k in range(800)]


# -- interpreter exit: daemon and non-daemon jobs --------------------------------------------------
NON_DAEMON_SCRIPT = """
import sys, time
from bgshell.jobs import BackgroundJobManager

def work(path):
    time.sleep(0.5)
    with open(path, "w") as f:
        f.write("written by the job")

BackgroundJobManager().new(work, sys.argv[1])
print("main script done")
"""

DAEMON_SCRIPT = """
import time
from bgshell.jobs import BackgroundJobManager

job = BackgroundJobManager().new(time.sleep, 60, daemon=True)
assert job.is_alive()
print("main script done")
"""


def test_non_daemon_job_finishes_before_the_interpreter_exits(tmp_path):
    target = tmp_path / "out.txt"
    proc = subprocess.run(
        [sys.executable, "-c", NON_DAEMON_SCRIPT, str(target)],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    assert "main script done" in proc.stdout
    assert target.read_text() == "written by the job"


def test_daemon_job_does_not_keep_the_interpreter_alive():
    proc = subprocess.run(
        [sys.executable, "-c", DAEMON_SCRIPT],
        capture_output=True, text=True, timeout=30, cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    assert "main script done" in proc.stdout


# -- contexts ---------------------------------------------------------------------------------------
JOB_VAR: contextvars.ContextVar[str] = contextvars.ContextVar("bgshell_test_job_var", default="unset")


def test_each_job_runs_in_a_fresh_context(jobs):
    def set_and_report(value):
        before = JOB_VAR.get()
        JOB_VAR.set(value)
        return before, threading.get_ident()

    results = []
    for i in range(40):
        job = jobs.new(set_and_report, f"job {i}")
        job.join()
        results.append(job.result)
    assert [before for before, _ in results] == ["unset"] * len(results)
    workers = [ident for _, ident in results]
    assert len(set(workers)) < len(workers)  # workers were reused, so this tested something


# -- regressions: engine bugs found while writing these tests, now fixed --------------------------
def test_a_job_that_says_it_is_done_is_already_listed(jobs):
    in_hook, release = threading.Event(), threading.Event()

    def slow_hook(job):  # stands in for the job's thread being preempted right here
        in_hook.set()
        release.wait(10)

    job = BackgroundJobFunc(operator.add, 2, 3)
    job.add_ended_hook(slow_hook)
    jobs.submit(job)
    assert in_hook.wait(10)
    try:
        done = job.done()
        job.join(timeout=0)
        alive = job.is_alive()
        listed = job in jobs.completed
    finally:
        release.set()
    settle(jobs)
    assert not done or listed
    assert alive or listed


def test_remove_right_as_a_job_ends_really_removes_it(jobs, capsys):
    in_hook, release = threading.Event(), threading.Event()

    def slow_hook(job):
        in_hook.set()
        release.wait(10)

    job = BackgroundJobFunc(operator.add, 2, 3)
    job.add_ended_hook(slow_hook)
    jobs.submit(job)
    assert in_hook.wait(10)
    try:
        removed = jobs.remove(job.num)
    finally:
        release.set()
    settle(jobs)
    if removed:
        assert job not in jobs.completed
        assert jobs.all == {}
    jobs.flush()
    jobs.flush()
    assert jobs.all == {}


def test_submit_refuses_a_job_already_started(jobs):
    gate = threading.Event()
    job = BackgroundJobFunc(gate.wait, 10)
    job.start()
    try:
        with pytest.raises(RuntimeError):
            jobs.submit(job)
    finally:
        gate.set()
        job.join(timeout=10)
    assert job.state is JobState.COMPLETED and job.result is True


class _KilledAsItBegins(BackgroundJobFunc):
    """A job that is killed the instant it has begun, before its own code runs.

    Stands in for the scheduler: a kill sent by another thread while the worker is
    still in the job's ``set_running`` (state just set to RUNNING, the job's code not
    entered yet) raises ``JobKilled`` in the worker right there.  Here the job sends
    that kill itself, from the same spot, so the race is won every time.
    """

    def set_running(self, handle=None):
        began = super().set_running(handle)
        if began:
            self.fired = threading.get_ident()
            self.kill()  # the JobKilled it sends is raised here, in the worker
        return began


def _kill_as_the_job_begins(monkeypatch):
    """Run a `_KilledAsItBegins` job on a runner of its own; return (manager, job, kind)."""
    kind = "thread-kill-as-it-begins"
    # not the fixture's manager: it would wait for a stuck job
    jobs = BackgroundJobManager(runners=Runners({kind: ThreadRunner()}))
    job = _KilledAsItBegins(count_to, 10)
    job.daemon = True  # with the bug it never ends: it must not hold up the exit
    job.fired = None
    jobs.submit(job, kind=kind)
    return jobs, job, kind


def _job_on_worker(jobs, kind, earlier, gate):
    """Start blocked jobs of *kind* until one runs on the worker of job *earlier*.

    Once a later job runs there, the worker has finished with the earlier job.
    """
    if earlier.fired is None:
        pytest.skip("the engine no longer has the set_running step this test aims at")
    for _ in range(100):
        started, where = threading.Event(), []

        def blocked():
            where.append(threading.get_ident())
            started.set()
            gate.wait(30)
            return "unharmed"

        job = jobs.new(blocked, kind=kind, daemon=True)
        assert started.wait(10)
        if where[0] == earlier.fired:
            return job
    pytest.fail("the worker never took another job")


def test_kill_landing_as_a_job_begins_still_ends_the_job(monkeypatch):
    jobs, job, kind = _kill_as_the_job_begins(monkeypatch)
    gate = threading.Event()
    try:
        _job_on_worker(jobs, kind, job, gate)
        assert job.done(), f"the worker moved on but job #{job.num} is {job.state.value}"
        assert job.state is JobState.KILLED
    finally:
        gate.set()


def test_killing_again_never_hits_the_next_job_on_the_worker(monkeypatch):
    jobs, job, kind = _kill_as_the_job_begins(monkeypatch)
    gate = threading.Event()
    try:
        bystander = _job_on_worker(jobs, kind, job, gate)
        job.kill()  # the user tries again
    finally:
        gate.set()
    bystander.join(timeout=10)
    assert bystander.state is JobState.COMPLETED, repr(bystander.exception)
    assert bystander.result == "unharmed"


TRACE_AFTER_KILL_SCRIPT = """
import faulthandler, sys, threading
from bgshell.jobs import BackgroundJobManager

jobs = BackgroundJobManager()
started = threading.Event()

def busy():
    started.set()
    while True:
        pass

job = jobs.new(busy, daemon=True)
started.wait(10)
jobs.kill(job.num)
job.join(10)
assert job.state.name == "KILLED", job.state

faulthandler.dump_traceback_later(3, exit=True)  # a hang ends the script, not the test
def traced():
    return "traced call returned"
sys.settrace(lambda *args: None)  # what pdb, breakpoint() and coverage do
value = traced()
sys.settrace(None)
faulthandler.cancel_dump_traceback_later()
print(value)
"""


def test_tracing_still_works_after_a_job_was_killed():
    proc = subprocess.run(
        [sys.executable, "-c", TRACE_AFTER_KILL_SCRIPT],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "traced call returned" in proc.stdout


START_FAILS_SCRIPT = """
import _thread, faulthandler, threading, time
from bgshell.jobs import BackgroundJobManager

jobs = BackgroundJobManager()
real_start, real_new_thread = threading.Thread.start, _thread.start_new_thread
def refuse(*args):
    raise RuntimeError("can't start new thread")
threading.Thread.start = _thread.start_new_thread = refuse  # as when the process is out of threads
try:
    jobs.new(time.sleep, 0)
except RuntimeError:
    print("new() refused the job")
threading.Thread.start, _thread.start_new_thread = real_start, real_new_thread
assert jobs.all == {}
faulthandler.dump_traceback_later(3, exit=True)  # a hang at exit ends the script
"""


def test_a_job_that_could_not_start_does_not_hold_up_the_exit():
    proc = subprocess.run(
        [sys.executable, "-c", START_FAILS_SCRIPT],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )
    assert "new() refused the job" in proc.stdout
    assert proc.returncode == 0, proc.stderr[-2000:]
