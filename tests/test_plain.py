"""End to end: the installed ``bgshell`` without a terminal, and its command line.

Each test runs the real command with stdin a pipe (the non-terminal mode), or with
``-c CODE`` / ``FILE``; one runs it in a real pty with only stdin a pipe.  Tests wait
on the process (or on lines it writes), never on sleeps, and assert no timings; the
timeouts are only there so that a hang fails instead of blocking the run.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
from typing import Iterator

import pytest

import bgshell

from bgshell import __version__
from processes import process_gone, wait_gone

#: bgshell's own folder: no traceback shown to the user has a frame from it.
BGSHELL_DIR = os.path.dirname(os.path.abspath(bgshell.__file__)) + os.sep

BGSHELL = shutil.which("bgshell", path=os.path.dirname(sys.executable))
#: Long enough never to matter on a loaded machine; it only turns a hang into a failure.
HANG = 60
#: The same for a killed process job to be gone (a kill takes ~1 s).
KILL_HANG = 15

pytestmark = pytest.mark.skipif(BGSHELL is None, reason="bgshell is not installed in this venv")


@pytest.fixture
def env(tmp_path):
    """The environment of the user: no startup file, history and state under tmp."""
    environment = dict(os.environ)
    for name in ("PYTHONSTARTUP", "NO_COLOR", "PYTHONPATH", "PYTHONUNBUFFERED"):
        environment.pop(name, None)
    environment["HOME"] = str(tmp_path)
    environment["XDG_STATE_HOME"] = str(tmp_path / "state")
    environment["TERM"] = "xterm-256color"
    return environment


def bgshell(env, *args: str, stdin: bytes | str = b"", cwd=None) -> subprocess.CompletedProcess:
    data = stdin.encode() if isinstance(stdin, str) else stdin
    return subprocess.run(
        [BGSHELL, *args], input=data, capture_output=True, env=env, timeout=HANG, cwd=cwd
    )


def text(proc: subprocess.CompletedProcess) -> tuple[str, str]:
    return proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")


def assert_plain(*outputs: str) -> None:
    """No escape codes, no prompts."""
    for out in outputs:
        assert "\x1b" not in out, repr(out)
        assert ">>> " not in out and not re.search(r"^\.\.\. ", out, re.M), repr(out)


# -- the language on a pipe ----------------------------------------------------------
def test_pipe_runs_python_jobs_and_builtins_without_prompts_or_escapes(env):
    proc = bgshell(env, stdin=(
        "x = 6\n"
        "x * 7\n"
        "None\n"
        "import time\n"
        "time.sleep(0.05) or x + 1 &\n"
        "wait 1\n"
        "result 1\n"
        "_ * 2\n"
        "%jobs\n"
    ))
    out, err = text(proc)
    assert_plain(out, err)
    lines = out.splitlines()
    assert lines[0] == "42"
    assert lines[1] == "[1] time.sleep(0.05) or x + 1"
    assert re.fullmatch(r"\[1\]  Done  time\.sleep\(0\.05\) or x \+ 1  \d+\.\ds", lines[2])
    assert lines[3] == "7"
    assert lines[4] == "14"
    assert re.fullmatch(r"\[1\]\s+Done\s+\S+\s+thread\s+time\.sleep\(0\.05\) or x \+ 1", lines[5])
    assert len(lines) == 6, out
    assert err == ""
    assert proc.returncode == 0


def test_an_error_does_not_stop_the_following_lines(env):
    proc = bgshell(env, stdin="1/0\nresult 9\n&\nprint('still here')\nundefined_name\nprint('and here')\n")
    out, err = text(proc)
    assert_plain(out, err)
    assert out == "still here\nand here\n"
    assert "ZeroDivisionError: division by zero" in err
    assert "result: no such job 9" in err
    assert "NameError" in err
    assert proc.returncode == 1


def test_traceback_on_a_pipe_has_no_bgshell_frames(env):
    proc = bgshell(env, stdin="def f():\n    raise ValueError('deep')\n\nf()\n")
    out, err = text(proc)
    assert err.startswith("Traceback (most recent call last):\n")
    assert "ValueError: deep" in err
    assert BGSHELL_DIR not in err
    # Each input is kept under a name of its own, so its lines show (as in python 3.13's REPL).
    assert 'File "<python-input-0>", line 2, in f\n    raise ValueError(\'deep\')' in err


def test_syntax_error_shows_only_the_users_input(env):
    proc = bgshell(env, stdin="1 +)\nprint('next')\n")
    out, err = text(proc)
    assert out == "next\n"
    assert "SyntaxError" in err
    assert "ast.py" not in err
    assert 'File "<python-input-0>", line 1' in err


def test_end_of_input_waits_for_running_jobs_and_announces_them(env):
    proc = bgshell(env, stdin="import time\ntime.sleep(0.5) or 5 &\n1/0 &\nprint('last line')\n")
    out, err = text(proc)
    assert_plain(out, err)
    assert out.count("[1]  Done  time.sleep(0.5) or 5") == 1, out
    assert out.count("[2]  Dead  1/0") == 1, out
    assert "ZeroDivisionError: division by zero" in out
    # the job that ended last is announced after everything the input printed
    assert out.index("last line") < out.index("[1]  Done")


def test_a_slowly_fed_pipe_gets_each_answer_before_the_next_line(env):
    """Write a line, read its answer, only then write the next: answers stream."""
    proc = subprocess.Popen(
        [BGSHELL], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=env, bufsize=0,
    )
    lines: queue.Queue[bytes] = queue.Queue()

    def reader() -> None:
        for line in proc.stdout:
            lines.put(line)
        lines.put(b"")

    threading.Thread(target=reader, daemon=True).start()

    def ask(line: str) -> str:
        proc.stdin.write(line.encode() + b"\n")
        proc.stdin.flush()
        try:
            return lines.get(timeout=HANG).decode().rstrip("\n")
        except queue.Empty:
            pytest.fail(f"no answer to {line!r} while the pipe stays open: output is not streamed")

    try:
        assert ask("6*7") == "42"
        assert ask("_ + 1") == "43"
        # The job waits for an event that only a later line sets: the answers below
        # can only arrive if each line runs as soon as it is read.
        assert ask("import threading; gate = threading.Event(); print('ready')") == "ready"
        assert ask("gate.wait() and 'opened' &") == "[1] gate.wait() and 'opened'"
        assert re.fullmatch(r"\[1\]\s+Running\s+.*gate\.wait\(\) and 'opened'", ask("jobs"))
        assert ask("gate.set(); print('set')") == "set"
        assert re.fullmatch(r"\[1\]  Done  gate\.wait\(\) and 'opened'  \d+\.\ds", ask("wait"))
        assert ask("result 1") == "'opened'"
    finally:
        proc.stdin.close()
        proc.wait(timeout=HANG)
    assert proc.returncode == 0
    assert proc.stderr.read() == b""


def test_pty_stdout_with_piped_stdin_is_plain(env, tmp_path):
    """stdout is a real terminal, stdin a pipe: still the plain front end."""
    pexpect = pytest.importorskip("pexpect")
    script = tmp_path / "input.txt"
    script.write_text(
        "x = 20\n"
        "x + 22\n"
        "import time\n"
        "time.sleep(0.05) or 'bg' &\n"
        "1/0\n"
        "wait\n"
        "result 1\n"
        "help jobs\n"
        "print('end')\n"
    )
    child = pexpect.spawn(
        "bash", ["-c", f"cat {shlex.quote(str(script))} | {shlex.quote(BGSHELL)}"],
        env=env, dimensions=(24, 100), timeout=HANG, encoding="utf-8", codec_errors="replace",
    )
    child.expect(pexpect.EOF)
    child.close()
    out = child.before.replace("\r\n", "\n")
    assert "\x1b" not in out, repr(out)
    assert ">>>" not in out and "\n... " not in out
    assert "42\n" in out
    assert "[1] time.sleep(0.05) or 'bg'\n" in out
    assert "ZeroDivisionError: division by zero" in out
    assert re.search(r"^\[1\]  Done  time\.sleep\(0\.05\) or 'bg'  \d+\.\ds$", out, re.M)
    assert "'bg'\n" in out
    assert "jobs [-alprs] [SPEC ...]" in out
    assert out.rstrip().endswith("end")
    assert child.exitstatus == 1  # 1/0 failed


def test_a_function_with_empty_lines_in_its_body_can_be_piped(env):
    proc = bgshell(env, stdin=(
        "def f(a):\n"
        "    b = a + 1\n"
        "\n"
        "\n"
        "    return b * 2\n"
        "\n"
        "class C:\n"
        "    x = 1\n"
        "\n"
        "    def m(self):\n"
        "        return self.x + 1\n"
        "print(f(1), C().m())\n"
        "for i in range(2):\n"
        "    print('loop', i)\n"
        "\n"
        "    print('again', i)\n"
        "if False:\n"
        "    pass\n"
        "else:\n"
        "    print('else')\n"
    ))
    out, err = text(proc)
    assert err == ""
    assert out == "4 2\nloop 0\nagain 0\nloop 1\nagain 1\nelse\n"
    assert proc.returncode == 0


def test_a_backgrounded_block_lands_its_names(env):
    proc = bgshell(env, stdin=(
        "total = 0\n"
        "for i in range(5):\n"
        "    total += i &\n"
        "wait\n"
        "total\n"
    ))
    out, err = text(proc)
    assert err == ""
    lines = out.splitlines()
    assert lines[0].startswith("[1] for i in range(5):")
    assert lines[1].startswith("[1]  Done  for i in range(5):")
    assert lines[2] == "10"


def test_invalid_utf8_on_the_pipe_does_not_stop_the_session(env):
    proc = bgshell(env, stdin=b"x = 1\n\xff\xfe\nprint('a\xffb', x)\nprint('ok')\n")
    out, err = text(proc)
    assert out == "a\ufffdb 1\nok\n"
    assert proc.returncode == 1  # the garbage line was an error


# -- exit status ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "stdin, status",
    [
        ("1\n", 0),
        ("", 0),
        ("1/0\nprint(1)\n", 1),
        ("result 9\n", 1),
        ("&\n", 1),
        ("exit(3)\nprint('never')\n", 3),
        ("import sys; sys.exit(4)\n", 4),
        ("exit()\n", 0),
        ("raise SystemExit('bye')\n", 1),
    ],
)
def test_exit_status(env, stdin, status):
    proc = bgshell(env, stdin=stdin)
    out, _ = text(proc)
    assert "never" not in out
    assert proc.returncode == status


def test_exit_with_a_message_prints_it(env):
    proc = bgshell(env, stdin="raise SystemExit('bye')\n")
    assert text(proc)[1].strip() == "bye"


def test_exit_in_pipe_mode_waits_for_running_jobs_and_announces_them(env):
    proc = bgshell(env, stdin="import time\ntime.sleep(0.5) or 5 &\nexit()\nprint('never')\n")
    out, err = text(proc)
    assert "never" not in out
    assert out.count("[1]  Done  time.sleep(0.5) or 5") == 1, out
    assert proc.returncode == 0


# -- the command line -----------------------------------------------------------------------
def test_dash_c_multi_line_with_jobs_wait_and_result(env):
    code = "import time\nx = 5\ntime.sleep(0.05) or x + 1 &\ny = x * 2 &\nwait 1 2\nresult 1\nprint(y)"
    proc = bgshell(env, "-c", code)
    out, err = text(proc)
    assert err == ""
    lines = out.splitlines()
    assert lines[:2] == ["[1] time.sleep(0.05) or x + 1", "[2] y = x * 2"]
    assert sorted(line.split("  ")[0] for line in lines[2:4]) == ["[1]", "[2]"]
    assert all("Done" in line for line in lines[2:4])
    assert lines[4:] == ["6", "10"]
    assert proc.returncode == 0


def test_dash_c_argv_and_status(env):
    proc = bgshell(env, "-c", "import sys; print(sys.argv)\n1/0", "a", "b")
    out, err = text(proc)
    assert out == "['-c', 'a', 'b']\n"
    assert "ZeroDivisionError" in err
    assert 'File "<string>"' in err
    assert proc.returncode == 1


def test_dash_c_exit_code(env):
    assert bgshell(env, "-c", "exit(3)").returncode == 3


def test_dash_c_passes_option_like_arguments_on(env):
    proc = bgshell(env, "-c", "import sys; print(sys.argv)", "-x", "y")
    assert text(proc)[0] == "['-c', '-x', 'y']\n"
    assert proc.returncode == 0


def test_file_with_args(env, tmp_path):
    script = tmp_path / "script.py"
    script.write_text(
        "import sys\n"
        "print(sys.argv)\n"
        "def f(n):\n"
        "    total = 0\n"
        "\n"
        "    for i in range(n):\n"
        "        total += i\n"
        "\n"
        "    return total\n"
        "f(5) &\n"
        "wait\n"
        "result 1\n"
    )
    proc = bgshell(env, str(script), "one", "--two", "-3")
    out, err = text(proc)
    assert err == ""
    lines = out.splitlines()
    assert lines[0] == repr([str(script), "one", "--two", "-3"])
    assert lines[1] == "[1] f(5)"
    assert lines[2].startswith("[1]  Done  f(5)")
    assert lines[3] == "10"
    assert proc.returncode == 0


def test_file_error_status_and_filename_in_traceback(env, tmp_path):
    script = tmp_path / "bad.py"
    script.write_text("print('before')\n1/0\nprint('after')\n")
    proc = bgshell(env, str(script))
    out, err = text(proc)
    assert out == "before\nafter\n"
    assert f'File "{script}", line 2, in <module>' in err  # the file's own line number
    assert "    1/0\n" in err
    assert proc.returncode == 1


def test_dash_i_stays_interactive_after_file_reading_stdin(env, tmp_path):
    script = tmp_path / "setup.py"
    script.write_text("import sys\nx = 21\nprint('file ran', sys.argv[1:])\n")
    proc = bgshell(env, "-i", str(script), "arg", stdin="print('from stdin', x * 2)\nx + 1 &\nwait 1\n")
    out, err = text(proc)
    assert err == ""
    lines = out.splitlines()
    assert lines[:3] == ["file ran ['arg']", "from stdin 42", "[1] x + 1"]
    assert lines[3].startswith("[1]  Done  x + 1")
    assert proc.returncode == 0


def test_without_dash_i_stdin_is_not_read_after_file(env, tmp_path):
    script = tmp_path / "setup.py"
    script.write_text("print('file ran')\n")
    proc = bgshell(env, str(script), stdin="print('from stdin')\n")
    assert text(proc)[0] == "file ran\n"


def test_dash_i_after_dash_c(env):
    proc = bgshell(env, "-i", "-c", "y = 3", stdin="print(y)\n")
    assert text(proc)[0] == "3\n"


def test_exit_in_file_stops_before_dash_i(env, tmp_path):
    script = tmp_path / "leave.py"
    script.write_text("exit(5)\n")
    proc = bgshell(env, "-i", str(script), stdin="print('no')\n")
    assert text(proc)[0] == ""
    assert proc.returncode == 5


def test_version(env):
    proc = bgshell(env, "--version")
    assert text(proc)[0].strip() == f"bgshell {__version__}"
    assert proc.returncode == 0


def test_help_mentions_every_option(env):
    proc = bgshell(env, "--help")
    out, _ = text(proc)
    assert proc.returncode == 0
    assert out.startswith("usage: bgshell")
    for option in ("-c CODE", "-i", "--version", "--help", "--no-color", "--notify", "--history", "--kind", "FILE", "ARGS"):
        assert option in out, option
    for choice in ("immediate", "prompt", "thread", "process"):
        assert choice in out


def test_unknown_option_exits_2_with_a_usage_line(env):
    proc = bgshell(env, "--bogus")
    out, err = text(proc)
    assert proc.returncode == 2
    assert out == ""
    assert err.startswith("usage: bgshell")
    assert "--bogus" in err


def test_missing_file_is_one_clear_line_and_exit_2(env, tmp_path):
    missing = tmp_path / "no-such-file.py"
    proc = bgshell(env, str(missing))
    out, err = text(proc)
    assert proc.returncode == 2
    assert out == ""
    assert len(err.splitlines()) == 1, err
    assert str(missing) in err
    assert "No such file" in err
    assert "Traceback" not in err


def test_kind_option_makes_process_the_default(env):
    proc = bgshell(env, "--kind", "process", stdin="import os\nos.getpid() &\nwait 1\nresult 1 \nos.getpid()\n")
    out, err = text(proc)
    assert err == ""
    lines = out.splitlines()
    assert lines[0] == "[1] os.getpid()"
    assert lines[1].startswith("[1]  Done")
    assert lines[2] != lines[3]  # the job ran in another process


def test_no_color_and_notify_options_are_accepted_on_a_pipe(env):
    proc = bgshell(env, "--no-color", "--notify", "prompt", "--history", os.devnull, stdin="6*7\n")
    assert text(proc)[0] == "42\n"
    assert proc.returncode == 0


# -- leaving with process jobs still running: no orphans -------------------------------------
HOLD = (
    "import os, socket, time\n"
    "def hold(port):\n"
    "    with socket.create_connection(('127.0.0.1', port)) as sock:\n"
    "        sock.sendall(str(os.getpid()).encode())\n"
    "    time.sleep(100)\n"
    "\n"
)


def _start_with_process_job(env, end_input: bool = True) -> tuple[subprocess.Popen, int]:
    """bgshell on a pipe running a process job, and the job's pid; with *end_input*,
    stdin is closed, so bgshell is at the end of its input, waiting for the job."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(HANG)
    port = listener.getsockname()[1]
    proc = subprocess.Popen(
        [BGSHELL], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )
    proc.stdin.write((HOLD + f"hold({port}) &:process\n").encode())
    if end_input:
        proc.stdin.close()  # end of input: bgshell now waits for the job
    else:
        proc.stdin.flush()
    try:
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(HANG)
            pid = int(conn.recv(100).decode())
    finally:
        listener.close()
    return proc, pid


@contextlib.contextmanager
def _process_job_session(env, end_input: bool = True) -> Iterator[tuple[subprocess.Popen, int]]:
    """``_start_with_process_job``, and afterwards neither bgshell nor the job left over."""
    proc, pid = _start_with_process_job(env, end_input)
    try:
        yield proc, pid
    finally:
        if not process_gone(pid):
            os.kill(pid, signal.SIGKILL)
        proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            stream.close()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_signal_while_waiting_at_end_of_input_leaves_no_process_job_behind(env, signum):
    with _process_job_session(env) as (proc, pid):
        proc.send_signal(signum)
        proc.wait(timeout=HANG)
        assert wait_gone(pid, KILL_HANG)


def test_ctrl_c_while_waiting_at_end_of_input_leaves_no_process_job_behind(env):
    with _process_job_session(env) as (proc, pid):
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=HANG)
        assert "interrupted; stopping the running jobs" in proc.stderr.read().decode()
        assert wait_gone(pid, KILL_HANG)


# -- the reader of our output goes away (`bgshell FILE | head`) ------------------------------
def test_a_reader_that_leaves_ends_the_run_quietly_as_a_filter_would(env, tmp_path):
    marker = tmp_path / "ran-after-the-reader-left"
    proc = subprocess.Popen(
        [BGSHELL], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )
    try:
        proc.stdin.write(b"print('ready')\n")
        proc.stdin.flush()
        assert proc.stdout.readline() == b"ready\n"
        proc.stdout.close()  # the reader leaves, as `head -1` does
        proc.stdin.write(f"for i in range(5): print(i)\n\nopen({str(marker)!r}, 'w').close()\n".encode())
        proc.stdin.close()
        assert proc.wait(timeout=HANG) == 128 + signal.SIGPIPE
        assert proc.stderr.read() == b""  # no traceback per remaining line
        assert not marker.exists()  # the inputs after the broken write did not run
    finally:
        proc.kill()
        proc.wait()
        proc.stderr.close()


def test_a_reader_that_leaves_stops_the_running_jobs(env):
    with _process_job_session(env, end_input=False) as (proc, pid):
        proc.stdout.close()
        proc.stdin.write(b"print('nobody reads this')\n")
        proc.stdin.close()
        assert proc.wait(timeout=HANG) == 128 + signal.SIGPIPE
        assert wait_gone(pid, KILL_HANG)


def test_a_broken_pipe_of_the_users_own_is_an_ordinary_error(env):
    proc = bgshell(env, stdin=(
        "import subprocess, sys\n"
        "child = subprocess.Popen([sys.executable, '-c', ''], stdin=subprocess.PIPE)\n"
        "child.wait()\n"
        "child.stdin.write(b'x' * 1000000); child.stdin.flush()\n"
        "print('still here')\n"
    ))
    out, err = text(proc)
    assert "BrokenPipeError" in err
    assert out == "0\nstill here\n"
    assert proc.returncode == 1


def test_a_signal_the_users_code_catches_still_ends_the_shell(env, tmp_path):
    marker = tmp_path / "ran-after-the-signal"
    proc = subprocess.Popen(
        [BGSHELL], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )
    try:
        proc.stdin.write(
            b"import time\n"
            b"try:\n"
            b"    print('ready', flush=True)\n"
            b"    time.sleep(60)\n"
            b"except BaseException:\n"
            b"    print('caught', flush=True)\n"
            b"\n"
            + f"open({str(marker)!r}, 'w').close()\n".encode()
        )
        proc.stdin.flush()
        assert proc.stdout.readline() == b"ready\n"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=HANG) == 128 + signal.SIGTERM
        assert proc.stdout.read() == b"caught\n"  # the user's handler ran, then the shell left
        assert not marker.exists()
    finally:
        proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            stream.close()
