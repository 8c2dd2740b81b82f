"""Job control with bash's options (issue 12): ``jobs -alprs``, ``wait -n`` and the
status it sets, ``kill -s SIGNAL``/``-SIGNAL``/``-l``, and ``bg``.

Through a ``repl.Shell`` (what the builtins print), and through the installed
``bgshell`` on a pipe (what a script sees, its exit status included).  Tests
synchronise on events, on jobs ending and on the shell's output, never on sleeps.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from bgshell.engine.jobinput import serve_terminal
from bgshell.engine.states import JobState
from bgshell.shell import jobcontrol
from shellkit import BGSHELL, HANG, gated, needs_bgshell, run, settle, shell, until  # noqa: F401  (shell: the fixture)


# -- jobs: -r -s -l -p, specs, alignment ----------------------------------------------------


def test_jobs_r_lists_running_jobs_only(shell, capsys):
    run(shell, capsys, "6 * 7 &")
    settle(shell)
    gated(shell, capsys)
    out, err = run(shell, capsys, "jobs -r")
    assert err == ""
    assert re.fullmatch(r"\[2\]  Running +\S+  thread +gate2\.wait\(\)\n", out), out
    shell.namespace["gate2"].set()
    settle(shell)
    assert run(shell, capsys, "jobs -r") == ("", "")  # nothing running: nothing said, as bash


@pytest.fixture
def terminal_input():
    """Jobs reading stdin wait for a line, as at a terminal."""
    serve_terminal(True)
    yield
    serve_terminal(False)


def test_jobs_s_lists_jobs_waiting_for_input_and_result_shows_what_they_bound(shell, capsys, terminal_input):
    waiting = threading.Event()
    shell.jobs.add_finish_listener(waiting.set)
    gated(shell, capsys)
    run(shell, capsys, "name = input('name? ') &")
    assert waiting.wait(HANG)
    until(lambda: shell.jobs[2].waiting_for_input, "job 2 waits for input")
    out, _ = run(shell, capsys, "jobs -s")
    assert re.fullmatch(r"\[2\]  Waiting for input +\S+  thread +name = input\('name\? '\)\n", out), out
    out, _ = run(shell, capsys, "jobs -r")
    assert out.startswith("[1]") and "[2]" not in out
    out, _ = run(shell, capsys, "jobs -rs")
    assert [line[:3] for line in out.splitlines()] == ["[1]", "[2]"]
    # Columns stay aligned next to the long state word.
    lines = run(shell, capsys, "jobs")[0].splitlines()
    assert len({line.index("thread") for line in lines}) == 1, lines
    out, _ = run(shell, capsys, "bg 2")
    assert out == "bg: job 2 already runs in the background (it is waiting for input)\n"
    shell.jobs[2].input.feed("Ada\n")
    assert shell.jobs[2].wait_done(timeout=HANG)
    assert run(shell, capsys, "result 2") == ("name = 'Ada'\n", "")


def test_jobs_l_says_where_each_job_runs(shell, capsys):
    gated(shell, capsys)
    run(shell, capsys, "import time; print('ready', flush=True); time.sleep(60) &:p",
        "import asyncio", "asyncio.sleep(60) &")
    until(lambda: "ready" in shell.jobs[2].output.text(), "the process job runs its code")
    until(lambda: all(job.handle is not None for job in shell.jobs.all.values()), "every job runs")
    until(lambda: shell.jobs[3].kind == "coroutine", "job 3 runs on the loop")
    plain, _ = run(shell, capsys, "jobs")
    out, err = run(shell, capsys, "jobs -l")
    assert err == ""
    rows = out.splitlines()
    assert rows[0::2] == plain.splitlines()  # the same columns, a line below each job
    assert re.fullmatch(rf"      on thread (\S+ )?{shell.jobs[1].handle}", rows[1]), rows
    assert rows[3] == f"      on pid {shell.jobs[2].handle.pid}", rows
    assert re.fullmatch(r"      on loop thread bgshell-asyncio \d+", rows[5]), rows
    out, _ = run(shell, capsys, "jobs --long -r 2")
    assert out.splitlines()[1:] == [f"      on pid {shell.jobs[2].handle.pid}"]
    shell.namespace["gate1"].set()
    settle_first = shell.jobs[1].wait_done(timeout=HANG)
    assert settle_first
    out, _ = run(shell, capsys, "jobs -l 1")
    assert len(out.splitlines()) == 1  # a thread job that ended ran nowhere worth naming


def test_jobs_p_prints_the_process_running_each_job(shell, capsys):
    gated(shell, capsys)
    run(shell, capsys, "import time; print('ready', flush=True); time.sleep(60) &:p", "7 &")
    until(lambda: "ready" in shell.jobs[2].output.text(), "the process job runs its code")
    settle_third = shell.jobs[3].wait_done(timeout=HANG)
    assert settle_third
    out, err = run(shell, capsys, "jobs -p")
    child = shell.jobs[2].handle.pid
    assert (out, err) == (f"{os.getpid()}\n{child}\n", "")  # the finished job 3 has no process
    assert child != os.getpid()
    os.kill(child, 0)  # a live process
    assert run(shell, capsys, "jobs -pr 2") == (f"{child}\n", "")


def test_jobs_columns_stay_aligned_past_job_9(shell, capsys):
    for _ in range(12):
        run(shell, capsys, "6 * 7 &")
    settle(shell)
    lines = run(shell, capsys, "jobs")[0].splitlines()
    assert len(lines) == 12
    for word in ("Done", "thread", "6 * 7"):
        assert len({line.index(word) for line in lines}) == 1, (word, lines)
    assert lines[0].startswith("[1]   Done") and lines[11].startswith("[12]  Done")


def test_jobs_with_specs_lists_those(shell, capsys):
    run(shell, capsys, "1 &", "2 &", "3 &")
    settle(shell)
    out, _ = run(shell, capsys, "jobs %+ 1")
    assert [line[:3] for line in out.splitlines()] == ["[1]", "[3]"]


# -- wait -n and the status of wait ---------------------------------------------------------------


def test_wait_n_returns_when_the_first_job_ends_and_announces_it(shell, capsys):
    gate1, gate2 = gated(shell, capsys, 2)
    threading.Thread(target=gate2.set).start()  # before or after wait -n starts: the same for it
    out, err = run(shell, capsys, "wait -n")
    assert err == ""
    assert re.fullmatch(r"\[2\]  Done  gate2\.wait\(\)  \S+\n", out), out
    assert shell.jobs[1].state is JobState.RUNNING
    assert not shell.failed


def test_wait_n_with_specs_waits_for_the_first_of_those(shell, capsys):
    gate1, gate2, gate3 = gated(shell, capsys, 3)
    gate1.set()
    assert shell.jobs[1].wait_done(timeout=HANG)
    run(shell, capsys, "jobs")  # job 1 is seen now; wait -n 2 3 must not return for it
    threading.Thread(target=gate3.set).start()
    out, _ = run(shell, capsys, "wait -n 2 3")
    assert "[3]  Done" in out and "[2]" not in out
    assert shell.jobs[2].state is JobState.RUNNING
    assert run(shell, capsys, "wait -n 1 2")[0] == ""  # job 1 has ended: at once, nothing new to announce


def test_wait_with_nothing_to_wait_for_is_immediate(shell, capsys):
    assert run(shell, capsys, "wait", "wait -n") == ("", "")
    assert not shell.failed


def test_wait_sets_the_status_as_bash_s_does(shell, capsys):
    run(shell, capsys, "1/0 &", "6 * 7 &")
    settle(shell)
    run(shell, capsys, "wait")
    assert not shell.failed, "wait without specs always succeeds"
    run(shell, capsys, "wait 1 2")
    assert not shell.failed, "the last job named completed"
    out, err = run(shell, capsys, "wait 2 1")
    assert shell.failed, "the last job named died: a failed input"
    assert err == "wait: job 1 did not complete (Dead: ZeroDivisionError: division by zero)\n"


def test_wait_n_fails_when_the_job_that_ended_died(shell, capsys):
    run(shell, capsys, "gate = __import__('threading').Event()", "gate.wait() and 1/0 &")
    threading.Thread(target=shell.namespace["gate"].set).start()
    out, _ = run(shell, capsys, "wait -n")
    assert "[1]  Dead" in out
    assert shell.failed


# -- kill -s / -SIGNAL / -l ----------------------------------------------------------------------


@pytest.mark.parametrize("text, signum", [
    ("INT", signal.SIGINT), ("sigint", signal.SIGINT), ("2", signal.SIGINT), ("Term", signal.SIGTERM),
    ("SIGTERM", signal.SIGTERM), ("15", signal.SIGTERM), ("KILL", signal.SIGKILL), ("9", signal.SIGKILL),
])
def test_signal_spellings(text, signum):
    assert jobcontrol._signal_named(text) == signum


CATCHER = """\


def catcher():
    running.set()
    try:
        while True:
            gate.wait(0.01)
    except KeyboardInterrupt:
        return 'caught'
"""


@pytest.mark.parametrize("typed", ["kill -INT 1", "kill -s INT %1", "kill -2 1", "kill -s SIGINT 1"])
def test_kill_int_raises_keyboardinterrupt_that_a_thread_job_may_catch(shell, capsys, typed):
    run(shell, capsys, "import threading", "running, gate = threading.Event(), threading.Event()", CATCHER,
        "catcher() &")
    assert shell.namespace["running"].wait(HANG)
    assert run(shell, capsys, typed) == ("", "")
    settle(shell)
    assert shell.jobs[1].state is JobState.COMPLETED
    assert run(shell, capsys, "result 1")[0] == "'caught'\n"


def test_kill_9_of_a_thread_job_says_it_sends_term(shell, capsys):
    run(shell, capsys, "import threading", "running, gate = threading.Event(), threading.Event()", CATCHER,
        "catcher() &")
    assert shell.namespace["running"].wait(HANG)
    out, err = run(shell, capsys, "kill -9 1")
    assert out == "kill: job 1 runs in a thread, which cannot be stopped harder than TERM; sending TERM\n"
    assert err == ""
    settle(shell)
    assert shell.jobs[1].state is JobState.KILLED


def test_kill_kill_of_a_process_job_skips_the_grace_period(shell, capsys):
    run(shell, capsys, "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                       "print('ready', flush=True); time.sleep(60) &:p")
    until(lambda: "ready" in shell.jobs[1].output.text(), "the process job runs its code")
    assert run(shell, capsys, "kill -s KILL 1") == ("", "")
    settle(shell)
    assert shell.jobs[1].state is JobState.KILLED
    assert "signal SIGKILL" in shell.jobs[1].traceback_text


def test_kill_int_of_a_process_job_interrupts_it(shell, capsys):
    run(shell, capsys, "import time; print('ready', flush=True); time.sleep(60) &:p")
    until(lambda: "ready" in shell.jobs[1].output.text(), "the process job runs its code")
    assert run(shell, capsys, "kill -INT 1") == ("", "")
    settle(shell)
    assert shell.jobs[1].state is JobState.DEAD
    assert shell.jobs[1].error_summary == "KeyboardInterrupt"


def test_kill_l_lists_the_signals(shell, capsys):
    out, err = run(shell, capsys, "kill -l")
    assert err == ""
    assert [line.split()[:2] for line in out.splitlines()] == [["2)", "SIGINT"], ["9)", "SIGKILL"], ["15)", "SIGTERM"]]


def test_a_bad_signal_does_nothing_to_the_jobs(shell, capsys):
    gated(shell, capsys)
    out, err = run(shell, capsys, "kill -HUP 1")
    assert err == "kill: unknown signal 'HUP': use INT, TERM or KILL (kill -l lists them)\n"
    assert shell.jobs[1].state is JobState.RUNNING


# -- bg -------------------------------------------------------------------------------------------


def test_bg_says_the_job_already_runs_in_the_background(shell, capsys):
    gated(shell, capsys)
    assert run(shell, capsys, "bg") == ("bg: job 1 already runs in the background\n", "")
    assert run(shell, capsys, "bg %1") == ("bg: job 1 already runs in the background\n", "")
    assert not shell.failed
    out, err = run(shell, capsys, "%bg 7")
    assert err == "bg: no such job 7\n"


# -- on a pipe: what a script sees -----------------------------------------------------------------


def user_environment(tmp_path: Path) -> dict[str, str]:
    environment = {**os.environ, "HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state")}
    for name in ("PYTHONSTARTUP", "PAGER"):
        environment.pop(name, None)
    return environment


def piped(stdin: str, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([BGSHELL], input=stdin, capture_output=True, text=True, env=user_environment(tmp_path),
                          timeout=HANG, cwd=tmp_path)


@needs_bgshell
def test_pipe_wait_of_a_dead_job_fails_the_run_and_plain_wait_does_not(tmp_path):
    ok = piped("1/0 &\nwait\nprint('on')\n", tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert re.search(r"^\[1\]  Dead  1/0  \S+  ZeroDivisionError: division by zero$", ok.stdout, re.M)
    failed = piped("1/0 &\nwait 1\nprint('on')\n", tmp_path)
    assert failed.returncode == 1 and failed.stdout.endswith("on\n"), failed
    assert failed.stderr == "wait: job 1 did not complete (Dead: ZeroDivisionError: division by zero)\n"
    # Named: kill may see the job end (and announce it) before wait -n runs.
    killed = piped("import time\nwhile True: time.sleep(0.01) &\nkill %1\nwait -n %1\n", tmp_path)
    assert killed.returncode == 1 and "[1]  Killed" in killed.stdout, killed
    assert killed.stderr == "wait: job 1 did not complete (Killed)\n"


@needs_bgshell
def test_pipe_job_control_transcript(tmp_path):
    proc = piped(textwrap.dedent("""\
        import threading, time
        gate, started = threading.Event(), threading.Event()
        z = 7 * 7 &
        jobs.new(time.sleep, 0) and None
        while not started.set() and not gate.wait(0.01): pass &
        _ = started.wait()
        wait 1 2
        result 1
        jobs -r
        jobs -p
        bg
        kill -l
        kill -s INT 3
        wait -n 3
        jobs
    """), tmp_path)
    assert proc.stderr == "wait: job 3 did not complete (Dead: KeyboardInterrupt)\n"
    lines = proc.stdout.splitlines()
    loop = r"while not started\.set\(\) and not gate\.wait\(0\.01\): pass"
    assert "[1] z = 7 * 7" in lines and re.search(rf"^\[3\] {loop}$", proc.stdout, re.M), lines
    assert re.search(r"^z = 49$", proc.stdout, re.M)
    assert re.search(rf"^\[3\]  Running +\S+  thread +{loop}$", proc.stdout, re.M)
    assert re.search(r"^\d+$", proc.stdout, re.M)  # jobs -p: the shell's own pid
    assert "bg: job 3 already runs in the background" in lines
    assert re.search(r"^ 2\) SIGINT ", proc.stdout, re.M)
    assert re.search(rf"^\[3\]  Dead  {loop}  \S+  KeyboardInterrupt$", proc.stdout, re.M)
    assert re.search(r"^\[2\]  Done +\S+  thread +time\.sleep\(0\)$", proc.stdout, re.M)
    assert proc.returncode == 1  # wait -n: the job that ended did not complete


#: Start a command with SIGINT at its default even when pytest runs with it ignored
#: (in the background of a non-interactive shell), as a user's shell would.


WITH_CTRL_C = [sys.executable, "-c", "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
               "os.execv(sys.argv[1], sys.argv[1:])"]


@needs_bgshell
def test_pipe_ctrl_c_during_wait_fails_the_input_and_the_run_goes_on(tmp_path):
    """The job says when the shell's main thread is inside ``wait``; then SIGINT."""
    proc = subprocess.Popen([*WITH_CTRL_C, BGSHELL], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=user_environment(tmp_path), cwd=tmp_path)
    try:
        proc.stdin.write(textwrap.dedent("""\
            import os, sys, threading, time
            gate = threading.Event()
            main = threading.main_thread().ident
            def in_wait():
                frame = sys._current_frames().get(main)
                while frame is not None and frame.f_code.co_name != "cmd_wait":
                    frame = frame.f_back
                return frame is not None
            def job():
                while not in_wait():
                    time.sleep(0.01)
                os.write(1, b"waiting\\n")
                gate.wait()
            job() &
            wait 1
        """))
        proc.stdin.flush()
        assert proc.stdout.readline() == "[1] job()\n"
        assert proc.stdout.readline() == "waiting\n"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate("gate.set()\nprint('went on')\n", timeout=HANG)
    finally:
        proc.kill()
        proc.wait()
    assert "wait: interrupted; 1 job still running" in err
    assert "went on\n" in out
    assert proc.returncode == 1
