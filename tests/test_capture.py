"""Per-job output capture (``bgshell.capture``): a thread job's prints go to its own
bounded buffer, everything else passes through to the real streams."""

from __future__ import annotations

import contextvars
import io
import os
import sys
import threading

from bgshell.engine import capture
from bgshell.engine.capture import JobOutput, RoutingStream
from bgshell.jobs import BackgroundJobFunc, JobState


def chatty(lines: int = 1) -> str:
    for i in range(lines):
        print(f"job stdout line {i}")
    sys.stderr.write("job stderr line\n")
    return "done"


def test_job_output_is_captured_and_not_written_to_the_real_fds(jobs, capfd):
    job = jobs.new(chatty, 2)
    job.join()
    assert job.result == "done"
    assert job.output.text() == "job stdout line 0\njob stdout line 1\njob stderr line\n"
    out, err = capfd.readouterr()
    assert "job stdout" not in out and "job stdout" not in err
    assert "job stderr" not in out and "job stderr" not in err


def test_job_output_is_not_written_to_sys_stdout_either(jobs, capsys):
    job = jobs.new(chatty)
    job.join()
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert "job stdout line 0" in job.output.text()


def test_main_thread_writes_pass_through_while_a_job_is_printing(jobs, capfd):
    printed, go_on = threading.Event(), threading.Event()

    def job_body():
        print("job before")
        printed.set()
        go_on.wait(10)
        print("job after")

    job = jobs.new(job_body)
    assert printed.wait(10)
    try:
        print("main thread says hello")
        print("main thread error", file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        go_on.set()
    job.join()
    out, err = capfd.readouterr()
    assert "main thread says hello" in out and "main thread error" in err
    assert "job before" not in out + err and "job after" not in out + err
    assert job.output.text() == "job before\njob after\n"


def test_each_job_has_its_own_output(jobs):
    both_printed = threading.Barrier(2)

    def speak(name):
        print(f"{name} 1")
        both_printed.wait(10)  # interleave the two jobs' writes
        print(f"{name} 2")

    first = jobs.new(speak, "first")
    second = jobs.new(speak, "second")
    first.join()
    second.join()
    assert first.output.text() == "first 1\nfirst 2\n"
    assert second.output.text() == "second 1\nsecond 2\n"


def test_job_output_is_bounded_and_keeps_the_newest_text(jobs):
    def loud():
        for i in range(100):
            print(f"line {i:03d}")  # 9 characters with the newline

    job = BackgroundJobFunc(loud)
    job.output = JobOutput(limit=50)
    jobs.submit(job)
    job.join()
    text = job.output.text()
    assert job.output.written == 900
    assert len(text) == 50
    assert job.output.dropped == 850
    assert text.endswith("line 098\nline 099\n")
    assert ("line 000" not in text) and ("line 090" not in text)


def test_joboutput_counts_what_it_drops():
    out = JobOutput(limit=10)
    out.write("0123456789")
    assert (out.text(), out.written, out.dropped) == ("0123456789", 10, 0)
    out.write("abcde")
    assert (out.text(), out.written, out.dropped) == ("56789abcde", 15, 5)
    out.write("X" * 25)  # one write larger than the whole buffer
    assert (out.text(), out.written, out.dropped) == ("X" * 10, 40, 30)
    assert len(out) == 10
    out.write("")
    assert out.written == 40


def test_joboutput_is_thread_safe():
    out = JobOutput(limit=1000)
    n_threads, per_thread = 8, 500
    barrier = threading.Barrier(n_threads)

    def writer(k):
        barrier.wait()
        for _ in range(per_thread):
            out.write(f"{k}")

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out.written == n_threads * per_thread
    assert out.dropped == out.written - 1000
    assert len(out.text()) == 1000


def test_joboutput_with_limit_zero_keeps_nothing_and_counts_once():
    out = JobOutput(limit=0)
    out.write("abc")
    assert out.text() == ""
    assert out.written == 3
    assert out.dropped == 3


def test_routing_stream_passes_fileno_encoding_and_isatty_through(jobs):
    master, slave = os.openpty()
    terminal = open(slave, "w", encoding="latin-1", closefd=True)
    try:
        stream = RoutingStream(terminal)

        def look():
            return stream.fileno(), stream.encoding, stream.isatty()

        job = jobs.new(look)  # asked from inside a job, where writes are captured
        job.join()
        assert job.result == (slave, "latin-1", True)
        assert look() == (slave, "latin-1", True)  # and outside any job
    finally:
        terminal.close()
        os.close(master)


def test_installed_streams_show_the_real_streams_attributes_inside_a_job(jobs):
    def look():
        return (
            isinstance(sys.stdout, RoutingStream),
            sys.stdout.encoding == sys.stdout.passthrough.encoding,
            sys.stderr.encoding == sys.stderr.passthrough.encoding,
            sys.stdout.isatty() == sys.stdout.passthrough.isatty(),
        )

    job = jobs.new(look)
    job.join()
    assert job.result == (True, True, True, True)


def test_routing_stream_outside_a_job_writes_to_its_passthrough():
    target = io.StringIO()
    stream = RoutingStream(target)
    buffer = JobOutput()

    def in_a_job():
        capture.current_output.set(buffer)
        stream.write("captured\n")
        stream.writelines(["a\n", "b\n"])

    contextvars.Context().run(in_a_job)
    assert stream.write("passed\n") == len("passed\n")
    assert target.getvalue() == "passed\n"
    assert buffer.text() == "captured\na\nb\n"


def test_run_in_the_calling_thread_does_not_capture_the_callers_later_output(jobs):
    jobs.new(int).join()  # routing streams are installed once any job started
    job = BackgroundJobFunc(print, "printed by the job")

    def caller():  # a context of its own, so a regression cannot leak into other tests
        real = io.StringIO()
        saved = sys.stdout
        sys.stdout = RoutingStream(real)
        try:
            job.run()
            print("printed by the caller afterwards")
        finally:
            sys.stdout = saved
        return real.getvalue()

    passed_through = contextvars.Context().run(caller)
    assert job.state is JobState.COMPLETED
    assert job.output.text() == "printed by the job\n"
    assert passed_through == "printed by the caller afterwards\n"


def test_a_job_cannot_lower_the_recursion_limit_under_a_held_shell(jobs):
    """The editor loads in a thread some 140 frames deep while the first prompt is up:
    a job that lowers the limit then must not break it, and must still get its limit."""
    from bgshell.engine import sysguard
    from bgshell.engine.sysguard import RECURSION_ROOM, recursion_held

    jobs.new(int).join()  # the guard is installed with the first job
    before = sys.getrecursionlimit()
    real = sysguard._real_getrecursionlimit  # the interpreter's own, with the shell's room
    try:
        with recursion_held():
            jobs.new(sys.setrecursionlimit, 50).join()
            assert sys.getrecursionlimit() == 50  # what the job set, as it reads it
            assert real() == before + RECURSION_ROOM  # not in force yet
            jobs.new(sys.setrecursionlimit, before * 2).join()
            assert real() == before * 2 + RECURSION_ROOM  # a higher limit is at once
            jobs.new(sys.setrecursionlimit, 60).join()
        assert real() == 60 + RECURSION_ROOM and sys.getrecursionlimit() == 60
    finally:
        sys.setrecursionlimit(before)
