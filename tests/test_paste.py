"""Tests for cutting a pasted block into statements (``bgshell.shell.language.paste``).

Examples first, then the promises that must hold for any input, checked with
hypothesis as tests/test_source.py does for the classifier: nothing raises; the
pieces are the block itself, cut at line starts, in order; a block of statements
some of which end in ``&`` is cut into exactly those statements; an ``&`` inside a
string, a comment or brackets, ``a & b`` and ``x &= 1`` never cut anything; a
compound statement stays whole; and Enter judges a cut block by its last statement.

Hypothesis examples in this file: 3000 + 1500 + 1000 + 800 + 800 + 800 = 7,900.  The
example database and deadlines are off, as in test_source.py.
"""

from __future__ import annotations

import re
import warnings

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bgshell.engine.kinds import USER_KINDS
from bgshell.shell.language.classify import Grammar
from bgshell.shell.language.marker import find_marker
from bgshell.shell.language.paste import split_pasted
from shellkit import needs_bgshell, run, settle, shell  # noqa: F401  (shell: the fixture)
from test_python_contract import spawn  # noqa: F401  (the fixture: bgshell -q in a pty)


GRAMMAR = Grammar(frozenset({"jobs", "kill", "wait", "result"}), USER_KINDS)


COMMON = dict(deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def unbound(name: str) -> bool:
    return False


def pieces(text: str) -> list[str] | None:
    found = split_pasted(text)
    return None if found is None else [piece.text for piece in found]


# -- examples --------------------------------------------------------------------------------


CUT = [
    ("a = 1\nb() &\nc = 3", ["a = 1\n", "b() &\n", "c = 3"]),
    ("x = 1\nf(x) &", ["x = 1\n", "f(x) &"]),
    ("f() &:p\ng() &:thread\n", ["f() &:p\n", "g() &:thread\n"]),
    ("for i in r:\n    f(i) &\nx = 2 &\n", ["for i in r:\n    f(i) &\n", "x = 2 &\n"]),
    ("(a &\n b)\nc &", ["(a &\n b)\n", "c &"]),
    ("@d\ndef f(): pass\nf() &", ["@d\ndef f(): pass\n", "f() &"]),
    ("f() &\nif x:\n  y\nelif z:\n  w\nelse:\n  v &", ["f() &\n", "if x:\n  y\nelif z:\n  w\nelse:\n  v &"]),
    ("try:\n  a\nexcept E:\n  b\nfinally:\n  c\nd() &", ["try:\n  a\nexcept E:\n  b\nfinally:\n  c\n", "d() &"]),
    ("a() &\n\n# later\nb = 1\n", ["a() &\n\n# later\n", "b = 1\n"]),
    ("jobs -l\nf() &\nkill -9 %1", ["jobs -l\n", "f() &\n", "kill -9 %1"]),
    ("f() &\nx = [1,\n", ["f() &\n", "x = [1,\n"]),  # the last statement is still being typed
    ("x = 1; f(x) &\ny = 2", ["x = 1; f(x) &\n", "y = 2"]),
]


@pytest.mark.parametrize("text, expected", CUT)
def test_blocks_are_cut_into_their_statements(text, expected):
    assert pieces(text) == expected


LEFT_WHOLE = [
    "x = 1; f(x) &",  # one line: one job, as before
    "for i in r:\n    f(i) &",  # one compound statement
    "a = 1\nb = 2\nprint(a + b)",  # no `&`: one input, as before
    "x = 'a &\nb'",  # (not Python, but no cut either)
    "s = '''a &\nb'''\nc = 1",  # in a string
    "t = (a &\n b)\nc = 1",  # in brackets
    "x = 1  # f() &\ny = 2",  # in a comment
    "a &= 1\nb = a & c\n",  # Python's own &
    "f(x)\n&",  # a lone `&`: the classifier's message, as before
    "  a() &\nb",  # an indented first line: Python's error, as before
    "a() &\n b()",  # an unexpected indent
    "output 'x &\nf() &",  # the tokenizer cannot read it
]


@pytest.mark.parametrize("text", LEFT_WHOLE)
def test_other_input_is_left_whole(text):
    assert split_pasted(text) is None


def test_pieces_know_their_lines_and_offsets():
    text = "# pasted\nimport time\n\nt = time.time() &\nx = 1\n"
    found = split_pasted(text)
    assert [(piece.line, piece.start) for piece in found] == [(2, 9), (4, 22), (5, 40)]


def test_enter_waits_for_the_end_of_a_pasted_loop():
    assert not GRAMMAR.is_complete("f() &\nfor i in r:\n    g(i)", unbound)
    assert GRAMMAR.is_complete("f() &\nfor i in r:\n    g(i)\n\n", unbound)
    assert not GRAMMAR.is_complete("f() &\nx = [1,\n", unbound)
    assert GRAMMAR.is_complete("f() &\nx = [1,\n 2]", unbound)
    assert GRAMMAR.is_complete("a = 1\nb() &\nc = 3", unbound)


# -- properties ------------------------------------------------------------------------------


FRAGMENTS = [
    "x", "f()", "jobs", "kill -9 %1", "if x:", "else:", "for i in r:", "def g():", "@d", "return",
    "'a &'", '"""', "'''", "'", "(", ")", "[", "]", "&", "&", " &", " &\n", "&:p", "&=", "#", "# &",
    " ", "    ", "\t", "\n", "\n", "\n    ", "\\\n", "\r\n", "\r", ";", "=", "\0", "$", "é",
]
fragments = st.lists(st.sampled_from(FRAGMENTS), max_size=30).map("".join)


def check_pieces(text: str) -> None:
    """What a caller may assume of any result."""
    found = split_pasted(text)
    if found is None:
        return
    assert len(found) >= 2
    assert "".join(piece.text for piece in found) == text[found[0].start:]
    for piece, after in zip(found, found[1:]):
        assert piece.start + len(piece.text) == after.start
        assert after.line > piece.line
    for piece in found:
        assert text[piece.start:piece.start + len(piece.text)] == piece.text
        assert piece.start == 0 or text[piece.start - 1] == "\n"
        assert text.count("\n", 0, piece.start) + 1 == piece.line
    ends = [find_marker(piece.text) for piece in found]
    assert any(marker is not None and not marker.lone for marker in ends)


@settings(max_examples=3000, **COMMON)
@given(st.text())
def test_nothing_raises_on_arbitrary_text(text):
    check_pieces(text)
    GRAMMAR.is_complete(text, unbound)


@settings(max_examples=1500, **COMMON)
@given(fragments)
def test_nothing_raises_on_python_fragments(text):
    check_pieces(text)
    GRAMMAR.is_complete(text, unbound)


names = st.sampled_from(["x", "y", "data", "n", "f", "job_1"])
values = st.one_of(
    st.integers(min_value=0, max_value=999).map(str),
    st.sampled_from(["'a &'", '"# &"', "b'&'", "x & y", "(a &\n b)", "[1,\n 2]", "f(x)", "None"]),
)
simple = st.one_of(
    st.tuples(names, values).map(lambda t: f"{t[0]} = {t[1]}"),
    st.tuples(names, values).map(lambda t: f"{t[0]} &= {t[1]}"),
    values,
    st.tuples(values, values).map(lambda t: f"{t[0]}; {t[1]}"),
)
compound = st.one_of(
    st.tuples(values, simple).map(lambda t: f"for i in {t[0]}:\n    {t[1]}"),
    st.tuples(values, simple, simple).map(lambda t: f"if {t[0]}:\n    {t[1]}\nelse:\n    {t[2]}"),
    st.tuples(simple, simple).map(lambda t: f"try:\n    {t[0]}\nexcept Exception:\n    {t[1]}"),
    simple.map(lambda s: f"@dec\ndef g():\n    {s}"),
)
markers = st.sampled_from(["", "", " &", "&", " &:p", " &:thread  # on a thread", " &  # go"])


def compiles(text: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(text, "<test>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True


statement = st.tuples(st.one_of(simple, compound), markers).filter(lambda t: compiles(t[0]))


@settings(max_examples=1000, **COMMON)
@given(st.lists(statement, min_size=2, max_size=6), st.sampled_from(["\n", "\n\n", "\n# a note &\n"]))
def test_a_block_of_statements_is_cut_into_those_statements(block, separator):
    texts = [code + marker for code, marker in block]
    text = separator.join(texts) + "\n"
    found = split_pasted(text)
    if not any(marker for _, marker in block):
        assert found is None  # nothing to run in the background: one input, as before
        return
    assert found is not None
    assert [piece.text.strip() for piece in found] == [
        (part + separator).strip() if index < len(texts) - 1 else part.strip()
        for index, part in enumerate(texts)
    ]
    for piece, (code, marker) in zip(found, block):
        result = GRAMMAR.classify(piece.text, unbound)
        if marker:
            assert result.kind == "background" and result.code == code.rstrip()
        else:
            assert result.kind == "python"


@settings(max_examples=800, **COMMON)
@given(st.lists(st.one_of(simple, compound).filter(compiles), min_size=1, max_size=5))
def test_python_without_a_trailing_amp_is_never_cut(block):
    assert split_pasted("\n".join(block) + "\n") is None


@settings(max_examples=800, **COMMON)
@given(st.lists(statement, min_size=2, max_size=5))
def test_enter_judges_a_cut_block_by_its_last_statement(block):
    text = "\n".join(code + marker for code, marker in block)
    found = split_pasted(text)
    assume(found is not None)
    assert GRAMMAR.is_complete(text, unbound) is GRAMMAR.is_complete(found[-1].text, unbound)


@settings(max_examples=800, **COMMON)
@given(st.lists(statement, min_size=1, max_size=4), st.sampled_from([
    "x = 'f() &\n'", "x = '''f() &\ng()'''", "# f() &", "f(a &\n  b)",
]))
def test_amp_inside_strings_comments_and_brackets_cuts_nothing(block, tricky):
    plain = [code for code, _ in block]
    text = "\n".join([*plain, tricky]) + "\n"
    assume(compiles(text))
    assert split_pasted(text) is None


# -- the shell runs the pieces ---------------------------------------------------------------


def test_a_pasted_block_runs_statement_by_statement(shell, capsys):
    out, err = run(shell, capsys, "x = 6\ny = x * 7 &\n1/0\nprint('after', x)\nkill -l\n")
    lines = out.splitlines()
    assert lines[0] == "[1] y = x * 7"
    assert "after 6" in lines and any("SIGTERM" in line for line in lines), lines
    assert "ZeroDivisionError: division by zero" in err
    assert "SyntaxError" not in err
    settle(shell)
    assert shell.namespace["y"] == 42
    assert shell.failed


def test_a_compound_statement_ending_in_amp_is_one_job(shell, capsys):
    out, _ = run(shell, capsys, "total = 0\nfor i in range(4):\n    total += i &\nlast = 1\n")
    assert out.splitlines()[0] == "[1] for i in range(4): \u2026"
    settle(shell)
    assert shell.namespace["total"] == 6 and len(shell.jobs) == 1


def test_ctrl_c_in_a_pasted_statement_stops_the_rest(shell, capsys):
    out, err = run(shell, capsys, "a = 1 &\nraise KeyboardInterrupt\nb = 2\nc = 3 &\n")
    assert "KeyboardInterrupt" in err
    assert "(interrupted: the 2 statements after it in the paste did not run)" in err
    assert "b" not in shell.namespace and len(shell.jobs) == 1


def nonblank(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines() if line.strip()]


@needs_bgshell
def test_pty_a_pasted_block_runs_statement_by_statement(spawn):
    from pty_shell import ENTER

    shell = spawn()
    shell.paste("x = 6\ny = x * 7 &\nprint('then', x)\n")
    shell.send(ENTER)
    out = shell.wait_prompt()
    assert re.search(r"^\[1\] y = x \* 7$", out, re.M), out
    assert re.search(r"^then 6$", out, re.M), out
    assert "SyntaxError" not in out
    shell.run("wait")
    assert nonblank(shell.run("y")) == ["42"]
