"""Unit tests of the shell apart from any terminal: ``repl.Shell``, the builtins, job
lines, the evaluator, completion, cutting a script into inputs, and ``codesplit``.

Tests synchronise on events and ``wait_done``, never on sleeps, and assert no timings.
"""

from __future__ import annotations

import os
import builtins

import re
import sys
import threading

import pytest

import bgshell

from bgshell.shell import joblines
from bgshell.engine.codesplit import compile_split
from bgshell.engine.kinds import USER_KINDS
from bgshell.shell.commands import BUILTINS, JOB_BUILTINS, LISTING_LIMIT
from bgshell.shell.completion import complete
from bgshell.shell.evaluate import MAX_REPR, Evaluator, make_namespace, safe_repr
from bgshell.jobs import BackgroundJobManager, JobState
from bgshell.shell.repl import GRAMMAR, ExitRequest, Shell
from bgshell.engine.tracebacks import describe_exception
from bgshell.shell.language.script import iter_numbered_inputs

#: bgshell's own folder: no traceback shown to the user has a frame from it.
BGSHELL_DIR = os.path.dirname(os.path.abspath(bgshell.__file__)) + os.sep

KINDS = USER_KINDS


# -- fixtures and helpers -------------------------------------------------------------
@pytest.fixture
def main_module():
    """Shell() installs its namespace as sys.modules['__main__']: put pytest's back."""
    saved = sys.modules.get("__main__")
    yield
    if saved is not None:
        sys.modules["__main__"] = saved


@pytest.fixture
def shell(main_module):
    sh = Shell()
    yield sh
    for job in list(sh.jobs.all.values()):
        if job.is_alive():
            job.kill()
    gate = sh.namespace.get("gate")
    if isinstance(gate, threading.Event):
        gate.set()
    for job in list(sh.jobs.all.values()):
        job.wait_done(timeout=10)


@pytest.fixture
def manager():
    jobs = BackgroundJobManager()
    yield jobs
    for job in list(jobs.all.values()):
        if job.is_alive():
            job.kill()
    for job in list(jobs.all.values()):
        job.wait_done(timeout=10)


def run(shell: Shell, capsys, *inputs: str) -> tuple[str, str]:
    for text in inputs:
        shell.handle(text)
    captured = capsys.readouterr()
    return captured.out, captured.err


def settle(shell: Shell) -> None:
    """Wait until every job has ended, without announcing any."""
    for job in list(shell.jobs.all.values()):
        assert job.wait_done(timeout=30)


def start_blocked(shell: Shell, capsys) -> threading.Event:
    """Start job 1 blocked on an event the test sets; return the event."""
    gate = threading.Event()
    shell.namespace["gate"] = gate
    run(shell, capsys, "gate.wait() &")
    return gate


# -- handle(): the four kinds of input -------------------------------------------------
def test_handle_python_prints_the_value_and_sets_underscore(shell, capsys):
    out, err = run(shell, capsys, "x = 6", "x * 7")
    assert (out, err) == ("42\n", "")
    assert builtins._ == 42
    assert not shell.failed


def test_handle_background_starts_a_job_and_says_so(shell, capsys):
    out, err = run(shell, capsys, "6 * 7 &")
    assert (out, err) == ("[1] 6 * 7\n", "")
    job = shell.jobs[1]
    assert job.wait_done(timeout=30)
    assert job.result == 42
    assert job.kind == "thread"


def test_handle_background_statement_lands_in_the_namespace(shell, capsys):
    out, _ = run(shell, capsys, "y = 2 ** 10 &")
    assert out == "[1] y = 2 ** 10\n"
    assert shell.jobs[1].wait_done(timeout=30)
    assert shell.namespace["y"] == 1024


def test_handle_builtin(shell, capsys):
    assert run(shell, capsys, "jobs") == ("No jobs.\n", "")
    assert run(shell, capsys, "%jobs") == ("No jobs.\n", "")


def test_handle_error_is_one_line_and_marks_failure(shell, capsys):
    out, err = run(shell, capsys, "&")
    assert out == ""
    assert len(err.splitlines()) == 1 and "&" in err
    assert shell.failed


def test_handle_exception_marks_failure_and_shell_goes_on(shell, capsys):
    out, err = run(shell, capsys, "1/0", "2 + 2")
    assert out == "4\n"
    assert "ZeroDivisionError" in err
    assert shell.failed


def test_handle_empty_input_does_nothing(shell, capsys):
    assert run(shell, capsys, "", "   ", "# just a comment") == ("", "")
    assert not shell.failed


def test_handle_syntax_error_in_background_code(shell, capsys):
    out, err = run(shell, capsys, "x = (1 +) &")
    assert out == ""
    assert "SyntaxError" in err
    assert len(shell.jobs) == 0


def test_kind_builtin_and_per_job_kind(shell, capsys):
    out, _ = run(shell, capsys, "kind")
    assert out == "New jobs run as: thread (choices: thread, process, cluster)\n"
    assert run(shell, capsys, "kind process") == ("New jobs run as: process\n", "")
    assert shell.default_kind == "process" and shell.jobs.default_kind == "process"
    run(shell, capsys, "kind thread")
    out, _ = run(shell, capsys, "1 + 1 &:thread")
    assert out == "[1] 1 + 1\n"
    assert shell.jobs[1].kind == "thread"


# -- is_bound: the user's variable wins ---------------------------------------------------
def test_jobs_bound_to_the_manager_is_still_the_builtin(shell, capsys):
    assert shell.namespace["jobs"] is shell.jobs
    assert not shell.is_bound("jobs")
    assert run(shell, capsys, "jobs") == ("No jobs.\n", "")


def test_a_bound_name_is_the_users_variable(shell, capsys):
    assert not shell.is_bound("result")
    run(shell, capsys, "result = 3")
    assert shell.is_bound("result")
    assert run(shell, capsys, "result") == ("3\n", "")
    out, err = run(shell, capsys, "jobs = 5", "jobs")
    assert shell.is_bound("jobs")
    assert out == "5\n"
    # with a % prefix it is still the builtin
    assert run(shell, capsys, "%jobs") == ("No jobs.\n", "")
    _, err = run(shell, capsys, "%result 1")
    assert err == "result: no such job 1\n"


def test_unbound_name_is_not_bound(shell):
    assert not shell.is_bound("kill")
    assert not shell.is_bound("no_such_name")


# -- the exit guard ---------------------------------------------------------------------------
def test_exit_without_running_jobs_leaves_at_once(shell):
    shell.interactive = True
    with pytest.raises(ExitRequest) as info:
        shell.request_exit(4)
    assert info.value.code == 4


def test_exit_guard_lists_running_jobs_then_leaves_on_second_request(shell, capsys):
    shell.interactive = True
    start_blocked(shell, capsys)
    shell.request_exit()  # does not raise
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert lines[0] == "There is 1 running job:"
    assert re.fullmatch(r"  \[1\]\s+Running\s+.*gate\.wait\(\)", lines[1])
    assert "again" in lines[-1]
    with pytest.raises(ExitRequest) as info:
        shell.request_exit()
    assert info.value.code == 0


def test_exit_guard_through_exit_calls(shell, capsys):
    shell.interactive = True
    start_blocked(shell, capsys)
    run(shell, capsys, "exit()")
    with pytest.raises(ExitRequest):
        shell.handle("exit()")


def test_any_other_input_rearms_the_exit_guard(shell, capsys):
    shell.interactive = True
    start_blocked(shell, capsys)
    shell.request_exit()
    for other in ("1 + 1", "jobs", "x = 1", "1/0", "&"):
        capsys.readouterr()
        shell.handle(other)
        shell.request_exit()  # warns again instead of leaving
        assert "There is 1 running job:" in capsys.readouterr().err


def test_empty_input_does_not_rearm_the_exit_guard(shell, capsys):
    shell.interactive = True
    start_blocked(shell, capsys)
    shell.request_exit()
    shell.handle("")
    with pytest.raises(ExitRequest):
        shell.request_exit()


@pytest.mark.parametrize("second, code", [("exit(0)", 0), ("import sys; sys.exit(2)", 2), ("quit()", 0), ("raise SystemExit", 0)])
def test_second_exit_in_any_spelling_leaves(shell, capsys, second, code):
    shell.interactive = True
    start_blocked(shell, capsys)
    shell.handle("exit()")
    with pytest.raises(ExitRequest) as info:
        shell.handle(second)
    assert info.value.code == code


def test_ctrl_d_after_exit_call_leaves(shell, capsys):
    shell.interactive = True
    start_blocked(shell, capsys)
    shell.handle("exit()")
    with pytest.raises(ExitRequest):
        shell.request_exit()  # what the terminal calls on Ctrl-D


def test_not_interactive_exit_never_asks(shell, capsys):
    start_blocked(shell, capsys)
    with pytest.raises(ExitRequest):
        shell.request_exit()


def test_exit_guard_counts_several_jobs(shell, capsys):
    shell.interactive = True
    start_blocked(shell, capsys)
    run(shell, capsys, "gate.wait() &")
    shell.request_exit()
    assert capsys.readouterr().err.splitlines()[0] == "There are 2 running jobs:"


def test_stop_jobs_kills_running_thread_jobs(shell, capsys):
    run(shell, capsys, "while True: pass &")
    assert shell.stop_jobs()
    assert shell.jobs[1].state is JobState.KILLED


# -- builtins: usage errors are one line `NAME: ...` ----------------------------------
USAGE_ERRORS = [
    ("jobs x", "jobs: no such job spec 'x': use N, %N, %+ or %-"),
    ("jobs -a -b", "jobs: usage: jobs [-alprs] [SPEC ...]"),
    ("jobs -rx", "jobs: usage: jobs [-alprs] [SPEC ...]"),
    ("jobs 9", "jobs: no such job 9"),
    ("result", "result: usage: result N"),
    ("result 1 2", "result: usage: result N"),
    ("result 9", "result: no such job 9"),
    ("traceback 1 2", "traceback: usage: traceback [N]"),
    ("traceback 9", "traceback: no such job 9"),
    ("output", "output: usage: output [-f] N"),
    ("output 9", "output: no such job 9"),
    ("output -f 1 2", "output: usage: output -f [SPEC]"),
    ("fg 1 2", "fg: usage: fg [SPEC]"),
    ("fg 9", "fg: no such job 9"),
    ("fg 1", "fg: job 1 has ended (Done); result 1 shows its outcome"),
    ("wait 9", "wait: no such job 9"),
    ("wait 1 9", "wait: no such job 9"),
    ("wait -x", "wait: usage: wait [-n] [SPEC ...]"),
    ("wait -n 9", "wait: no such job 9"),
    ("kill", "kill: usage: kill [-s SIGNAL | -SIGNAL] SPEC [SPEC ...]"),
    ("kill -9", "kill: usage: kill [-s SIGNAL | -SIGNAL] SPEC [SPEC ...]"),
    ("kill -s", "kill: usage: kill [-s SIGNAL | -SIGNAL] SPEC [SPEC ...]"),
    ("kill -s INT", "kill: usage: kill [-s SIGNAL | -SIGNAL] SPEC [SPEC ...]"),
    ("kill -HUP 1", "kill: unknown signal 'HUP': use INT, TERM or KILL (kill -l lists them)"),
    ("kill -s SIGSTOP 1", "kill: unknown signal 'SIGSTOP': use INT, TERM or KILL (kill -l lists them)"),
    ("kill -1 1", "kill: unknown signal '1': use INT, TERM or KILL (kill -l lists them)"),
    ("kill -l 3", "kill: usage: kill -l (it lists the signals)"),
    ("kill -9 1", "kill: job 1 has already ended (Done)"),
    ("kill -s INT 9", "kill: no such job 9"),
    ("bg 1 2", "bg: usage: bg [SPEC]"),
    ("bg 9", "bg: no such job 9"),
    ("bg", "bg: job 1 has already ended (Done)"),
    ("kill 9", "kill: no such job 9"),
    ("remove", "remove: usage: remove N [N ...]"),
    ("remove 9", "remove: no such job 9"),
    ("flush now", "flush: usage: flush (it takes no arguments)"),
    ("kind bogus", "kind: usage: kind [thread|process|cluster]"),
    ("kind coroutine", "kind: usage: kind [thread|process|cluster]"),
    ("kind thread process", "kind: usage: kind [thread|process|cluster]"),
    ("cluster bogus", "cluster: usage: cluster [connect ADDRESS | local [N] | close]"),
    ("cluster local 0", "cluster: local:N wants a number of workers above 0, not '0'"),
    ("cluster connect local", "cluster: cluster connect wants an address (tcp://HOST:PORT); cluster local starts one"),
    ("help a b", "help: usage: help [BUILTIN]"),
    ("help nosuch", "help: no builtin named 'nosuch'; help lists them"),
    ("%result", "result: usage: result N"),
    ("debug 1 2", "debug: usage: debug [N]"),
    ("debug 9", "debug: no such job 9"),
    ("debug 1", "debug: job 1 has no traceback to debug: it is done"),
]


@pytest.mark.parametrize("text, line", USAGE_ERRORS)
def test_usage_error_is_exactly_one_stderr_line(shell, capsys, text, line):
    run(shell, capsys, "6 * 7 &")
    settle(shell)
    out, err = run(shell, capsys, text)
    assert err == line + "\n"
    assert shell.failed


def test_every_builtin_has_a_usage_error_case():
    covered = {text.lstrip("%").split()[0] for text, _ in USAGE_ERRORS}
    assert covered == set(BUILTINS)


@pytest.mark.parametrize("text, name", [("result '1", "result"), ("jobs &", "jobs"), ("kill 1 &", "kill")])
def test_classifier_errors_on_builtins_are_name_prefixed(shell, capsys, text, name):
    _, err = run(shell, capsys, text)
    assert len(err.splitlines()) == 1
    assert err.startswith(f"{name}: ")


def test_state_dependent_usage_errors(shell, capsys):
    gate = start_blocked(shell, capsys)
    run(shell, capsys, "6 * 7 &")
    assert shell.jobs[2].wait_done(timeout=30)
    cases = [
        ("result 1", "result: job 1 is still running; wait 1 waits for it"),
        ("remove 1", "remove: job 1 is still running; kill 1 stops it, then remove it"),
        ("kill 2", "kill: job 2 has already ended (Done)"),
        ("traceback 2", "traceback: job 2 has no traceback: it is completed"),
    ]
    for text, line in cases:
        assert run(shell, capsys, text) == ("", line + "\n"), text
    gate.set()


def test_result_of_a_dead_and_a_killed_job(shell, capsys):
    run(shell, capsys, "1/0 &", "while True: pass &")
    assert shell.jobs[1].wait_done(timeout=30)
    run(shell, capsys, "kill 2")
    assert shell.jobs[2].wait_done(timeout=30)
    _, err = run(shell, capsys, "result 1")
    assert err == "result: job 1 has no result: it died (ZeroDivisionError: division by zero); see traceback 1\n"
    _, err = run(shell, capsys, "result 2")
    assert err.startswith("result: job 2 has no result: it was killed")


def test_kill_resolves_every_spec_before_acting(shell, capsys):
    start_blocked(shell, capsys)
    _, err = run(shell, capsys, "kill 1 7")
    assert err == "kill: no such job 7\n"
    assert shell.jobs[1].state in (JobState.CREATED, JobState.RUNNING)


# -- job specs ----------------------------------------------------------------------------
def test_job_specs(shell, capsys):
    run(shell, capsys, "'one' &", "'two' &", "'three' &")
    settle(shell)
    for spec, value in [("1", "'one'"), ("%1", "'one'"), ("%2", "'two'"), ("%+", "'three'"),
                        ("%%", "'three'"), ("%-", "'two'"), (" 3", "'three'"), ("%03", "'three'")]:
        out, err = run(shell, capsys, f"result {spec}")
        assert (out, err) == (value + "\n", ""), spec
    assert builtins._ == "three"


@pytest.mark.parametrize(
    "spec, message",
    [
        ("0", "no such job spec '0': job numbers start at 1"),
        ("%x", "no such job spec '%x': use N, %N, %+ or %-"),
        ("abc", "no such job spec 'abc': use N, %N, %+ or %-"),
        ("3.5", "no such job spec '3.5': use N, %N, %+ or %-"),
        ("-1", "no such job spec '-1': use N, %N, %+ or %-"),
        ("%", "no such job spec '%': use N, %N, %+ or %-"),
        ("%4", "no such job 4"),
        ("99999999999999999999", "no such job spec '99999999999999999999': job numbers go up to 10**18"),
    ],
)
def test_bad_job_specs(shell, capsys, spec, message):
    run(shell, capsys, "1 &")
    settle(shell)
    out, err = run(shell, capsys, f"result {spec}")
    assert (out, err) == ("", f"result: {message}\n")


def test_relative_specs_without_enough_jobs(shell, capsys):
    assert run(shell, capsys, "result %+") == ("", "result: no current job\n")
    run(shell, capsys, "1 &")
    settle(shell)
    assert run(shell, capsys, "result %-") == ("", "result: no previous job\n")


def test_removed_job_is_gone_for_specs(shell, capsys):
    run(shell, capsys, "1 &", "2 &")
    settle(shell)
    run(shell, capsys, "remove 2")
    assert run(shell, capsys, "result 2") == ("", "result: no such job 2\n")
    assert run(shell, capsys, "result %+") == ("1\n", "")


# -- jobs, flush, wait, output, traceback, help ------------------------------------------
def test_jobs_lists_state_time_kind_and_input(shell, capsys):
    gate = start_blocked(shell, capsys)
    run(shell, capsys, "1/0 &", "6 * 7 &")
    assert shell.jobs[2].wait_done(timeout=30) and shell.jobs[3].wait_done(timeout=30)
    out, _ = run(shell, capsys, "jobs")
    lines = out.splitlines()
    assert len(lines) == 3
    assert re.fullmatch(r"\[1\]  Running   +\d+\.\ds  thread     gate\.wait\(\)", lines[0])
    assert re.fullmatch(r"\[2\]  Dead      +\d+\.\ds  thread     1/0", lines[1])
    assert re.fullmatch(r"\[3\]  Done      +\d+\.\ds  thread     6 \* 7", lines[2])
    gate.set()


def test_jobs_summarises_beyond_the_listing_limit_and_dash_a_lists_all(shell, capsys):
    total = LISTING_LIMIT + 5
    run(shell, capsys, "1/0 &")
    for i in range(total - 1):
        shell.handle(f"{i} &")
    gate = start_blocked(shell, capsys)  # job total+1 still runs
    for num in range(1, total + 1):
        assert shell.jobs[num].wait_done(timeout=30)
    capsys.readouterr()
    out, _ = run(shell, capsys, "jobs")
    lines = out.splitlines()
    assert len(lines) == LISTING_LIMIT + 2  # limit finished + the running one + summary
    shown = [int(re.match(r"\[(\d+)\]", line).group(1)) for line in lines[:-1]]
    assert shown == list(range(6, total + 2))  # the oldest finished ones are hidden
    assert lines[-1].startswith("... 5 older finished jobs not shown (")
    assert f"{total - 1} done" in lines[-1] and "1 dead" in lines[-1]
    assert "jobs -a" in lines[-1]
    out, _ = run(shell, capsys, "jobs -a")
    assert len(out.splitlines()) == total + 1
    out2, _ = run(shell, capsys, "jobs --all")
    assert out2 == out
    gate.set()


def test_flush_announces_unseen_jobs_first_and_keeps_them(shell, capsys):
    run(shell, capsys, "6 * 7 &")
    settle(shell)
    out, _ = run(shell, capsys, "flush")
    lines = out.splitlines()
    assert lines[0].startswith("[1]  Done  6 * 7")
    assert "flush again" in lines[1]
    assert 1 in shell.jobs
    run(shell, capsys, "flush")
    assert 1 not in shell.jobs


def test_flush_keeps_running_jobs(shell, capsys):
    gate = start_blocked(shell, capsys)
    run(shell, capsys, "flush")
    assert 1 in shell.jobs
    gate.set()


def test_wait_announces_the_jobs_it_waited_for_once(shell, capsys):
    run(shell, capsys, "import time", "time.sleep(0.05) or 1 &", "2 &")
    out, _ = run(shell, capsys, "wait 1 2")
    assert sorted(line[:3] for line in out.splitlines()) == ["[1]", "[2]"]
    shell.announce_finished()
    assert capsys.readouterr().out == ""  # announced exactly once


def test_wait_for_one_job(shell, capsys):
    gate = start_blocked(shell, capsys)
    run(shell, capsys, "3 &")
    out, _ = run(shell, capsys, "wait %+")
    assert out.startswith("[2]  Done  3")
    assert shell.jobs[1].is_alive()
    gate.set()


def test_wait_for_one_job_does_not_swallow_the_end_of_another(shell, capsys):
    shell.namespace["gate"] = threading.Event()
    # job 2 ends only after job 1 has ended, so `wait 2` sees both end
    run(shell, capsys, "gate.wait() &", "gate.set() or jobs[1].wait_done() &")
    out, _ = run(shell, capsys, "wait 2")
    shell.announce_finished()
    out += capsys.readouterr().out
    assert out.count("[2]  Done") == 1
    assert out.count("[1]  Done  gate.wait()") == 1, out


def test_wait_without_arguments_does_not_swallow_jobs_that_ended_before(shell, capsys):
    run(shell, capsys, "1 &")
    settle(shell)
    out, _ = run(shell, capsys, "wait")
    shell.announce_finished()
    out += capsys.readouterr().out
    assert out.count("[1]  Done  1") == 1, out


def test_announce_finished_reports_each_job_once(shell, capsys):
    run(shell, capsys, "1/0 &", "5 &")
    settle(shell)
    shell.announce_finished()
    out = capsys.readouterr().out
    assert sorted(line[:3] for line in out.splitlines()) == ["[1]", "[2]"]
    assert "ZeroDivisionError: division by zero" in out
    shell.announce_finished()
    assert capsys.readouterr().out == ""


def test_output_builtin(shell, capsys):
    run(shell, capsys, "print('hello'); print('world') &", "None &")
    settle(shell)
    out, _ = run(shell, capsys, "output 1")
    assert out == "hello\nworld\n"
    out, _ = run(shell, capsys, "output 2")
    assert out == "output: job 2 has written nothing\n"


def test_traceback_builtin(shell, capsys):
    run(shell, capsys, "def f():\n    raise KeyError('k')\n", "f() &")
    settle(shell)
    out, err = run(shell, capsys, "traceback 1")
    assert out == ""
    assert err.startswith("Traceback (most recent call last):")
    assert "KeyError: 'k'" in err
    assert BGSHELL_DIR not in err
    out, err = run(shell, capsys, "traceback")
    assert "Traceback of job [1] f():" in err


def test_traceback_without_dead_jobs(shell, capsys):
    assert run(shell, capsys, "traceback") == ("No dead jobs.\n", "")


def test_help_lists_every_builtin(shell, capsys):
    out, _ = run(shell, capsys, "help")
    for builtin in BUILTINS.values():
        assert builtin.usage in out
    assert "%+" in out and "&:process" in out
    out, _ = run(shell, capsys, "help %kill")
    assert out.startswith("kill [-s SIGNAL | -SIGNAL] SPEC [SPEC ...]\n")


def test_remove_several(shell, capsys):
    run(shell, capsys, "1 &", "2 &", "3 &")
    settle(shell)
    run(shell, capsys, "remove 1 %3")
    assert list(shell.jobs.all) == [2]


# -- joblines ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "seconds, text",
    [(0.0, "0.0s"), (0.44, "0.4s"), (12.14, "12.1s"), (185, "3m05s"), (60, "1m00s"),
     (3599, "59m59s"), (3600, "1h00m"), (2 * 3600 + 3 * 60 + 59, "2h03m")],
)
def test_format_elapsed(seconds, text):
    assert joblines.format_elapsed(seconds) == text


def test_state_words(manager):
    gate = threading.Event()
    running = manager.new(gate.wait)
    blocked = manager.new(gate.wait)
    done = manager.new(lambda: 1)
    dead = manager.new(lambda: 1 / 0)
    spin = manager.new("sum(1 for _ in iter(int, 1))", {}, {})
    assert done.wait_done(timeout=30) and dead.wait_done(timeout=30)
    assert joblines.state_word(running) == "Running"
    assert joblines.state_word(done) == "Done"
    assert joblines.state_word(dead) == "Dead"
    spin.kill()
    assert spin.wait_done(timeout=30)
    assert joblines.state_word(spin) == "Killed"
    # blocked in a C call: the kill is pending until the call returns
    blocked.kill()
    assert blocked.state is JobState.KILLING
    assert joblines.state_word(blocked) == "Killing"
    assert "Killing" in joblines.listing_line(blocked)
    gate.set()
    assert blocked.wait_done(timeout=30)
    assert joblines.state_word(blocked) == "Killed"


def test_long_input_is_elided_in_the_middle(manager):
    job = manager.new("'start' + " + " + ".join(["'x'"] * 100) + " + 'end'", {}, {})
    job.wait_done(timeout=30)
    short = joblines.short_input(job)
    assert len(short) <= joblines.MAX_INPUT
    assert short.startswith("'start'") and short.endswith("'end'") and "..." in short
    assert short in joblines.listing_line(job)
    assert short in joblines.announcement(job)


def test_multi_line_input_is_shown_by_its_first_line(shell, capsys):
    out, _ = run(shell, capsys, "for i in range(2):\n    i\n    pass &")
    assert out == "[1] for i in range(2): \u2026\n"
    job = shell.jobs[1]
    job.wait_done(timeout=30)
    assert joblines.short_input(job) == "for i in range(2): \u2026"
    assert joblines.listing_line(job).endswith("  for i in range(2): \u2026")


class HostileStr(Exception):
    def __str__(self):
        raise RuntimeError("no str for you")


def test_describe_exception():
    assert describe_exception(None) == ""
    assert describe_exception(ZeroDivisionError("division by zero")) == "ZeroDivisionError: division by zero"
    assert describe_exception(KeyError()) == "KeyError"
    assert describe_exception(ValueError("a\n  b")) == "ValueError: a b"
    long = describe_exception(ValueError("x" * 1000))
    assert len(long) < 250 and long.endswith("...")


def test_describe_exception_survives_a_raising_str(manager):
    assert describe_exception(HostileStr()) == "HostileStr: <the exception's message could not be shown>"

    def hostile():
        raise HostileStr()

    job = manager.new(hostile)
    assert job.wait_done(timeout=30)
    assert job.state is JobState.DEAD
    line = joblines.announcement(job)
    assert line.startswith(f"[{job.num}]  Dead  ")
    assert "HostileStr" in line


def test_announcement_of_a_dead_job(manager):
    job = manager.new("1/0", {}, {})
    job.wait_done(timeout=30)
    line = joblines.announcement(job)
    assert re.fullmatch(r"\[1\]  Dead  1/0  \d+\.\ds  ZeroDivisionError: division by zero", line)


def test_output_note(manager):
    def two_lines():
        print("a")
        print("b")

    def one_partial_line():
        sys.stdout.write("no newline")

    jobs = [manager.new(two_lines), manager.new(one_partial_line), manager.new(lambda: None)]
    for job in jobs:
        assert job.wait_done(timeout=30)
    assert joblines.output_note(jobs[0]) == f"(output: 2 lines; see output {jobs[0].num})"
    assert joblines.output_note(jobs[1]) == f"(output: 1 line; see output {jobs[1].num})"
    assert joblines.output_note(jobs[2]) == ""
    assert joblines.announcement(jobs[0]).endswith("(output: 2 lines; see output 1)")


def test_output_note_when_output_was_dropped(manager):
    def chatty():
        from bgshell.engine import capture

        out = capture.current_output.get()
        out.limit = 100
        print("x" * 500)

    job = manager.new(chatty)
    assert job.wait_done(timeout=30)
    assert job.output.dropped
    assert joblines.output_note(job).startswith("(output: 501 characters, oldest dropped")


# -- the evaluator ------------------------------------------------------------------------------
@pytest.fixture
def evaluator(main_module):
    return Evaluator(make_namespace())


def test_value_printed_and_underscore_set(evaluator, capsys):
    assert evaluator.run("x = 20\nx + 22")
    assert capsys.readouterr().out == "42\n"
    assert builtins._ == 42
    assert evaluator.run("_ + 1")
    assert capsys.readouterr().out == "43\n"


def test_none_is_not_printed_and_keeps_underscore(evaluator, capsys):
    evaluator.run("5")
    evaluator.run("None")
    evaluator.run("print('p')")
    assert capsys.readouterr().out == "5\np\n"
    assert builtins._ == 5


def test_statements_only_print_nothing(evaluator, capsys):
    assert evaluator.run("y = 1\nif y:\n    z = 2\n")
    assert capsys.readouterr().out == ""
    assert evaluator.namespace["z"] == 2


def test_namespace_is_main(evaluator, capsys):
    evaluator.run("__name__")
    assert capsys.readouterr().out == "'__main__'\n"
    assert sys.modules["__main__"].__dict__ is evaluator.namespace


def test_traceback_has_no_bgshell_frames(evaluator, capsys):
    evaluator.run("def f():\n    return 1/0\n")
    assert not evaluator.run("f()")
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):\n")
    assert 'File "<stdin>", line 1, in <module>' in err
    assert 'line 2, in f' in err
    assert err.endswith("ZeroDivisionError: division by zero\n")
    assert BGSHELL_DIR not in err


def test_keyboard_interrupt_is_printed_not_raised(evaluator, capsys):
    assert not evaluator.run("raise KeyboardInterrupt")
    assert "KeyboardInterrupt" in capsys.readouterr().err


@pytest.mark.parametrize("code", ["exit()", "exit(3)", "raise SystemExit('bye')", "import sys; sys.exit(1)"])
def test_system_exit_is_re_raised(evaluator, code):
    with pytest.raises(SystemExit):
        evaluator.run(code)


def test_exit_codes_through_the_shell(shell):
    for code, expected in [("exit()", 0), ("exit(3)", 3), ("import sys; sys.exit(None)", 0)]:
        with pytest.raises(ExitRequest) as info:
            shell.handle(code)
        assert info.value.code == expected


class BadRepr:
    def __repr__(self):
        raise ValueError("no repr\nat all")


def test_a_repr_that_raises_gives_one_line(evaluator, capsys):
    evaluator.namespace["BadRepr"] = BadRepr
    assert evaluator.run("BadRepr()")
    out, err = capsys.readouterr()
    assert out == "<repr() of BadRepr object failed: ValueError: no repr at all>\n"
    assert err == ""
    assert isinstance(builtins._, BadRepr)


def test_a_repr_that_returns_a_non_string(evaluator, capsys):
    class Weird:
        def __repr__(self):
            return 5

    line = safe_repr(Weird())
    assert line.startswith("<repr() of Weird object failed: TypeError") and "\n" not in line


def test_a_huge_repr_is_cut_with_a_note(evaluator, capsys):
    assert evaluator.run(f"'x' * {MAX_REPR + 1000}")
    out = capsys.readouterr().out
    first, note = out.rstrip("\n").rsplit("\n", 1)
    assert len(first) == MAX_REPR
    assert note == "[... 1,002 more characters not shown; the value is in _]"
    assert len(builtins._) == MAX_REPR + 1000


def test_top_level_await(evaluator, capsys):
    evaluator.run("import asyncio")
    assert evaluator.run("await asyncio.sleep(0, result=5)")
    assert capsys.readouterr().out == "5\n"
    assert builtins._ == 5
    assert evaluator.run("v = await asyncio.sleep(0, result=6)\nv * 2")
    assert capsys.readouterr().out == "12\n"


def test_top_level_await_exception(evaluator, capsys):
    evaluator.run("import asyncio\nasync def boom():\n    raise ValueError('async')\n")
    assert not evaluator.run("await boom()")
    err = capsys.readouterr().err
    assert "ValueError: async" in err
    assert BGSHELL_DIR not in err
    assert "concurrent" not in err
    assert err.startswith('Traceback (most recent call last):\n  File "<stdin>", line 1, in <module>\n')


def test_syntax_error_is_reported(evaluator, capsys):
    assert not evaluator.run("1 +")
    assert "SyntaxError" in capsys.readouterr().err


def test_nul_byte_is_a_syntax_error(evaluator, capsys):
    assert not evaluator.run("1\x00")
    assert "SyntaxError" in capsys.readouterr().err


# -- completion -------------------------------------------------------------------------------
class Holder:
    def __init__(self):
        self.inner = self
        self.value = 1
        self._private = 2


@pytest.fixture
def completion_namespace():
    return {"alpha": 1, "alps": 2, "holder": Holder(), "__hidden": 3}


def completes(text, namespace, jobs=(1, 2, 12)):
    return complete(text, namespace, BUILTINS, jobs, KINDS, JOB_BUILTINS)


def test_complete_names_keywords_and_builtins(completion_namespace):
    assert completes("al", completion_namespace) == (2, ["all", "alpha", "alps"])
    assert completes("whi", completion_namespace) == (3, ["while"])
    assert completes("pri", completion_namespace) == (3, ["print"])
    assert completes("x = alp", completion_namespace) == (3, ["alpha", "alps"])
    assert completes("print(al", completion_namespace) == (2, ["all", "alpha", "alps"])
    assert completes("__hid", completion_namespace) == (5, [])
    assert completes("", completion_namespace) == (0, [])


def test_complete_attributes(completion_namespace):
    assert completes("holder.va", completion_namespace) == (2, ["value"])
    assert completes("holder.inner.inner.in", completion_namespace) == (2, ["inner"])
    assert "_private" not in completes("holder.", completion_namespace)[1]
    assert completes("holder._pr", completion_namespace) == (3, ["_private"])
    assert completes("str.jo", completion_namespace) == (2, ["join"])
    assert completes("nosuch.x", completion_namespace) == (1, [])


def test_complete_attributes_never_calls(completion_namespace):
    calls = []
    completion_namespace["f"] = lambda: calls.append(1)
    completes("f().x", completion_namespace)
    completes("holder.inner().va", completion_namespace)
    assert calls == []


def test_complete_shell_builtins_with_and_without_percent(completion_namespace):
    assert completes("jo", completion_namespace) == (2, ["jobs"])
    assert completes("%jo", completion_namespace) == (3, ["%jobs"])
    assert completes("%re", completion_namespace) == (3, ["%remove", "%result"])
    assert completes("%", completion_namespace) == (1, sorted("%" + name for name in BUILTINS))
    # a shell builtin is only the first word
    assert completes("x = jo", completion_namespace) == (2, [])


def test_complete_job_numbers_after_job_builtins(completion_namespace):
    for builtin in ("result", "kill", "wait", "%result", "output", "traceback", "remove"):
        assert completes(f"{builtin} ", completion_namespace) == (0, ["1", "2", "12", "%+", "%-"]), builtin
    assert completes("kill 1", completion_namespace) == (1, ["1", "12"])
    assert completes("wait 1 ", completion_namespace) == (0, ["1", "2", "12", "%+", "%-"])
    assert completes("result %", completion_namespace) == (1, ["%1", "%2", "%12", "%+", "%-"])
    assert completes("jobs ", completion_namespace) == (0, [])


def test_complete_kinds(completion_namespace):
    assert completes("f(x) &:", completion_namespace) == (0, ["cluster", "process", "thread"])
    assert completes("f(x) &:p", completion_namespace) == (1, ["process"])
    assert completes("kind ", completion_namespace) == (0, ["cluster", "process", "thread"])
    assert completes("kind t", completion_namespace) == (1, ["thread"])
    assert completes("help ki", completion_namespace) == (2, ["kill", "kind"])


def test_complete_on_the_last_line_of_a_block(completion_namespace):
    assert completes("for i in x:\n    alp", completion_namespace) == (3, ["alpha", "alps"])


def test_complete_with_the_shells_namespace(shell):
    length, names = complete("jobs.ne", shell.namespace, BUILTINS, list(shell.jobs.all), KINDS, JOB_BUILTINS)
    assert (length, names) == (2, ["new", "newest"])


# -- script.iter_numbered_inputs -----------------------------------------------------------------------
def inputs(text: str, is_bound=lambda name: False) -> list[str]:
    return [text for _, text in iter_numbered_inputs(text.split("\n"), GRAMMAR, is_bound)]


def test_simple_lines_one_by_one():
    assert inputs("a = 1\nb = 2\n\n\njobs\nresult 1\nc") == ["a = 1", "b = 2", "jobs", "result 1", "c"]


def test_lines_are_yielded_as_soon_as_complete():
    """A generator fed line by line yields a simple statement before the next line."""
    fed = []

    def source():
        for line in ["x = 1", "y = 2", "def f():", "    pass", "z = 3"]:
            fed.append(line)
            yield line

    seen = []
    for _, text in iter_numbered_inputs(source(), GRAMMAR, lambda name: False):
        seen.append((text, len(fed)))
    assert seen == [("x = 1", 1), ("y = 2", 2), ("def f():\n    pass", 5), ("z = 3", 5)]


def test_compound_statement_through_empty_lines_until_column_0():
    assert inputs("def f():\n    x = 1\n\n\n    return x\n\nf()") == [
        "def f():\n    x = 1\n\n\n    return x\n", "f()"]


def test_else_except_finally_continue_a_block():
    assert inputs("if x:\n    a\nelif y:\n    b\nelse:\n    c\nz") == [
        "if x:\n    a\nelif y:\n    b\nelse:\n    c", "z"]
    assert inputs("try:\n    a\nexcept E:\n    b\n\nelse:\n    c\nfinally:\n    d\nz") == [
        "try:\n    a\nexcept E:\n    b\n\nelse:\n    c\nfinally:\n    d", "z"]
    assert inputs("for i in x:\n    a\nelse:\n    b\nz") == ["for i in x:\n    a\nelse:\n    b", "z"]


def test_decorators_belong_to_their_definition():
    assert inputs("@dec\n@dec2(1)\ndef f():\n    pass\ng") == ["@dec\n@dec2(1)\ndef f():\n    pass", "g"]
    assert inputs("@dec\nclass C:\n    pass") == ["@dec\nclass C:\n    pass"]


def test_trailing_ampersand_on_a_blocks_last_line():
    assert inputs("for i in range(3):\n    f(i) &\nprint(1)") == ["for i in range(3):\n    f(i) &", "print(1)"]


def test_comment_at_column_0_inside_a_block():
    assert inputs("def f():\n    a = 1\n# note\n    return a\ng") == ["def f():\n    a = 1\n# note\n    return a", "g"]


def test_open_brackets_span_lines():
    assert inputs("x = [\n1,\n2\n]\ny") == ["x = [\n1,\n2\n]", "y"]
    assert inputs("f(\n  a,\n)\ny") == ["f(\n  a,\n)", "y"]


def test_soft_keyword_match_as_a_name():
    assert inputs("match = 3\nmatch") == ["match = 3", "match"]
    assert inputs("match x:\n    case 1:\n        pass\ny") == ["match x:\n    case 1:\n        pass", "y"]


def test_async_def_and_trailing_block_at_end_of_input():
    assert inputs("async def f():\n    pass\nx") == ["async def f():\n    pass", "x"]
    result = inputs("def f():\n    pass\n\n\n")
    assert len(result) == 1 and result[0].startswith("def f():\n    pass")


def test_lines_with_newlines_and_crlf():
    lines = ["a = 1\n", "def f():\r\n", "    return 1\r\n", "b\n"]
    assert [text for _, text in iter_numbered_inputs(lines, GRAMMAR, lambda name: False)] == ["a = 1", "def f():\n    return 1", "b"]

def test_numbered_inputs_give_each_inputs_first_line():

    lines = "a = 1\n\ndef f():\n    x = 1\n\n    return x\nf()".split("\n")
    assert list(iter_numbered_inputs(lines, GRAMMAR, lambda name: False)) == [
        (1, "a = 1"), (3, "def f():\n    x = 1\n\n    return x"), (7, "f()")]


def test_empty_input():
    assert inputs("") == []
    assert inputs("\n\n\n") == []


# -- codesplit ----------------------------------------------------------------------------------
def test_compile_split_parts():
    split = compile_split("x = 1\nx + 1")
    assert split.body is not None and split.last_expr is not None and not split.is_async
    ns: dict = {}
    exec(split.body, ns)
    assert eval(split.last_expr, ns) == 2
    only_statements = compile_split("x = 1")
    assert only_statements.last_expr is None and only_statements.body is not None
    only_expr = compile_split("1 + 1")
    assert only_expr.body is None and eval(only_expr.last_expr) == 2


def test_compile_split_async():
    assert compile_split("await x").is_async
    assert compile_split("y = await x\ny").is_async
    assert not compile_split("async def f():\n    await x").is_async


@pytest.mark.parametrize("source", ["1 +", "1\x00", "(" * 300 + ")" * 300, "x = " + "-" * 100_000 + "1"])
def test_compile_split_only_raises_syntax_error(source):
    with pytest.raises(SyntaxError):
        compile_split(source)


def test_compile_split_keeps_the_filename():
    split = compile_split("1/0", "<stdin>")
    assert split.last_expr.co_filename == "<stdin>"


# -- the early prompt (before the line editor is ready) ---------------------------------
def test_early_prompt_ctrl_c_between_enter_and_the_run_says_keyboardinterrupt(capfd):
    """The terminal is cooked from Enter on, so a Ctrl-C may land before the run's own
    handling begins: python3 then prints KeyboardInterrupt, and so must the early
    prompt (the line was once dropped without a word), and it goes on reading."""
    from bgshell.frontends.early_prompt import _EarlyLine

    ran: list[str] = []

    def run(text: str) -> None:
        if not ran:
            ran.append("interrupted")
            raise KeyboardInterrupt  # the SIGINT, landing before the run's try
        ran.append(text)

    modes: list[bool] = []
    reader = _EarlyLine(lambda: ">>> ", lambda text: True, run, modes.append)
    try:
        reader.feed(b"await ok()\r")
    except KeyboardInterrupt:
        pytest.fail("the line was dropped: the KeyboardInterrupt left the reader, which treats it as a key")
    shown = capfd.readouterr().out
    assert "\r\nKeyboardInterrupt\r\n>>> " in shown, shown
    assert modes == [True, False], "the terminal must be quiet again for the next keys"
    reader.feed(b"6*7\r")
    assert ran == ["interrupted", "6*7"]
