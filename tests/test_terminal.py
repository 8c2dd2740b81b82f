"""End-to-end tests of ``bgshell`` at a terminal: the installed command in a real pty.

Each test drives the shell as a user would (keys in, screen text out) through
``pty_shell.PtyShell`` and asserts what the user relies on.  Tests synchronise on
the shell's output, never on sleeps; the only waits that are not on output are
the few that show something does *not* happen (marked as such).

Shells that misbehave are pinned by ``xfail(strict=True)`` tests whose reason
starts with ``BUG:``; once the shell is fixed the strict xfail fails, and the mark
is to be removed.
"""

from __future__ import annotations

import os
import re
import signal
import stat
import time
from pathlib import Path

import pytest

from pty_shell import (
    CTRL_C,
    CTRL_D,
    CTRL_E,
    CTRL_R,
    ENTER,
    LEFT,
    TAB,
    UP,
    find_bgshell,
)

#: Seconds a test waits for any single thing to appear.
TIMEOUT = 10


def nonblank(text: str) -> list[str]:
    """The lines of *text* that hold something, stripped of trailing blanks."""
    return [line.rstrip() for line in text.splitlines() if line.strip()]


def wait_for_file(path: Path) -> None:
    """Wait until a job has created *path* as its last act, and a moment more for
    the job to return: how a test knows a job ended when the shell must stay quiet."""
    deadline = time.monotonic() + TIMEOUT
    while not path.exists():
        assert time.monotonic() < deadline, f"the job never created {path}"
        time.sleep(0.02)
    time.sleep(0.3)


def announced(num: int, word: str, text: str = r"\S") -> str:
    """A regex for the bash-style announcement ``[N]  Word  INPUT ...``.

    The listing of ``jobs`` pads the state word (``[1]  Done        1.0s``); an
    announcement has exactly two spaces and then the input.
    """
    return rf"\[{num}\]  {word}  {text}"


# ----------------------------------------------------------------------------- startup


def test_the_installed_command_is_found():
    assert os.access(find_bgshell(), os.X_OK)


def test_banner_then_primary_prompt(spawn):
    shell = spawn(wait=False)
    before = shell.wait_prompt()
    assert before.startswith("bgshell ")
    shell.sendline("6*7")
    shell.expect_text(r"\n42\n")
    shell.wait_prompt()
    shell.read_available()
    # What the user sees: the line as typed after ">>> ", its value, a fresh prompt.
    rows = [row for row in shell.screen() if row]
    assert rows[-3:] == [">>> 6*7", "42", ">>>"], rows


def test_version_option(spawn):
    shell = spawn("--version", wait=False)
    shell.expect_text(r"^bgshell \d+\.\d+")
    assert shell.expect_exit() == 0


def test_help_option(spawn):
    shell = spawn("--help", wait=False)
    shell.expect_text(r"usage: bgshell")
    assert shell.expect_exit() == 0
    for option in ("--no-color", "--notify", "--history", "--version", "-c"):
        assert option in shell.text


def test_pythonstartup_runs_before_the_first_prompt(spawn, tmp_path):
    startup = tmp_path / "startup.py"
    startup.write_text("startup_value = 'from startup'\nprint('startup ran')\n")
    shell = spawn(env={"PYTHONSTARTUP": str(startup)}, wait=False)
    assert "startup ran" in shell.wait_prompt()
    assert nonblank(shell.run("startup_value")) == ["'from startup'"]


def test_pythonstartup_error_is_shown_and_the_shell_starts(spawn, tmp_path):
    startup = tmp_path / "startup.py"
    startup.write_text("before = 1\nraise RuntimeError('startup failed')\nafter = 2\n")
    shell = spawn(env={"PYTHONSTARTUP": str(startup)}, wait=False)
    before = shell.wait_prompt()
    assert "RuntimeError: startup failed" in before
    assert "bgshell/" not in before
    assert nonblank(shell.run("before")) == ["1"]


# ------------------------------------------------------------------ evaluating input


def test_expression_value_is_printed_and_kept_in_underscore(spawn):
    shell = spawn()
    assert nonblank(shell.run("6*7")) == ["42"]
    assert nonblank(shell.run("_")) == ["42"]
    assert nonblank(shell.run("_ + 1")) == ["43"]


def test_none_is_not_printed(spawn):
    shell = spawn()
    assert nonblank(shell.run("None")) == []
    assert nonblank(shell.run("print('shown')")) == ["shown"]


def test_def_block_over_several_lines_then_call(spawn):
    shell = spawn()
    transcript = shell.run_lines(["def double(x):", "y = x * 2", "return y", ""])
    # Continuation lines are drawn with the "... " prompt.
    assert re.search(r"^\.\.\.\s+y = x \* 2", transcript, re.MULTILINE)
    assert "Error" not in transcript
    assert nonblank(shell.run("double(21)")) == ["42"]


def test_open_bracket_continues_the_line(spawn):
    shell = spawn()
    transcript = shell.run_lines(["(1,", "2)"])
    assert nonblank(transcript)[-2:] == ["... 2)", "(1, 2)"]


def test_pasted_block_runs_as_one_input(spawn):
    shell = spawn()
    shell.paste("a = 1\nb = 2\nprint('sum', a + b)\n")
    shell.send(ENTER)
    out = shell.wait_prompt()
    assert re.search(r"^sum 3$", out, re.MULTILINE)
    assert "Error" not in out
    # A block holding a function, an empty line, then a call.
    shell.paste("def seven():\n    return 7\n\nseven() * 6\n")
    shell.send(ENTER)
    out = shell.wait_prompt()
    assert re.search(r"^42$", out, re.MULTILINE), out


def test_exception_prints_a_traceback_without_bgshell_frames(spawn):
    shell = spawn()
    shell.run_lines(["def inner():", "return 1/0", ""])
    out = shell.run("inner()")
    assert "Traceback (most recent call last):" in out
    # Each input has a name of its own, so the lines of the function typed earlier show.
    assert 'File "<python-input-0>", line 2, in inner\n    return 1/0' in out
    assert "ZeroDivisionError: division by zero" in out
    assert "bgshell/" not in out and "site-packages" not in out, out
    # ... and the shell goes on.
    assert nonblank(shell.run("6*7")) == ["42"]


# ------------------------------------------------------------------------------- keys


def test_ctrl_c_clears_the_line_being_typed(spawn):
    shell = spawn()
    shell.run("counter = 0")
    shell.send("counter += 1")
    shell.expect_text(r"counter \+= 1")
    shell.send(CTRL_C)
    shell.wait_prompt()
    assert nonblank(shell.run("6*7")) == ["42"]
    assert nonblank(shell.run("counter")) == ["0"]  # the cleared line never ran


def test_sigint_from_elsewhere_at_the_first_prompt_only_clears_the_line(spawn):
    """The first prompt is up before the editor has loaded (issue 14): a SIGINT there,
    sent by a job or by kill(1), is Ctrl-C at a prompt, as in python3, not the end."""
    shell = spawn()
    shell.child.kill(signal.SIGINT)  # at once: most likely before the editor is ready
    shell.wait_prompt()
    assert nonblank(shell.run("6*7")) == ["42"]
    assert shell.child.isalive()


def test_a_first_job_that_sends_sigint_to_the_shell_is_launched_and_announced(spawn):
    """The first thread job starts a worker, and new() waits for it to run: the job's
    SIGINT must not cut that launch short (the job ran, unlisted and unannounced)."""
    shell = spawn()
    shell.wait_editor()
    start = shell.pos
    shell.sendline("import os, signal; os.kill(os.getpid(), signal.SIGINT) &")
    shell.expect_text(r"^\[1\] import os, signal; os\.kill.*\n")
    shell.expect_text(r"^\[1\]  Done  import os, signal; os\.kill")
    shell.sendline("6*7")  # the SIGINT may reach the idle prompt, which redraws in place
    shell.expect_text(r"^42$")
    assert "KeyboardInterrupt" not in shell.text[start:shell.pos]


def test_ctrl_d_on_an_empty_line_exits_with_status_0(spawn):
    shell = spawn()
    shell.send(CTRL_D)
    assert shell.expect_exit(timeout=5) == 0


def test_ctrl_d_on_a_line_with_text_does_not_exit(spawn):
    shell = spawn()
    shell.send("6*7")
    shell.expect_text(r"6\*7")
    shell.send(CTRL_D)  # deletes (nothing) under the cursor; the line stays
    shell.send(ENTER)
    shell.expect_text(r"^42$")
    shell.wait_prompt()
    assert shell.alive()


def test_enter_in_the_middle_of_a_complete_line_runs_it(spawn):
    shell = spawn()
    shell.send("6*7")
    shell.expect_text(r"6\*7")
    shell.send(LEFT)
    shell.read_available(0.2)
    shell.send(ENTER)
    shell.expect_text(r"^42$", timeout=4)


def test_ctrl_r_finds_an_earlier_input(spawn):
    shell = spawn()
    shell.run("hits = []")
    shell.run("hits.append(7)")
    shell.run("other = 1")
    shell.send(CTRL_R)
    shell.expect_text(r"search")
    shell.send("hits.app")
    shell.expect_text(r"hits\.append\(7\)")
    shell.send(ENTER)  # accept the search: the entry is now the line being edited
    shell.send(CTRL_E + ENTER)  # run it (from its end: see the mid-line Enter test)
    shell.expect_text(r"hits\.append\(7\)[ ]*\n", timeout=4)
    shell.wait_prompt(timeout=4)
    assert nonblank(shell.run("hits", timeout=4)) == ["[7, 7]"]


# ---------------------------------------------------------------------------- history


def test_history_is_private_written_at_once_and_kept_across_sessions(spawn):
    history = spawn.state_dir / "bgshell" / "history"
    first = spawn()
    first.run("hist_marker = 123")
    # On disk right after Enter, before the session ends.
    assert "hist_marker = 123" in history.read_text()
    assert stat.S_IMODE(history.stat().st_mode) == 0o600
    assert stat.S_IMODE(history.parent.stat().st_mode) == 0o700
    first.send(CTRL_D)
    assert first.expect_exit(timeout=5) == 0

    second = spawn()
    second.send(UP)
    second.expect_text(r"hist_marker = 123")
    second.send(ENTER)
    second.expect_text(r"\n")
    second.wait_prompt()
    assert nonblank(second.run("hist_marker")) == ["123"]


def test_history_option_chooses_the_file(spawn, tmp_path):
    chosen = tmp_path / "my_history"
    shell = spawn("--history", str(chosen))
    shell.run("chosen_marker = 1")
    assert "chosen_marker = 1" in chosen.read_text()
    default = spawn.state_dir / "bgshell" / "history"
    assert not default.exists() or "chosen_marker" not in default.read_text()


# ------------------------------------------------------------------------- completion


def test_tab_completes_a_namespace_name(spawn):
    shell = spawn()
    shell.run("unusual_variable_name = 5")
    shell.send("unusual_var" + TAB)
    shell.expect_text(r"unusual_variable_name")
    assert nonblank(shell.run("")) == ["5"]


def test_tab_completes_a_builtin_function(spawn):
    shell = spawn()
    shell.send("isinst" + TAB)
    shell.expect_text(r"isinstance")
    assert nonblank(shell.run("(3, int)")) == ["True"]


def test_tab_completes_an_attribute(spawn):
    shell = spawn()
    shell.run("import os")
    shell.send("os.pa" + TAB)
    # A menu of candidates, one per row, "path" among them.
    shell.expect_text(r"^ ?path\b")
    shell.send(CTRL_C)
    shell.wait_prompt()
    # One candidate on every Python (os.path.isd has two on 3.13: isdir, isdevdrive).
    shell.send("os.path.isdi" + TAB)  # one candidate: inserted
    shell.expect_text(r"isdir")
    assert "isdir" in shell.run("")


def test_tab_completes_a_job_number_after_result(spawn):
    shell = spawn()
    shell.run("'job value' &")
    shell.run("wait 1")
    shell.send("result " + TAB)
    shell.expect_text(r"^ ?1\b")  # the job numbers are offered
    shell.send(CTRL_C)
    shell.wait_prompt()


def test_tab_after_kind_marker_offers_process_and_thread(spawn):
    shell = spawn()
    shell.send("6*7 &:" + TAB)
    shell.expect_text(r"^ ?process\b")
    shell.expect_text(r"^ ?thread\b")
    shell.send(CTRL_C)
    shell.wait_prompt()
    shell.send("6*7 &:pro" + TAB)
    shell.expect_text(r"process")
    assert re.search(r"^\[1\] 6\*7$", shell.run(""), re.MULTILINE)


def test_enter_with_a_completion_selected_does_not_open_a_continuation_line(spawn):
    shell = spawn()
    shell.run("import os")
    shell.send("os.pa" + TAB)
    shell.expect_text(r"^ ?pardir\b")
    shell.send(TAB)  # select the first candidate, "pardir"
    shell.expect_text(r"rdir")
    start = shell.pos
    shell.send(ENTER)
    # A wait on purpose: the screen after one Enter must not show a "..." line.
    after_enter = shell.read_available(quiet=0.5)
    assert not re.search(r"^\.\.\.", after_enter, re.MULTILINE), after_enter
    if "'..'" not in after_enter:  # Enter only accepted the completion: run it now
        shell.send(ENTER)
    shell.expect_text(r"^'\.\.'$")
    shell.wait_prompt()
    assert not re.search(r"^\.\.\.", shell.text[start:], re.MULTILINE), shell.text[start:]


# --------------------------------------------------------------- the namespace, jobs


def test_jobs_manager_is_bound_in_the_namespace(spawn):
    shell = spawn()
    shell.run_lines(["def square(x):", "return x * x", ""])
    out = shell.run("job = jobs.new(square, 32)")
    assert "Error" not in out
    shell.run("job.join(5)")
    assert nonblank(shell.run("jobs[1].result")) == ["1024"]
    assert nonblank(shell.run("__name__")) == ["'__main__'"]


def test_ctrl_c_interrupts_foreground_code_only(spawn):
    shell = spawn()
    shell.run("import time")
    assert re.search(r"^\[1\] ", shell.run("time.sleep(3) or 'background done' &"), re.MULTILINE)
    # The interrupt is raised inside the user's code: its except clause runs.
    shell.paste("try:\n    print('sleeping'); time.sleep(30)\nexcept KeyboardInterrupt:\n    print('caught')\n\n")
    shell.send(ENTER)
    shell.expect_text(r"^sleeping$")
    shell.send(CTRL_C)
    shell.expect_text(r"caught$", timeout=5)  # (after the tty's echo of ^C)
    shell.wait_prompt()
    # Without a handler: a KeyboardInterrupt traceback, and the shell goes on.
    shell.sendline("print('again'); time.sleep(30)")
    shell.expect_text(r"^again$")
    shell.send(CTRL_C)
    shell.expect_text(r"KeyboardInterrupt", timeout=5)
    shell.wait_prompt()
    # The background job was not touched: still running, then done with its value.
    assert re.search(r"^\[1\]\s+Running\b", shell.run("jobs"), re.MULTILINE)
    shell.expect_text(announced(1, "Done", r"time\.sleep\(3\)"), timeout=8)
    shell.wait_prompt()
    assert nonblank(shell.run("result 1")) == ["'background done'"]



#: A thread of the user's gets the SIGINT while the main thread sleeps in a C call: the
#: kernel hands a process's signal to any thread that does not block it, and CPython
#: then only sets a flag, which the sleeping main thread reads when the sleep ends.
#: (A Ctrl-C landing just before the sleep began looks the same; python3 -i waits the
#: whole sleep out.)  The helper thread waits DELAY seconds first.
SIGINT_IN_ANOTHER_THREAD = (
    "import threading, signal, time; threading.Thread(target=lambda: (time.sleep(DELAY), "
    "signal.pthread_kill(threading.get_ident(), signal.SIGINT))).start(); time.sleep(300)"
)


@pytest.mark.parametrize("when, delay", [("early prompt", 0.02), ("early prompt", 0.3), ("editor", 0.02)],
                         ids=["early-prompt-while-the-editor-loads", "early-prompt-later", "editor"])
def test_a_sigint_that_another_thread_took_still_interrupts_the_foreground(spawn, when, delay):
    """A thread of bgshell's sees every signal on the wakeup pipe and wakes the main
    thread when its handler has not run: the UI thread under the editor, a relay thread
    before it (a line typed at once runs at the early prompt; the SIGINT then comes
    most often while the editor is still loading, or, later, once it waits for the
    line to end)."""
    shell = spawn()
    if when == "editor":
        shell.wait_editor()
    shell.sendline(SIGINT_IN_ANOTHER_THREAD.replace("DELAY", str(delay)))
    shell.expect_text(r"^KeyboardInterrupt$", timeout=30)  # (a hang bound: the sleep is 300 s)
    shell.wait_prompt()
    assert nonblank(shell.run("6*7")) == ["42"]


# --------------------------------------------------------------------- trailing &


def test_expression_with_trailing_ampersand_starts_a_job(spawn):
    shell = spawn()
    out = shell.run("6*7 &")
    assert nonblank(out)[0] == "[1] 6*7"
    shell.run("wait 1")
    assert nonblank(shell.run("result 1")) == ["42"]


def test_assignment_in_the_background_lands_when_it_ends(spawn):
    shell = spawn()
    shell.run("import time")
    shell.run_lines(["def slow(x):", "time.sleep(0.5)", "return x * 2", ""])
    assert nonblank(shell.run("y = slow(21) &"))[0] == "[1] y = slow(21)"
    shell.expect_text(announced(1, "Done", r"y = slow\(21\)"))
    shell.wait_prompt()
    assert nonblank(shell.run("y")) == ["42"]


def test_for_block_ending_in_ampersand_runs_in_the_background(spawn):
    shell = spawn()
    shell.run("acc = []")
    transcript = shell.run_lines(["for i in range(3):", "acc.append(i) &", ""])
    assert re.search(r"^\[1\] for i in range\(3\):", transcript, re.MULTILINE), transcript
    shell.run("wait 1")
    assert nonblank(shell.run("acc")) == ["[0, 1, 2]"]


def test_lone_ampersand_prints_one_clear_line(spawn):
    shell = spawn()
    out = nonblank(shell.run("&"))
    assert len(out) == 1, out
    assert "&" in out[0] and "Traceback" not in out[0]
    assert nonblank(shell.run("6*7")) == ["42"]


@pytest.mark.parametrize(
    "setup, line, expected",
    [
        ("a, b = 6, 3", "a & b", "2"),
        ("x = 7", "x &= 1; x", "1"),
        ("", "'a &'", "'a &'"),
        ("", "\"&\" # &", "'&'"),
        ("a, b = 6, 3", "f'{a & b}'", "'2'"),
        ("a, b = 6, 3", "[a &", "[2]"),
    ],
    ids=["binary-and", "augmented", "string", "comment", "f-string", "bracket"],
)
def test_ampersand_that_is_ordinary_python(spawn, setup, line, expected):
    shell = spawn()
    if setup:
        shell.run(setup)
    if line == "[a &":  # the & inside an open bracket continues the line
        assert nonblank(shell.run_lines([line, "b]"]))[-1] == expected
    else:
        assert nonblank(shell.run(line)) == [expected]
    assert "No jobs." in shell.run("jobs")


# --------------------------------------------------------------------------- builtins


def test_jobs_lists_number_state_elapsed_and_input(spawn):
    shell = spawn()
    shell.run("import time")
    shell.run("'done value' &")
    shell.run("1/0 &")
    shell.run("wait 1 2")
    # A compound statement: an empty line ends it, as at python3 -i.
    shell.run_lines(["while True: time.sleep(0.01) &", ""])
    shell.run_lines(["while True: time.sleep(0.01) &", ""])
    shell.run("kill 4")
    shell.run("wait 4")
    out = shell.run("jobs")
    assert re.search(r"^\[1\]\s+Done\s+\d+\.\ds\b.*'done value'$", out, re.MULTILINE), out
    assert re.search(r"^\[2\]\s+Dead\s+\d+\.\ds\b.*1/0$", out, re.MULTILINE), out
    assert re.search(r"^\[3\]\s+Running\s+\d+\.\ds\b.*while True: time\.sleep\(0\.01\)$", out, re.MULTILINE), out
    assert re.search(r"^\[4\]\s+Killed\s+\d+\.\ds\b.*while True", out, re.MULTILINE), out
    assert [line[:3] for line in nonblank(out)] == ["[1]", "[2]", "[3]", "[4]"]


def test_result_prints_the_value_and_sets_underscore(spawn):
    shell = spawn()
    shell.run("[1, 2, 3] &")
    shell.run("wait 1")
    assert nonblank(shell.run("result 1")) == ["[1, 2, 3]"]
    assert nonblank(shell.run("_")) == ["[1, 2, 3]"]


def test_result_of_a_running_job_says_so(spawn):
    shell = spawn()
    shell.run("import time")
    shell.run("time.sleep(5) &")
    out = nonblank(shell.run("result 1"))
    assert len(out) == 1 and out[0].startswith("result: job 1 is still running"), out


def test_traceback_of_a_dead_job(spawn):
    shell = spawn()
    shell.run_lines(["def boom():", "raise ValueError('bad value')", ""])
    shell.run("boom() &")
    shell.run("wait 1")
    out = shell.run("traceback 1")
    assert "Traceback (most recent call last):" in out
    assert "ValueError: bad value" in out
    assert "boom" in out
    assert "bgshell/" not in out, out


def test_remove_forgets_a_finished_job(spawn):
    shell = spawn()
    shell.run("1 &")
    shell.run("2 &")
    shell.run("wait")
    assert nonblank(shell.run("remove 1")) == []
    assert nonblank(shell.run("result 1")) == ["result: no such job 1"]
    out = shell.run("jobs")
    assert not re.search(r"^\[1\]", out, re.MULTILINE) and re.search(r"^\[2\]", out, re.MULTILINE)


def test_remove_refuses_a_running_job(spawn):
    shell = spawn()
    shell.run("import time")
    shell.run("time.sleep(5) &")
    out = nonblank(shell.run("remove 1"))
    assert len(out) == 1 and out[0].startswith("remove: "), out
    assert re.search(r"^\[1\]\s+Running", shell.run("jobs"), re.MULTILINE)


def test_flush_announces_unannounced_jobs_first_then_removes_them(spawn, tmp_path):
    marker = tmp_path / "job-ended"
    shell = spawn("--notify=prompt")
    shell.run("import time, pathlib")
    shell.run("'kept' &")
    shell.run("wait 1")  # announced by wait: the user has been told about job 1
    shell.run("time.sleep(0.3) or pathlib.Path('job-ended').touch() or 'late' &")
    # Job 2 ends while the user sits at the prompt; --notify=prompt keeps quiet.
    wait_for_file(marker)
    out = shell.run("flush")
    assert re.search(announced(2, "Done", r"time\.sleep"), out), out
    assert re.search(r"run (it|flush) again", out), out
    assert not re.search(r"\[1\]  Done", out)  # already announced: not again
    # Both jobs are still there: nothing the user was not told about was dropped.
    listing = shell.run("jobs")
    assert re.search(r"^\[1\]", listing, re.MULTILINE) and re.search(r"^\[2\]", listing, re.MULTILINE)
    shell.run("flush")
    assert nonblank(shell.run("jobs")) == ["No jobs."]
    assert nonblank(shell.run("result 2")) == ["result: no such job 2"]


def test_kill_stops_a_running_job(spawn):
    shell = spawn()
    shell.run("import time")
    shell.run_lines(["while True: time.sleep(0.01) &", ""])
    shell.sendline("kill 1")
    shell.expect_text(announced(1, "Killed", r"while True"))
    shell.wait_prompt()
    assert re.search(r"^\[1\]\s+Killed\b", shell.run("jobs"), re.MULTILINE)


def test_wait_for_all_and_for_one_job(spawn):
    shell = spawn()
    shell.run("import time")
    shell.run("time.sleep(0.5) or 'first' &")
    shell.run("time.sleep(1.0) or 'second' &")
    out = shell.run("wait 1")
    assert re.search(announced(1, "Done"), out), out
    out = shell.run("wait")
    assert re.search(announced(2, "Done"), out), out
    assert "Running" not in shell.run("jobs")


@pytest.mark.parametrize("command", ["wait", "wait 1"])
def test_ctrl_c_stops_the_waiting_not_the_job(spawn, command):
    shell = spawn()
    shell.run("import time")
    shell.run("time.sleep(4) or 'survived' &")
    shell.sendline(command)
    shell.expect_text(r"\n")  # the echo: wait is now blocking
    shell.read_available(0.2)  # (make sure the builtin itself is waiting)
    shell.send(CTRL_C)
    out = shell.wait_prompt(timeout=5)
    assert "still running" in out or "interrupt" in out.lower(), out
    assert re.search(r"^\[1\]\s+Running\b", shell.run("jobs"), re.MULTILINE)
    shell.expect_text(announced(1, "Done"), timeout=8)
    shell.wait_prompt()
    assert nonblank(shell.run("result 1")) == ["'survived'"]


def test_output_shows_what_a_job_printed(spawn):
    shell = spawn()
    shell.run("print('hello from the job') &")
    shell.run("wait 1")
    # Announced (at the prompt or by wait) with a note that there is output.
    assert re.search(announced(1, "Done", r"print.*\(output: 1 line"), shell.text), shell.text
    assert nonblank(shell.run("output 1")) == ["hello from the job"]


def test_help_lists_the_builtins(spawn):
    shell = spawn()
    out = shell.run("help")
    for name in ("jobs", "result", "traceback", "remove", "flush", "kill", "wait", "output", "help"):
        assert re.search(rf"^\s+{name}\b", out, re.MULTILINE), name


@pytest.mark.parametrize("spec, expected", [("2", "'two'"), ("%2", "'two'"), ("%+", "'three'")])
def test_job_specs(spawn, spec, expected):
    shell = spawn()
    for value in ("one", "two", "three"):
        shell.run(f"{value!r} &")
    shell.run("wait")
    assert nonblank(shell.run(f"result {spec}")) == [expected]


def test_percent_prefix_runs_the_builtin(spawn):
    shell = spawn()
    shell.run("'a' &")
    shell.run("'b' &")
    shell.run("wait")
    out = shell.run("%jobs")
    assert re.search(r"^\[1\]\s+Done", out, re.MULTILINE) and re.search(r"^\[2\]\s+Done", out, re.MULTILINE)
    assert nonblank(shell.run("%result 2")) == ["'b'"]


@pytest.mark.parametrize(
    "name, percent_line, percent_output",
    [
        ("result", "%result 1", "result: no such job 1"),
        ("jobs", "%jobs", "No jobs."),
        ("kill", "%kill 1", "kill: no such job 1"),
        ("wait", "%wait", None),
    ],
)
def test_a_builtin_name_bound_by_the_user_is_the_variable(spawn, name, percent_line, percent_output):
    shell = spawn()
    shell.run(f"{name} = 5")
    assert nonblank(shell.run(name)) == ["5"]
    assert nonblank(shell.run(f"{name} + 1")) == ["6"]
    # The % form still reaches the builtin.
    out = nonblank(shell.run(percent_line))
    assert out == ([] if percent_output is None else [percent_output])


@pytest.mark.parametrize(
    "line, message",
    [
        ("result 9", "result: no such job 9"),
        ("result", "result: usage: result N"),
        ("kill 9", "kill: no such job 9"),
        ("output", "output: usage: output [-f] N"),
    ],
)
def test_wrong_use_of_a_builtin_prints_one_line(spawn, line, message):
    shell = spawn()
    assert nonblank(shell.run(line)) == [message]
    assert nonblank(shell.run("6*7")) == ["42"]


# ---------------------------------------------------------------------- notifications


def test_a_job_ending_at_the_prompt_is_announced_at_once_keeping_the_typed_text(spawn):
    shell = spawn()
    shell.run("import time")
    shell.run("base = 41")
    shell.run("time.sleep(1.0) &")
    shell.send("base")  # typed, not entered, when the job ends
    shell.expect_text(announced(1, "Done", r"time\.sleep\(1\.0\)"), timeout=8)
    # The prompt is drawn again below the announcement, with the typed text.
    shell.expect_text(r"^>>> base", timeout=5)
    assert nonblank(shell.run(" + 1")) == ["42"]
    shell.run("6*7")
    shell.read_available(0.2)
    assert len(re.findall(announced(1, "Done"), shell.text)) == 1, shell.text


def test_announcement_keeps_a_block_being_typed(spawn):
    shell = spawn()
    shell.run("import time")
    shell.run("time.sleep(1.0) &")
    shell.sendline("def later():")
    shell.expect_text(r"^\.\.\.")
    shell.send("return 'kept'")
    shell.expect_text(announced(1, "Done"), timeout=8)
    # The whole block is drawn again below the announcement.
    shell.expect_text(r"^>>> def later\(\):\n\.\.\.\s+return 'kept'", timeout=5)
    shell.run_lines(["", ""])
    assert nonblank(shell.run("later()")) == ["'kept'"]


def test_a_job_that_ends_at_once_is_announced_without_further_input(spawn):
    shell = spawn()
    for num in range(1, 16):
        shell.sendline(f"{num} * 2 &")
        shell.expect_text(rf"^\[{num}\] {num} \* 2$")
        shell.expect_text(announced(num, "Done", rf"{num} \* 2"), timeout=2)


def test_notify_prompt_defers_the_announcement_to_the_next_prompt(spawn, tmp_path):
    shell = spawn("--notify=prompt")
    shell.run("import time, pathlib")
    shell.run("time.sleep(0.2) or pathlib.Path('job-ended').touch() or 'late' &")
    wait_for_file(tmp_path / "job-ended")
    # A wait on purpose: nothing may be printed while the prompt is up.
    quiet = shell.read_available(quiet=0.6)
    assert "Done" not in quiet, quiet
    out = shell.run("")
    assert re.search(announced(1, "Done", r"time\.sleep\(0\.2\)"), out), out


def test_dead_job_announcement_names_the_exception(spawn):
    shell = spawn()
    shell.run("import time")
    shell.run("time.sleep(0.3) or 1/0 &")
    shell.expect_text(r"\[1\]  Dead  time\.sleep\(0\.3\) or 1/0  \d+\.\ds  ZeroDivisionError: division by zero$")
    shell.wait_prompt()
    shell.run("6*7")
    assert len(re.findall(r"\[1\]  Dead", shell.text)) == 1
    assert "Traceback" not in shell.text


def test_a_job_ending_during_wait_for_another_is_still_announced(spawn):
    shell = spawn()
    shell.run("import time")
    shell.run("time.sleep(0.3) or 'short' &")
    shell.run("time.sleep(1.0) or 'long' &")
    out = shell.run("wait 2")
    assert re.search(announced(2, "Done", r"time\.sleep\(1\.0\)"), out), out
    shell.run("6*7")
    shell.read_available(0.2)
    assert len(re.findall(announced(1, "Done", r"time\.sleep\(0\.3\)"), shell.text)) == 1, shell.text


def test_bottom_toolbar_shows_running_jobs_until_they_end(spawn):
    shell = spawn()
    shell.run("import time")
    shell.wait_editor()
    shell.sendline("time.sleep(1.5) or 'slept' &")
    shell.expect_text(r"\[1\] time\.sleep\(1\.5\) or\S* \d+\.\ds", timeout=5)
    shell.expect_text(announced(1, "Done"), timeout=8)
    shell.wait_prompt()
    shell.read_available(0.3)
    assert not any("[1] time.sleep" in row for row in shell.screen()[-3:]), shell.screen()


@pytest.mark.parametrize("cpr", ["answer", "ignore"])
def test_the_terminal_is_never_asked_where_the_cursor_is(spawn, cpr):
    """A terminal that never answers cursor position requests gets no delay and no
    warning; one that does is not asked either (the layout needs no answer)."""
    shell = spawn(cpr=cpr)
    shell.run("import time")
    shell.run("time.sleep(1.0) &")
    shell.expect_text(announced(1, "Done"), timeout=8)
    shell.wait_prompt()
    assert nonblank(shell.run("6*7")) == ["42"]
    assert "\x1b[6n" not in shell.raw
    assert "WARNING" not in shell.text and "CPR" not in shell.text, shell.text


# -------------------------------------------------------------------------- exiting


@pytest.mark.parametrize(
    "job",
    [["while True: pass &", ""], ["time.sleep(60) &"], ["time.sleep(60) &:process"]],
    ids=["busy-loop", "sleep", "process"],
)
@pytest.mark.parametrize("exit_key", [CTRL_D, "exit()" + ENTER], ids=["ctrl-d", "exit()"])
def test_exit_guard_lists_running_jobs_then_exits_on_the_second_try(spawn, exit_key, job):
    shell = spawn()
    shell.run("import time")
    shell.run_lines(job)
    shell.send(exit_key)
    out = shell.wait_prompt(timeout=5)
    assert re.search(r"running job", out), out
    assert re.search(r"\[1\]\s+Running\b", out), out
    assert shell.alive()
    started = time.monotonic()
    shell.send(exit_key)
    status = shell.expect_exit(timeout=6)
    assert time.monotonic() - started < 3.5
    assert status == 0


@pytest.mark.parametrize("line, status", [("exit()", 0), ("exit(3)", 3), ("quit()", 0)])
def test_exit_call_without_running_jobs_ends_the_shell_with_its_status(spawn, line, status):
    shell = spawn()
    shell.sendline(line)
    assert shell.expect_exit(timeout=5) == status


def test_exit_guard_asks_again_after_other_input(spawn):
    shell = spawn()
    shell.run("import time")
    shell.run("time.sleep(30) &")
    shell.send(CTRL_D)
    assert "running job" in shell.wait_prompt(timeout=5)
    assert nonblank(shell.run("6*7")) == ["42"]
    shell.send(CTRL_D)  # other input came between: warn again, do not leave
    assert "running job" in shell.wait_prompt(timeout=5)
    assert shell.alive()
    shell.send(CTRL_D)
    assert shell.expect_exit(timeout=6) == 0


def test_exit_guard_lets_go_once_the_jobs_have_ended(spawn):
    shell = spawn()
    shell.run("import time")
    shell.run("time.sleep(0.5) &")
    shell.expect_text(announced(1, "Done"), timeout=5)
    shell.wait_prompt()
    shell.send(CTRL_D)
    assert shell.expect_exit(timeout=5) == 0
    assert "running job" not in shell.text


# ----------------------------------------------------------------------------- colour


SGR_COLOUR = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-9]|4[0-9]|9[0-7]|10[0-7])(?:;[0-9;]*)?m")


@pytest.mark.parametrize(
    "args, env, coloured",
    [((), {}, True), (("--no-color",), {}, False), ((), {"NO_COLOR": "1"}, False)],
    ids=["default", "--no-color", "NO_COLOR"],
)
def test_colour_of_highlighted_input(spawn, args, env, coloured):
    shell = spawn(*args, env=env)
    shell.send("def f(x): return 'text' + 1")
    shell.expect_text(r"\+ 1")
    if coloured:
        # Typed at the first prompt, before the highlighter has loaded: coloured
        # once it has, with no further key.
        shell.expect_raw(SGR_COLOUR)
    else:
        shell.read_available(0.2)
    shell.send(CTRL_C)
    shell.wait_prompt()
    assert bool(SGR_COLOUR.search(shell.raw)) is coloured


def test_input_too_long_to_colour_quickly_is_shown_plain(spawn):
    from bgshell.frontends.uiparts import HIGHLIGHT_LIMIT

    shell = spawn()
    shell.send("def f(x): return 'text'")
    shell.expect_raw(SGR_COLOUR)  # the highlighter is loaded and colours short input
    shell.send(CTRL_C)
    shell.wait_prompt()
    start = len(shell.raw)
    items = HIGHLIGHT_LIMIT // 5 + 1
    long_input = "n_long = len([" + "'a', " * items + "])"
    assert len(long_input) > HIGHLIGHT_LIMIT
    shell.paste(long_input)
    shell.send(ENTER)
    shell.wait_prompt(timeout=60)
    assert not SGR_COLOUR.search(shell.raw, start)  # strings and keywords left plain
    assert nonblank(shell.run("n_long")) == [str(items)]
    start = len(shell.raw)
    shell.send("def g(x): return 'text'")
    shell.expect_raw(SGR_COLOUR, start)  # the next, short input is coloured again


# ---------------------------------------------------------------------- process jobs


def test_process_job_runs_in_another_process(spawn):
    shell = spawn()
    shell.run("import os")
    assert nonblank(shell.run("os.getpid() &:process"))[0] == "[1] os.getpid()"
    out = shell.run("wait 1")
    assert re.search(announced(1, "Done"), out), out
    child = nonblank(shell.run("result 1"))
    parent = nonblank(shell.run("os.getpid()"))
    assert child[0].isdigit() and parent[0].isdigit()
    assert child != parent
