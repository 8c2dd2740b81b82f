"""Hypothesis fuzzing of the builtins as the shell runs them (issue 5, property tests).

Each example is a fresh ``repl.Shell`` holding three finished jobs (one completed,
one dead, one that wrote output), fed ``NAME ARGS`` or ``%NAME ARGS`` for every
builtin NAME, where ARGS is arbitrary text or a string of plausible arguments
(numbers, negative and huge ones, ``%+``, ``%-``, ``%N``, quotes, unbalanced quotes,
``&``, options, NUL, tabs...).  Whatever the input:

* no exception escapes ``Shell.handle``;
* a builtin that fails, and any input the classifier rejects, says so in exactly
  one line on stderr; a builtin that succeeds writes nothing on stderr (except
  ``traceback``, whose output *is* tracebacks);
* when the text is not a builtin after all (``result = 5``, ``jobs.new(...)``),
  it runs as Python, and may print a traceback: only "nothing escapes" applies; so
  too when it is a block of lines some ending in ``&`` (``%bg &\n:``), which runs
  line by line as a pasted block does;
* afterwards the shell still evaluates ``6*7`` to ``42``.

Together with tests/test_source.py this makes the issue's 10,000+ examples; this
file alone runs 6,500 (``max_examples`` below), in about 20 s here.
"""

from __future__ import annotations

import builtins
import io
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bgshell.shell.commands import BUILTINS
from bgshell.shell.language.paste import split_pasted
from bgshell.shell.repl import ExitRequest, Shell

COMMON = dict(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

NAMES = sorted(BUILTINS)
name_as_typed = st.sampled_from(NAMES).flatmap(lambda name: st.sampled_from([name, "%" + name]))

numbers = st.one_of(
    st.integers(-3, 6),
    st.integers(-(10**40), 10**40),
    st.sampled_from([10**18, 10**18 + 1, 10**30, -(10**30)]),
).map(str)
specs = st.one_of(
    numbers,
    numbers.map(lambda n: "%" + n),
    st.sampled_from(["%+", "%-", "%%", "%", "%x", "%0", "%1", "%2", "%3", "%4", "%99", "%+1", "%--", "%%%", "+", "-"]),
)
words = st.sampled_from(
    [
        "-a", "--all", "-", "--", "-1", "thread", "process", "coroutine", "t", "p", *NAMES,
        "&", "&:", "&:p", "&:thread", "&:x", "1&", "& &", "#", "# comment", "\\", "\\ ", "'", '"',
        "''", '""', "'1'", '"%+"', "'1 2'", '"unbalanced', "'unbalanced", '"a\\"b"', "x=1", "=", "==",
        "\x00", "\t", "\r", "\n", "\u0661", "\uff11", "1.5", "1e3", "0x1", "00", "None", "()", "[", "]", "é",
        "9" * 5000,
    ]
)
separators = st.sampled_from([" ", " ", "  ", "\t", "", " \t "])
plausible_args = st.lists(st.tuples(separators, st.one_of(specs, words, st.text(max_size=4))), max_size=6).map(
    lambda pairs: "".join(sep + token for sep, token in pairs)
)


@pytest.fixture
def pristine():
    """Shell() installs its namespace as ``__main__`` and its own ``exit``/``quit``;
    put pytest's back.  stdin is empty, so Python's own ``help()`` cannot block."""
    saved_main = sys.modules.get("__main__")
    saved_exit, saved_quit, saved_stdin = builtins.exit, builtins.quit, sys.stdin
    sys.stdin = io.StringIO("")
    yield
    sys.stdin = saved_stdin
    builtins.exit, builtins.quit = saved_exit, saved_quit
    if saved_main is not None:
        sys.modules["__main__"] = saved_main


def _shell_with_jobs() -> Shell:
    shell = Shell()
    jobs = shell.jobs
    for job in (jobs.new(lambda: "value"), jobs.new(lambda: 1 / 0), jobs.new(lambda: print("said") or 3)):
        job.join(timeout=30)
        assert job.done()
    jobs.drain_finished()
    return shell


def check(text: str, capsys) -> None:
    shell = _shell_with_jobs()
    capsys.readouterr()
    # A block whose lines end in `&` runs line by line (issue 12): several inputs,
    # each saying what it says; only "nothing escapes" holds for the whole.
    kind = "pasted" if split_pasted(text) is not None else shell.grammar.classify(text, shell.is_bound).kind
    try:
        shell.handle(text)
    except ExitRequest:
        assert kind in ("python", "pasted"), f"{kind} input asked to leave: {text!r}"
    out, err = capsys.readouterr()
    lines = err.splitlines()
    if kind == "error":
        assert shell.failed and len(lines) == 1, f"{text!r} -> stderr {err!r}"
    elif kind == "builtin":
        name = shell.grammar.classify(text, shell.is_bound).name
        if shell.failed:
            assert len(lines) == 1, f"{text!r} failed with stderr {err!r}"
        elif name != "traceback":
            assert err == "", f"{text!r} succeeded but wrote on stderr {err!r}"
    shell.handle("6*7")
    out, err = capsys.readouterr()
    assert (out, err) == ("42\n", ""), f"after {text!r}: 6*7 printed {out!r}, {err!r}"
    for job in shell.jobs.running:  # a job the text started as Python (rare)
        job.kill()


@settings(max_examples=2500, **COMMON)
@given(name=name_as_typed, args=st.text())
def test_builtins_survive_arbitrary_text(name, args, capsys, pristine):
    check(f"{name} {args}", capsys)


@settings(max_examples=4000, **COMMON)
@given(name=name_as_typed, args=plausible_args)
def test_builtins_survive_plausible_arguments(name, args, capsys, pristine):
    check(f"{name} {args}", capsys)


# Found by the fuzzing above (remove N N removed job N, then said "no such job N");
# fixed in 271e9bd.
def test_remove_naming_a_job_twice_says_nothing_more(capsys, pristine):
    shell = _shell_with_jobs()
    capsys.readouterr()
    shell.handle("remove 1 %1")
    out, err = capsys.readouterr()
    assert 1 not in shell.jobs.all
    assert err == "" and not shell.failed, err


# wait for a job that died fails as bash's wait does (issue 12), saying so in one line.
@pytest.mark.parametrize("text", ["wait 2", "wait 3 2", "wait -n 2", "%wait -n 1 2"])
def test_wait_for_a_dead_job_fails_in_one_line(text, capsys, pristine):
    check(text, capsys)
