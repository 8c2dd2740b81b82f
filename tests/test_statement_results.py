"""``result N`` of a job whose input ends in a statement (issue 12): the names the input
bound at its top level, one ``NAME = VALUE`` line each, as they were when the job
ended; an expression job keeps showing its value.
"""

from __future__ import annotations

import builtins
import os

import pytest

from bgshell.engine.codesplit import compile_split
from shellkit import run, settle, shell  # noqa: F401  (shell: the fixture)


def test_result_of_a_statement_job_shows_the_names_it_bound(shell, capsys):
    run(shell, capsys, "def f(n):\n    return n * n\n", "z = f(7) &")
    settle(shell)
    assert run(shell, capsys, "result 1") == ("z = 49\n", "")
    assert builtins._ == 49
    run(shell, capsys, "z = 0")  # later bindings at the prompt do not change what the job bound
    assert run(shell, capsys, "result 1") == ("z = 49\n", "")


def test_result_lists_every_top_level_binding_in_order(shell, capsys):
    run(shell, capsys, "if True:\n"
                       "    a, (b, c) = 1, (None, 'x'); import os.path as p; total = 0\n"
                       "    for i in range(3): total += i &")
    settle(shell)
    out, err = run(shell, capsys, "result 1")
    assert err == ""
    assert out.splitlines() == ["a = 1", "b = None", "c = 'x'", f"p = {os.path!r}", "total = 3", "i = 2"]


def test_result_of_an_expression_job_is_still_its_value(shell, capsys):
    run(shell, capsys, "x = 20; x + 22 &", "pass &")
    settle(shell)
    assert run(shell, capsys, "result 1") == ("42\n", "")
    assert run(shell, capsys, "result 2") == ("", "")  # bound nothing, has no value


def test_result_of_a_process_statement_job_shows_the_names_that_came_back(shell, capsys):
    run(shell, capsys, "w = 6 * 7 &:p")
    settle(shell)
    assert shell.jobs[1].kind == "process"
    assert run(shell, capsys, "result 1") == ("w = 42\n", "")
    assert shell.namespace["w"] == 42


@pytest.mark.parametrize("source, names", [
    ("z = f(7)", ("z",)),
    ("a, (b, *c) = x; d += 1; e: int; g: int = 2", ("a", "b", "c", "d", "g")),
    ("for i in r:\n    j = i\nelse:\n    k = 1", ("i", "j", "k")),
    ("import os.path, sys as s\nfrom a import b, c as d\nfrom m import *", ("os", "s", "b", "d")),
    ("def f(x=(w := 1)):\n    q = 1\nclass C:\n    r = 2", ("w", "f", "C")),
    ("[y for y in r if (t := y)]", ("t",)),
    ("with open(f) as (h, m):\n    pass", ("h", "m")),
    ("try:\n    1\nexcept E as e:\n    n = 1", ("n",)),
    ("match p:\n    case [a1, *rest, {'k': v, **kw}]:\n        pass\n    case P(x=xx) as pt:\n        pass",
     ("a1", "rest", "v", "kw", "xx", "pt")),
    ("del x; x.y = 1; x[0] = 2; lambda u: (v := u)", ()),
])
def test_the_names_an_input_binds_at_its_top_level(source, names):
    assert compile_split(source).bound_names == names
