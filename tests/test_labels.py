"""Function jobs are labelled with their call (issue 12): ``jobs.new(time.sleep, 5)``
is ``time.sleep(5)`` in listings and announcements; the label is made when first
shown, in whatever thread asks, so it must bound its cost and never run the arguments' code.
"""

from __future__ import annotations

import functools
import os

from bgshell.engine.calllabel import call_label
from shellkit import run, settle, shell  # noqa: F401  (shell: the fixture)


def test_function_job_labels_as_typed_at_the_prompt(shell, capsys):
    run(shell, capsys, "import time, functools, threading",
        "def f(a, b, x=0):\n    return a\n",
        "class Hostile:\n    def __repr__(self):\n        raise SystemExit('repr called')\n")
    cases = {
        "jobs.new(time.sleep, 0)": "time.sleep(0)",
        "jobs.new(f, 1, 'a', kw=dict(x=2))": "f(1, 'a', x=2)",
        "jobs.new(f, Hostile(), [1, 2, 3, 4, 5, 6], kw=dict(x='y' * 100))":
            "f(<Hostile>, [1, 2, 3, 4, ...], x='yyyyyyyyyyyyyyyyyyyyyyyy...')",
        "jobs.new(functools.partial(f, 1), None)": "f(1, None)",
        "jobs.new(lambda: 1)": "<lambda>()",
        "jobs.new(threading.Event().wait, 0)": "Event.wait(0)",
        "jobs.new(dict, kw=dict(a=(1,)))": "dict(a=(1,))",
    }
    for typed, label in cases.items():
        run(shell, capsys, f"_ = {typed}")
        assert str(shell.jobs.newest) == label, typed
    settle(shell)
    out, _ = run(shell, capsys, "jobs")
    assert "  time.sleep(0)\n" in out and "  f(1, 'a', x=2)\n" in out


def test_call_labels_bound_their_cost_and_never_call_user_code():
    called = []

    class Loud:
        def __repr__(self):
            called.append("repr")
            return "loud"

        def __str__(self):
            called.append("str")
            return "loud"

    def inner(*args, **kwargs):
        return None

    assert call_label(inner, (Loud(), 10 ** 200, 2 ** 20, 1.5, b"xy", {"k": {1, 2}}), {}) == \
        "inner(<Loud>, <int>, 1048576, 1.5, b'xy', {'k': {1, 2}})"
    assert called == []
    assert call_label(inner, (list(range(10 ** 6)),), {}) == "inner([0, 1, 2, 3, ...])"
    assert call_label(inner, tuple(range(100)), {}).endswith(", ...)")
    assert len(call_label(inner, tuple(range(100)), {})) < 150
    assert call_label(len, ("ab",), {}) == "len('ab')"  # builtins: no module
    assert call_label(os.path.join, ("a",), {}) == f"{os.path.__name__}.join('a')"


def test_a_callable_object_keeps_its_str_label():
    class Greeter:
        def __call__(self):
            return "hi"

        def __str__(self):
            return "greeter"

    assert call_label(Greeter(), (1,), {}) == "greeter"
    assert call_label(functools.partial(Greeter()), (), {}) == "greeter"


def test_a_name_that_raises_is_never_asked_for():
    class NoName(type):
        @property
        def __name__(cls):
            raise SystemExit("no")

        @property
        def __module__(cls):
            raise SystemExit("no")

    class Thing(metaclass=NoName):
        pass

    assert call_label(Thing, (1,), {}) == "Thing(1)"


def test_a_function_jobs_label_is_made_only_when_shown(monkeypatch):
    """Labelling costs about as much as the rest of new(); most jobs of a burst are
    never shown, so none of them should pay for it (a hasattr() check once did)."""
    from bgshell.engine import jobtypes
    from bgshell.engine.manager import BackgroundJobManager

    made = []
    monkeypatch.setattr(jobtypes, "call_label", lambda *call: made.append(call) or "labelled")
    manager = BackgroundJobManager()
    job = manager.new(divmod, 7, 2)
    job.join()
    assert job.result == (3, 1) and made == []
    assert str(job) == "labelled" and str(job) == "labelled"
    assert made == [(divmod, (7, 2), {})]


def test_a_label_that_runs_user_code_is_made_at_new_where_ctrl_c_reaches_it():
    """A callable object's str() may hang: made later, it would hang whatever shows the
    job (an announcement, `jobs`); made in new(), the user's Ctrl-C stops it there."""
    from bgshell.engine.calllabel import label_runs_user_code
    from bgshell.engine.manager import BackgroundJobManager

    class Interrupting:
        def __call__(self):
            return 1

        def __str__(self):
            raise KeyboardInterrupt

    assert not label_runs_user_code(os.path.join)
    assert not label_runs_user_code(functools.partial(functools.partial(os.path.join, "a"), "b"))
    assert label_runs_user_code(Interrupting())
    assert label_runs_user_code(functools.partial(Interrupting()))
    manager = BackgroundJobManager()
    try:
        manager.new(Interrupting())
    except KeyboardInterrupt:
        pass
    else:
        raise AssertionError("new() did not run the callable's str()")
