"""Tests for bgshell.shell.language: what an input is, and whether Enter submits it.

Each example test states behaviour a user relies on at the prompt; the hypothesis
properties at the end check the promises that must hold for *any* input: nothing
raises, valid Python plus a trailing `&` is exactly that Python sent to the background,
and `&` inside strings, comments and brackets never is.

Hypothesis examples in this file: 4000 + 2000 + 1000 + 1000 + 600 + 1500 + 1000 + 1000
+ 1000 + 1000 = 14,100.  The example database is off (database=None), and so are deadlines, so a
slow or busy machine never fails a test.
"""

import ast
import codeop
import io
import shlex
import tokenize
import warnings

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from bgshell.engine.kinds import USER_KINDS as BACKGROUND_KINDS
from bgshell.shell.language import marker
from bgshell.shell.language.words import shell_split
from bgshell.shell.language.classify import Classified, Grammar
from bgshell.shell.language.jobspec import JobSpec, JobSpecError, parse_jobspec
from bgshell.shell.language.paste import split_pasted

BUILTINS = frozenset({"jobs", "result", "kill", "wait", "help", "flush", "output"})
GRAMMAR = Grammar(BUILTINS, BACKGROUND_KINDS)
split_background = GRAMMAR.split_background


def unbound(name: str) -> bool:
    return False


def all_bound(name: str) -> bool:
    return True


def kind(text: str, is_bound=unbound) -> Classified:
    return GRAMMAR.classify(text, is_bound)


def complete(text: str, is_bound=unbound) -> bool:
    return GRAMMAR.is_complete(text, is_bound)


def assert_one_line_error(result: Classified) -> None:
    assert result.kind == "error"
    assert result.message.strip()
    assert "\n" not in result.message and "\r" not in result.message


# ---------------------------------------------------------------- rule 1: trailing &

BACKGROUND = [
    # (input, code that runs in the background, job kind)
    ("f(x) &", "f(x)", None),
    ("f(x)&", "f(x)", None),
    ("f(x)   &   ", "f(x)", None),
    ("f(x) &  # go", "f(x)", None),
    ("f(x) &\n", "f(x)", None),
    ("f(x) &\r\n", "f(x)", None),
    ("f(x) &\n# trailing comment line\n", "f(x)", None),
    ("a & b &", "a & b", None),
    ("x = a & b &", "x = a & b", None),
    ("(a &\n b) &", "(a &\n b)", None),
    ("'a &' &", "'a &'", None),
    ('f"{a & b}" &', 'f"{a & b}"', None),
    ("x = [1,\n     2] &", "x = [1,\n     2]", None),
    ("x = 1; f(x) &", "x = 1; f(x)", None),
    ("x = 1\nf(x) &", "x = 1\nf(x)", None),
    ("for i in range(3):\n    f(i) &", "for i in range(3):\n    f(i)", None),
    ("x = lambda v: v &", "x = lambda v: v", None),
    ("f(x) \\\n  &", "f(x)", None),  # a line continuation before the & is not code
    ("sum(range(10**9)) &:p", "sum(range(10**9))", "process"),
    ("f(x) &:proc", "f(x)", "process"),
    ("f(x) &:process", "f(x)", "process"),
    ("f(x) &:t", "f(x)", "thread"),
    ("f(x) &:thread  # on a thread", "f(x)", "thread"),
    ("f(x) & :p", "f(x)", "process"),
    ("data[1:2] &:t", "data[1:2]", "thread"),
]


@pytest.mark.parametrize("text, code, job_kind", BACKGROUND)
def test_trailing_amp_backgrounds_the_code_before_it(text, code, job_kind):
    assert kind(text) == Classified("background", code=code, job_kind=job_kind)
    assert split_background(text) == (code, True, job_kind)


PLAIN_PYTHON = [
    "a & b",
    "a &b",
    "x &= 1",
    "x&=1",
    "'a &'",
    '"a &"',
    "'''a &'''",
    '"""a\n&"""',
    "x = 1  # run f(x) &",
    "(a &\n b)",
    "[a &\n b]",
    "{a: b &\n c}",
    'f"{a & b}"',
    "f'{x:&>10}'",
    "x = a & \\\n    b",
    "b'&'",
    "f(a &\n)",  # & inside brackets is never the marker, even when the code is wrong
]


@pytest.mark.parametrize("text", PLAIN_PYTHON)
def test_amp_that_belongs_to_python_stays_python(text):
    assert kind(text) == Classified("python", code=text)
    assert split_background(text) == (text, False, None)


def test_amp_in_a_trailing_comment_only_is_empty_input():
    assert kind("# a & b &").kind == "empty"


@pytest.mark.parametrize("name", ["gpu", "x", "threads", "processes", "if", "T"])
def test_unknown_job_kind_is_an_error_listing_the_valid_kinds(name):
    result = kind(f"f(x) &:{name}")
    assert_one_line_error(result)
    assert repr(name) in result.message
    for valid in BACKGROUND_KINDS:
        assert valid in result.message
    assert split_background(f"f(x) &:{name}") == (f"f(x) &:{name}", False, None)


def test_bare_kind_colon_asks_for_a_kind():
    result = kind("f(x) &:")
    assert_one_line_error(result)
    assert "&:thread" in result.message and "&:process" in result.message


def test_kind_prefixes_resolve_to_full_names():
    for full in BACKGROUND_KINDS:
        for end in range(1, len(full) + 1):
            assert kind(f"f(x) &:{full[:end]}").job_kind == full


def test_user_variable_named_like_a_builtin_can_be_backgrounded():
    assert GRAMMAR.classify("result &", lambda name: name == "result") == Classified(
        "background", code="result"
    )


def test_compiler_warnings_are_not_printed_while_classifying():
    # `x is 1` warns when compiled; the shell compiles it again to run it, so
    # classifying must not show the warning a second time.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert kind("x is 1 &").kind == "background"
        assert complete("x is 1 &")
    assert caught == []


TOKENIZER_TROUBLE = [
    # (input, would more lines fix it?)
    ("'abc &", False),
    ("'''abc &", True),
    ('"""abc\n&', True),
    ("f(x &", True),
    ("f(x, [1 &", True),
    ("if x:\n    f()\n  g() &", False),  # dedent to a level that never existed
    ("f(x) & \\", True),
    ("\0 &", False),
    ("x = '\0' &", False),
    ("\ud800 &", False),
    ("x $ &", False),
    (")) &", False),
]


@pytest.mark.parametrize("text, more_lines_help", TOKENIZER_TROUBLE)
def test_tokenizer_errors_never_escape(text, more_lines_help):
    result = kind(text)
    assert result == Classified("python", code=text)
    assert complete(text) is not more_lines_help


# ---------------------------------------------------------------- rule 2: lone &


@pytest.mark.parametrize(
    "text", ["&", "  &  ", "&\n", "# note\n&", "& &", "& & &", "&:p", "&:thread", "& # why", "\n\n&\n"]
)
def test_lone_amp_is_an_error_not_a_traceback(text):
    result = kind(text)
    assert_one_line_error(result)
    assert "nothing to run" in result.message
    assert split_background(text) == (text, False, None)
    assert complete(text)


def test_amp_on_its_own_line_after_code_says_where_it_belongs():
    result = kind("f(x)\n&")
    assert_one_line_error(result)
    assert "end of the statement" in result.message


@pytest.mark.parametrize("text", ["1 + &", "x & &", "& x &", "def &", "for i in x: &", "x = &"])
def test_background_of_invalid_code_goes_to_the_compiler(text):
    # The user then sees Python's own SyntaxError, pointing at the real mistake.
    assert kind(text) == Classified("python", code=text)
    assert complete(text)


# ---------------------------------------------------------------- rule 3: builtins

BUILTIN_LINES = [
    ("jobs", "jobs", ()),
    ("  jobs  ", "jobs", ()),
    ("jobs\n", "jobs", ()),
    ("# list them\njobs", "jobs", ()),
    ("jobs -l", "jobs", ("-l",)),
    ("jobs # show all", "jobs", ()),
    ("result 2", "result", ("2",)),
    ("result\t2", "result", ("2",)),
    ("kill %1", "kill", ("%1",)),
    ("kill -1", "kill", ("-1",)),
    ("kill  %1   %2", "kill", ("%1", "%2")),
    ("wait 1 2 3", "wait", ("1", "2", "3")),
    ("help result", "help", ("result",)),
    ("help if", "help", ("if",)),
    ("help '&'", "help", ("&",)),
    ("output 3 'a b' \"c\\\"d\"", "output", ("3", "a b", 'c"d')),
    ("flush +1", "flush", ("+1",)),
    ("%jobs", "jobs", ()),
    ("%kill %1", "kill", ("%1",)),
    ("%result = 5", "result", ("=", "5")),  # `%` always means the builtin
]


@pytest.mark.parametrize("text, name, args", BUILTIN_LINES)
def test_builtin_lines(text, name, args):
    assert kind(text) == Classified("builtin", name=name, args=args)
    assert complete(text)


PYTHON_WITH_BUILTIN_NAMES = [
    "result = 5",
    "result=5",
    "result == 3",
    "result != 3",
    "result <= 3",
    "result < 3",
    "result += 1",
    "result -= 1",
    "result //= 2",
    "result **= 2",
    "result >>= 1",
    "result &= 1",
    "result @= m",
    "result: int = 3",
    "jobs.new(f)",
    "jobs .new(f)",
    "jobs[1]",
    "jobs [1]",
    "wait(1)",
    "wait (1)",
    "jobs, x = 1, 2",
    "jobs; x",
    "flush + 1",
    "flush * 2",
    "result & b",
    "result if x else 0",
    "result for x in y",
    "result and x",
    "result or x",
    "result in xs",
    "result is None",
    "result not in xs",
    "jobs\nx = 1",
    "result\n+ 1",
]


@pytest.mark.parametrize("text", PYTHON_WITH_BUILTIN_NAMES)
def test_builtin_name_continued_as_python_is_python(text):
    assert kind(text) == Classified("python", code=text)


def test_a_bound_name_always_wins_over_the_builtin():
    bound = lambda name: name == "result"  # noqa: E731
    assert GRAMMAR.classify("result 2", bound) == Classified("python", code="result 2")
    assert GRAMMAR.classify("result", bound) == Classified("python", code="result")
    assert GRAMMAR.classify("%result 2", bound) == Classified("builtin", name="result", args=("2",))
    assert GRAMMAR.classify("jobs", bound) == Classified("builtin", name="jobs")


def test_is_bound_is_asked_only_about_builtin_names():
    asked = []
    GRAMMAR.classify("x = jobs", lambda name: asked.append(name) or False)
    GRAMMAR.classify("jobs", lambda name: asked.append(name) or False)
    assert asked == ["jobs"]


def test_unknown_percent_command():
    assert kind("%foo") == Classified("error", message="unknown command %foo; type help for the list")
    assert_one_line_error(kind("%foo\nbar"))
    assert_one_line_error(kind("%\x00weird"))


@pytest.mark.parametrize("text", ["%", "% jobs", "%  "])
def test_percent_without_a_name(text):
    result = kind(text)
    assert_one_line_error(result)
    assert "%jobs" in result.message


WITH_FG = Grammar(BUILTINS | {"fg", "bg"}, BACKGROUND_KINDS)


@pytest.mark.parametrize("spec", ["%1", "%12", "%+", "%%", "%-"])
def test_a_job_spec_alone_is_fg_and_with_an_ampersand_bg_as_in_bash(spec):
    assert WITH_FG.classify(spec, unbound) == Classified("builtin", name="fg", args=(spec,))
    assert WITH_FG.classify(f"{spec}  ", unbound) == Classified("builtin", name="fg", args=(spec,))
    assert WITH_FG.classify(f"{spec} &", unbound) == Classified("builtin", name="bg", args=(spec,))


@given(st.integers(min_value=1, max_value=10**6), st.text(alphabet="xyz =1(", min_size=1, max_size=8))
def test_a_job_spec_followed_by_more_is_one_clear_error(number, tail):
    assume(tail.strip() not in ("", "&"))
    result = WITH_FG.classify(f"%{number} {tail}", unbound)
    assert_one_line_error(result)
    assert f"%{number}" in result.message and "fg" in result.message


def test_percent_command_must_stand_alone():
    assert_one_line_error(kind("%jobs\nx = 1"))


@pytest.mark.parametrize(
    "text",
    ["jobs &", "jobs&", "kill %1 &", "wait 1 2&", "%jobs &", "jobs &:p", "jobs &  # later", "output 1 $x &"],
)
def test_builtins_cannot_be_backgrounded(text):
    result = kind(text)
    assert_one_line_error(result)
    assert "backgrounded" in result.message
    assert complete(text)


@pytest.mark.parametrize("text", ["kill 'a", 'kill "a', "output 1 \\", "%help 'x"])
def test_unbalanced_quotes_in_arguments_are_an_error(text):
    result = kind(text)
    assert_one_line_error(result)
    assert complete(text)


SHELL_WORDS = [
    "",
    "a b",
    "'a b' c",
    '"a \\" b"',
    '"a \\x b"',
    "a\\ b",
    "a'b'c",
    "''",
    "a # comment",
    "a#b c",
    "'#' x",
    "a\\\nb",
    "\t a \r\n b ",
]


@pytest.mark.parametrize("text", SHELL_WORDS)
def test_arguments_split_like_shlex(text):
    words, problem = shell_split(text)
    assert problem == ""
    assert [word for word, _ in words] == shlex.split(text, comments=True)


# ---------------------------------------------------------------- rule 4: empty


@pytest.mark.parametrize("text", ["", " ", "\t", "\n\n", "\r\n", "\f", "# just a note", "  # a\n\t# b\n"])
def test_blank_and_comment_only_input_is_empty(text):
    assert kind(text) == Classified("empty")
    assert complete(text)
    assert split_background(text) == (text, False, None)


def test_a_comment_ended_by_a_carriage_return_does_not_hide_code():
    assert kind("# note\rx").kind == "python"


# ---------------------------------------------------------------- rule 5: is_complete

INCOMPLETE = [
    "x = (",
    "f(1,\n  2",
    "'''doc",
    '"""doc\nmore',
    "x = 1 + \\",
    "def f():",
    "def f():\n    return 1",
    "async def f():\n    await g()",
    "for i in range(3):",
    "for i in range(3):\n    f(i)",
    "for i in range(3):\n    f(i) &",
    "for i in range(3):\n    f(i) &  # all of it",
    "class A:\n    pass",
    "if x:\n    f()\nelse:",
    "if x: f()",
    "while True:\n    pass",
    "with open(p) as fh:\n    fh.read()",
    "try:\n    f()\nexcept E:\n    pass",
    "@dec",
    "@dec\ndef f():\n    pass",
    "match x:\n    case 1:\n        pass",
    "for i in x:\n    f(i)\n# done",
    "jobs (",
    # pasted blocks
    "x = 1\ny = (",
    "x = 1\nfor i in y:",
    "x = 1\nfor i in y:\n    f(i)",
    "x = 1\ndef f():\n    a = 1\n\n    return a",
]


@pytest.mark.parametrize("text", INCOMPLETE)
def test_enter_opens_a_continuation_line(text):
    assert complete(text) is False


COMPLETE = [
    "x = 1",
    "f(x)",
    "f(x) &",
    "f(x) &:p",
    "x = (1,\n     2)",
    "'''doc\nstring'''",
    "def f():\n    return 1\n",
    "for i in range(3):\n    f(i)\n",
    "for i in range(3):\n    f(i) &\n",
    "for i in range(3):\n    f(i)\n    ",  # an auto-indent left on the empty line
    "for i in range(3):\r\n    f(i)\r\n",
    "if x: f()\n",
    "1 +",
    "x = = 1",
    "return 5",
    "'abc",
    "\0",
    "jobs",
    "kill %1",
    "%foo",
    "&",
    "f(x) &:gpu",
    # pasted blocks
    "x = 1\ny = 2",
    "x = 1\ny = 2\n",
    "x = 1\nfor i in y:\n    f(i)\n",
    "for i in y:\n    f(i)\nx = 1",
    "x = 1\n1 +",
    "x = 1\nf(x) &",
]


@pytest.mark.parametrize("text", COMPLETE)
def test_enter_submits(text):
    assert complete(text) is True


def console_is_complete(text: str) -> bool:
    """What code.InteractiveConsole does with this buffer: run (or report) vs ask for more."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return codeop.compile_command(text, "<input>", "single") is not None
    except (SyntaxError, ValueError, OverflowError):
        return True


@pytest.mark.parametrize(
    "text", INCOMPLETE + COMPLETE + ["if x:\n    f()\n\n    g()", "for i in x:\n\n", "(\n\n", "@dec\n\n"]
)
def test_single_statements_match_the_python_console(text):
    result = kind(text, all_bound)
    if result.kind != "python":
        return  # builtins, errors and the `&` are ours; the console has no such thing
    try:
        codeop.compile_command(text, "<input>", "single")
    except SyntaxError as error:
        if "multiple statements" in str(error):
            return  # pasted blocks: handled on purpose, see the tests above
    except Exception:
        pass
    last_line = text.rsplit("\n", 1)[-1]
    if "\n" in text and last_line and not last_line.strip():
        return  # an auto-indent only: we treat it as the empty line, on purpose
    assert complete(text, all_bound) is console_is_complete(text)


# ---------------------------------------------------------------- rule 6: job specs


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("3", JobSpec(3, None)),
        ("%3", JobSpec(3, None)),
        ("  %3\t", JobSpec(3, None)),
        ("007", JobSpec(7, None)),
        ("1000000000000000000", JobSpec(10**18, None)),
        ("%+", JobSpec(None, "+")),
        ("%%", JobSpec(None, "+")),
        ("%-", JobSpec(None, "-")),
        (" %- ", JobSpec(None, "-")),
    ],
)
def test_job_specs(spec, expected):
    assert parse_jobspec(spec) == expected


@pytest.mark.parametrize(
    "spec",
    [
        "", "   ", "%", "0", "%0", "000", "-1", "%-1", "+3", "%+3", "3.5", "%abc", "abc",
        "1000000000000000001", "9" * 5000, "10**18", "１", "3 4", "3\n4", "%%%", "%3%",
        "\x00", "\ud800",
    ],
)
def test_bad_job_specs_raise_a_one_line_error(spec):
    with pytest.raises(JobSpecError) as caught:
        parse_jobspec(spec)
    message = str(caught.value)
    assert "\n" not in message and len(message) < 200
    assert "%N" in message or "start at 1" in message or "10**18" in message


def test_jobspec_error_is_a_value_error():
    assert issubclass(JobSpecError, ValueError)


def test_jobspec_message_names_the_bad_spec():
    with pytest.raises(JobSpecError, match="'%abc'"):
        parse_jobspec("%abc")


# ---------------------------------------------------------------- rule 7: any input

HUGE = 1_000_000
NESTED_IFS = "if x:\n" + "".join(" " * depth + "if x:\n" for depth in range(1, 200))


@pytest.mark.parametrize(
    "text, expected",
    [
        pytest.param("x" * HUGE, "python", id="one-name"),
        pytest.param("x" * HUGE + " &", "background", id="one-name-amp"),
        pytest.param("f(" + "1," * (HUGE // 2) + ") &", "background", id="long-call-amp"),
        pytest.param("f(" + "1," * (HUGE // 2) + ")", "python", id="long-call"),
        pytest.param("x = '" + "a&" * (HUGE // 2) + "'", "python", id="string-of-amps"),
        pytest.param("x = " + "1 + " * (HUGE // 4) + "1 &", "python", id="too-deep-for-compile-amp"),
        pytest.param("&" * HUGE, "error", id="amps"),
        pytest.param("(" * HUGE, "python", id="open-brackets"),
        pytest.param("(" * HUGE + " &", "python", id="open-brackets-amp"),
        pytest.param("-" * HUGE + "1 &", "python", id="unary-minus-amp"),
        pytest.param("\n" * HUGE, "empty", id="newlines"),
        pytest.param("# " + "&" * HUGE, "empty", id="comment-of-amps"),
        pytest.param("wait " + "1 " * (HUGE // 2), "builtin", id="builtin-many-args"),
        pytest.param("wait " + "'1' " * (HUGE // 4), "builtin", id="builtin-quoted-args"),
        pytest.param("kill " + "x" * HUGE, "builtin", id="builtin-one-long-arg"),
    ],
)
def test_megabyte_inputs(text, expected):
    assert kind(text).kind == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("(" * 10_000 + ")" * 10_000, id="parens"),
        pytest.param("(" * 10_000 + ")" * 10_000 + " &", id="parens-amp"),
        pytest.param("[" * 300 + "]" * 300 + " &", id="lists-amp"),
        pytest.param("-" * 100_000 + "1", id="unary"),
        pytest.param("-" * 100_000 + "1 &", id="unary-amp"),
        pytest.param("not " * 50_000 + "x &", id="not-amp"),
        pytest.param("x = " + "1 + " * 100_000 + "1", id="long-sum"),
        pytest.param(NESTED_IFS + " " * 200 + "pass\n", id="nested-ifs"),
        pytest.param(NESTED_IFS + " " * 200 + "f() &", id="nested-ifs-amp"),
    ],
)
def test_deep_nesting_never_raises(text):
    assert kind(text).kind in {"python", "background", "error"}
    assert complete(text) in (True, False)
    split_background(text)


@pytest.mark.parametrize(
    "text", ["f(x) &", "f(x) &:p", "f(x) &:", "& &", "a &&", "x; &", "  f(x) &\n", ")(&", "(&", "(x)) &", "x &= 1"]
)
def test_fast_path_for_long_simple_lines_agrees_with_tokens_on_examples(text):
    assert marker._find_marker_simple(text) == marker._find_marker_on_tokens(text)


@pytest.mark.parametrize(
    "text",
    [
        "f(x) &\\\n:p",  # the kind on the next line, after a line continuation
        "f(x) &:\\\n  p  # go",
        "x = '''\n# ''' &",  # looks like a comment line, is the end of a string
        "f(x) &\n# one\n  # two\n\n",
        "f(x) &\r\n# one\r\n",
        "f(x) & # a & b &",
    ],
)
def test_the_prefilter_keeps_markers_the_tokens_find(text):
    assert marker._find_marker_on_tokens(text) is not None
    assert marker._has_marker_candidate(text)


# ---------------------------------------------------------------- hypothesis

COMMON = dict(deadline=None, database=None)

FRAGMENTS = [
    "x", "y", "jobs", "result", "kill", "wait", "f", "lambda", "if", "else", "for", "in",
    "def", "class", "return", "async", "await", "match", "case", "0", "1", "3.5", "10**18",
    "'a'", '"&"', "'''", '"""', "'", '"', "f'{", "}'", "{", "}", "(", ")", "[", "]",
    "&", "&", "&", "&=", "&:", ":", "p", "t", "gpu", "%", "%jobs", "%%", "+", "-", "*",
    "=", "==", ".", ",", ";", "#", "# &", " ", " ", "  ", "\t", "\n", "\n    ", "\\\n",
    "\\", "\r", "\r\n", "\f", "\0", "\ud800", "@dec", "é", "$", "!",
]
python_ish = st.lists(st.sampled_from(FRAGMENTS), max_size=24).map("".join)


def check_invariants(text: str) -> None:
    """Everything a caller may assume about the results, for any text."""
    result = GRAMMAR.classify(text, unbound)
    assert result.kind in {"empty", "python", "background", "builtin", "error"}
    if result.kind == "error":
        assert_one_line_error(result)
    elif result.kind == "python":
        assert result.code == text
    elif result.kind == "builtin":
        assert result.name in BUILTINS
        assert all(isinstance(arg, str) for arg in result.args)
    elif result.kind == "background":
        assert result.code and result.code == result.code.rstrip()
        assert result.job_kind in BACKGROUND_KINDS + (None,)
        compile(result.code, "<test>", "exec", dont_inherit=True)
        assert split_background(text) == (result.code, True, result.job_kind)
    code, backgrounded, job_kind = split_background(text)
    if not backgrounded:
        assert (code, job_kind) == (text, None)
    answer = GRAMMAR.is_complete(text, unbound)
    assert answer in (True, False)
    pieces = split_pasted(text)
    if pieces is not None:
        # A block run statement by statement waits only for its last statement.
        assert all(text.startswith(piece.text, piece.start) for piece in pieces)
        assert answer is GRAMMAR.is_complete(pieces[-1].text, unbound)
    elif result.kind in {"empty", "builtin", "error"}:
        assert answer is True
    try:
        spec = parse_jobspec(text)
    except JobSpecError as error:
        assert "\n" not in str(error)
    else:
        assert (spec.number is None) != (spec.relative is None)


@settings(max_examples=4000, **COMMON)
@given(st.text())
@example("\x85&")  # U+0085 is a blank to str.strip, not to python (found on 3.12)
def test_nothing_raises_on_arbitrary_text(text):
    check_invariants(text)


@pytest.mark.parametrize("text", ["\x85&", "1\x85&", "1\xa0&", "\u2028&", "f()\u3000&:process"])
def test_a_character_python_rejects_before_the_amp_goes_to_the_compiler(text):
    """str.strip() takes U+0085, U+00A0, U+2028... for blanks; python's tokenizer does
    not: `1\x85&` must not run `1` in the background (nor `\x85&` an empty job), but
    show python3's SyntaxError for the character."""
    result = GRAMMAR.classify(text, unbound)
    assert result.kind == "python" and result.code == text, result
    with pytest.raises(SyntaxError, match="invalid non-printable character|invalid character"):
        compile(text, "<input>", "exec")


@settings(max_examples=2000, **COMMON)
@given(python_ish)
@example("%&\nx'''")  # a cut block whose last statement is still open (found by CI)
@example("\r\nx\r\nx&")  # a cut block after a blank line
def test_nothing_raises_on_python_fragments(text):
    check_invariants(text)


# Syntactically valid Python, built from a small grammar so `&` shows up in every role.
names = st.sampled_from(["x", "y", "data", "n", "f", "job_1"])
literals = st.one_of(
    st.integers(min_value=0, max_value=10**6).map(str),
    st.text(alphabet="ab &#:'\"\\\n{}", max_size=6).map(repr),
    st.sampled_from(["'a &'", '"# &"', "'''x &\ny'''", "b'&'", "None", "...", "1.5", "2j"]),
)
fstring = st.tuples(names, st.sampled_from(["&", "|", "+"]), names).map(
    lambda t: f"f'{{{t[0]} {t[1]} {t[2]}}}'"
)


binary_operators = st.sampled_from(["+", "-", "*", "&", "|", "^", "<<", "==", "<", "and", "or", "is"])


def extend(children):
    return st.one_of(
        st.tuples(children, binary_operators, children).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        st.tuples(children, children).map(lambda t: f"({t[0]} &\n {t[1]})"),
        st.tuples(names, st.lists(children, max_size=3)).map(lambda t: f"{t[0]}({', '.join(t[1])})"),
        st.lists(children, max_size=3).map(lambda items: f"[{', '.join(items)}]"),
        st.tuples(children, children).map(lambda t: f"{{{t[0]}: {t[1]}}}"),
        st.tuples(names, children).map(lambda t: f"{t[0]}[{t[1]}]"),
        st.tuples(names, children, children).map(lambda t: f"{t[0]}[{t[1]}:{t[2]}]"),
        children.map(lambda c: f"({c})"),
        children.map(lambda c: f"-{c}"),
        children.map(lambda c: f"not {c}"),
        children.map(lambda c: f"lambda v: {c}"),
        st.tuples(children, children, children).map(lambda t: f"{t[0]} if {t[1]} else {t[2]}"),
        fstring,
    )


expressions = st.recursive(st.one_of(names, literals, fstring), extend, max_leaves=8)


def statement_forms(e):
    return st.one_of(
        e,
        e.map(lambda v: f"x = {v}"),
        e.map(lambda v: f"x &= {v}"),
        e.map(lambda v: f"x: int = {v}"),
        e.map(lambda v: f"assert {v}"),
        st.tuples(e, e).map(lambda t: f"{t[0]}; {t[1]}"),
        st.tuples(e, e).map(lambda t: f"x = {t[0]}\ny = {t[1]}"),
        st.tuples(e, e).map(lambda t: f"for i in {t[0]}:\n    {t[1]}"),
        st.tuples(e, e, e).map(lambda t: f"if {t[0]}:\n    {t[1]}\nelse:\n    {t[2]}"),
        st.tuples(e, e).map(lambda t: f"# note &\n{t[0]}\n{t[1]}"),
        st.tuples(e, e).map(lambda t: f"with {t[0]} as w:\n    {t[1]}"),
    )


def compiles(text: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(text, "<test>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return False
    return True


valid_statements = statement_forms(expressions).filter(compiles)


def dump(text: str) -> str:
    return ast.dump(ast.parse(text))


@settings(max_examples=1000, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much], **COMMON)
@given(
    valid_statements,
    st.sampled_from(
        [
            # (what the user appends, the same without the marker, the job kind)
            (" &", " ", None),
            ("&", "", None),
            ("  &  # go", "    # go", None),
            ("\t&\n", "\t\n", None),
            (" &:p", " ", "process"),
            (" &:thread", " ", "thread"),
            (" & :t # on a thread", "  # on a thread", "thread"),
        ]
    ),
)
def test_valid_python_plus_amp_is_that_python_in_the_background(code, suffix):
    marker, unmarked, job_kind = suffix
    text = code + marker
    result = GRAMMAR.classify(text, all_bound)
    assert result == Classified("background", code=code.rstrip(), job_kind=job_kind)
    assert split_background(text) == (code.rstrip(), True, job_kind)
    assert dump(result.code) == dump(code)
    without = GRAMMAR.classify(code, all_bound)
    assert without == Classified("python", code=code)
    assert dump(without.code) == dump(code)
    # Enter behaves the same with and without the `&` (a loop still wants its empty line).
    assert GRAMMAR.is_complete(text, all_bound) is GRAMMAR.is_complete(code + unmarked, all_bound)


@settings(max_examples=1000, **COMMON)
@given(python_ish)
@example("#\r'''")  # a comment line for codeop (lines split at \n alone): complete
def test_enter_matches_the_python_console_on_single_statements(text):
    assume(GRAMMAR.classify(text, all_bound).kind == "python")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            codeop.compile_command(text, "<input>", "single")
    except SyntaxError as error:
        assume("multiple statements" not in str(error))  # pasted blocks differ on purpose
    except Exception:
        pass
    # A block with lines ending in `&` runs statement by statement (issue 12): Enter
    # judges its last statement, where the console sees one syntax error.
    assume(split_pasted(text) is None)
    last_line = text.rsplit("\n", 1)[-1]
    assume(not ("\n" in text and last_line and not last_line.strip(" \t\f")))  # auto-indent
    assert GRAMMAR.is_complete(text, all_bound) is console_is_complete(text)


amp_text = st.text(alphabet="ab &#:'\" ", max_size=8).map(lambda s: s + " &")


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much], **COMMON)
@given(valid_statements, amp_text, st.integers(min_value=0, max_value=4))
def test_amp_inside_strings_comments_and_brackets_never_backgrounds(code, inner, form):
    if form == 0:
        text = f"{code}  # {inner}"  # in a comment
    elif form == 1:
        text = f"{code}\nx = {inner!r}"  # in a string
    elif form == 2:
        text = f"{code}\nx = '''{inner.replace(chr(39), '')}'''"  # in a triple-quoted string
    elif form == 3:
        text = f"{code}\nf({code.splitlines()[-1].strip()} &\n  1)"  # in brackets, across lines
    else:
        text = f"{code}\nx = [1, 2 &"  # in brackets that never close
    result = GRAMMAR.classify(text, all_bound)
    assert result.kind != "background"
    assert split_background(text) == (text, False, None)


@settings(max_examples=1500, **COMMON)
@given(
    st.integers(min_value=1, max_value=10**18),
    st.sampled_from(["{}", "%{}", " {} ", "\t%{}\n"]),
)
def test_job_numbers_round_trip(number, form):
    assert parse_jobspec(form.format(number)) == JobSpec(number, None)


@settings(max_examples=1000, **COMMON)
@given(st.one_of(st.integers(max_value=0), st.integers(min_value=10**18 + 1, max_value=10**40)), st.booleans())
def test_job_numbers_out_of_range_are_rejected(number, percent):
    with pytest.raises(JobSpecError):
        parse_jobspec(("%" if percent else "") + str(number))


@settings(max_examples=1000, **COMMON)
@given(st.text(alphabet="ab '\"\\#\t\n\r&:%", max_size=16))
def test_argument_splitting_is_shlex(text):
    words, problem = shell_split(text)
    try:
        expected = shlex.split(text, comments=True)
    except ValueError:
        assert problem
    else:
        assert problem == ""
        assert [word for word, _ in words] == expected


@settings(max_examples=1000, **COMMON)
@given(st.one_of(python_ish, python_ish.map(lambda text: text + " &"), python_ish.map(lambda text: text + "&:p\n# x")))
def test_the_prefilter_never_hides_a_marker(text):
    if marker._find_marker_on_tokens(text) is not None:
        assert marker._has_marker_candidate(text)


def tokenizes(text: str) -> bool:
    try:
        for _ in tokenize.generate_tokens(io.StringIO(text).readline):
            pass
    except Exception:
        return False
    return True


SIMPLE_FRAGMENTS = [
    "x", "f", "1", "23", "4.5", "(", ")", "[", "]", "{", "}", "&", "&", "&=", ":", "p", "t",
    "gpu", ",", ";", "=", "!=", "+", "-", " ", "  ", "\t", "&:p", "&:",
]
simple_line = st.lists(st.sampled_from(SIMPLE_FRAGMENTS), max_size=20).map("".join)


@settings(max_examples=1000, **COMMON)
@given(simple_line, st.booleans())
def test_fast_path_for_long_simple_lines_agrees_with_tokens(text, newline):
    text += "\n" if newline else ""
    fast = marker._find_marker_simple(text)
    assert fast is not marker._UNDECIDED  # these lines are all simple enough
    if tokenizes(text):
        assert fast == marker._find_marker_on_tokens(text)
    else:
        # Where the tokenizer gives up (3.12+ rejects `1x`), the fast path may still see
        # a marker, but only in front of code that cannot compile: classify is the same.
        assert fast is None or fast.lone or not compiles(text[: fast.code_end])
        assert GRAMMAR.classify(text, all_bound).kind != "background"
