"""Differential tests (issue 10): bgshell keeps the contract of ``python3`` itself.

The same input goes to ``python3`` (``sys.executable``: the Python running the
suite, 3.11, 3.12 or 3.13) and to the ``bgshell`` installed next to it:

* ``pipe``: standard input piped to ``python3 -i`` and to ``bgshell``;
* ``c``: ``python3 -c CODE ARGS`` and ``bgshell -c CODE ARGS``;
* ``file``: ``python3 FILE ARGS`` and ``bgshell FILE ARGS`` (the file in a temporary
  directory, with sibling modules to import);
* ``m``: ``python3 -m MODULE ARGS`` and ``bgshell -m MODULE ARGS``;

with the interpreter options ``-q -u -E -s -I`` where they mean something without
a terminal.  Standard output must be identical, standard error identical after
``normalise`` (below), and the exit status identical but for D1.  Python's own
noise on a pipe (banner, ``>>> `` prompts, the newline at the end of input) is
removed first (``differential.strip_python_prompts``).

What differs on purpose is in ``DELIBERATE_DIFFERENCES``; ``normalise`` and the
choice of inputs account for exactly those.  Anything else that differs is a bug
in bgshell, and the test fails on it.  The cases are written in the language both
understand: no line starts with a bgshell builtin's name or ends in ``&``; on a
pipe every block ends with an empty line and has none inside (D4); in ``-c`` and
FILE only the last input may fail (D5).

The catalogue (about 150 hand-written cases) runs in parallel: a small thread
pool, one process per side and case, started when the module's first case asks
for its result (only the selected cases run under ``-k``).  Two hypothesis tests
add generated sequences of simple statements, piped and as a FILE (derandomized,
so every run tries the same examples).  Nothing sleeps: every run waits for its
process to end.  The module costs about 20 s of CPU (some 400 interpreter
starts), 10-15 s of wall time on two idle cores.

Reading a failure: the assertion shows what python3 printed (normalised); the
diff below it is bgshell's output against that.  ``python3 -i`` is the reference
even where it surprises (``1; 2`` shows both values, values inside a top-level
``for``/``if``/``with`` block are shown, ``from __future__ import annotations``
stays in force for later inputs): a user who pipes code into it relies on that.
"""

from __future__ import annotations

import os
import re
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from differential import BGSHELL, PYTHON, Case, Result, run_side

pytestmark = pytest.mark.skipif(BGSHELL is None, reason="bgshell is not installed in this venv")

PY313 = sys.version_info >= (3, 13)

#: What bgshell does differently from python3 on purpose, and why.  The keys are
#: referred to in ``normalise``, ``expected`` and the cases.
DELIBERATE_DIFFERENCES = {
    "D1 exit status after a failed input": (
        "python3 -i exits 0 at the end of its input whatever failed; bgshell exits 1 "
        "if any input failed (man page, NON-INTERACTIVE USE), so that a pipe or a "
        "script run by bgshell can be checked with $?.  An explicit exit(N) wins on "
        "both."
    ),
    "D2 names of piped input": (
        "python3 -i compiles every piped input as <stdin>, numbered from line 1; "
        "bgshell does the same with a name of its own per input, <python-input-N> as "
        "python 3.13's REPL does, under which it keeps the source in linecache "
        "(issue 10).  normalise() reads every such name as <stdin>.  A consequence: a "
        "warning raised at top level by two inputs is one place for python (<stdin> "
        "line 1 both times) and two for bgshell, so the cases warn from one place."
    ),
    "D3 source of piped and -c input on 3.11/3.12": (
        "bgshell keeps the source of each input in linecache on every version, as "
        "python 3.13 does (issue 10: inspect.getsource, tracebacks and warnings show "
        "typed code).  python 3.11/3.12 cannot show those lines, so on those versions "
        "normalise() drops the source and marker lines under <stdin>/<string> frames "
        "and warnings, and getsource cases expect 3.13's output."
    ),
    "D4 blocks in piped input": (
        "bgshell cuts piped input with a script's rules: a block goes on through "
        "empty lines and ends at the next line at column 0 (man page); python3 -i "
        "ends a block at the first empty line and rejects a dedented line that "
        "follows a block without one.  Piped cases end each block with one empty "
        "line and have none inside it, which both read alike."
    ),
    "D5 -c and FILE run input by input": (
        "bgshell runs CODE and FILE as a sequence of inputs in its own language "
        "(& jobs, builtins): an error is reported and the inputs after it still run "
        "(man page, NON-INTERACTIVE USE); python3 compiles the whole text first and "
        "stops at the first error.  Cases fail, if at all, in their last input."
    ),
    "D6 recursion headroom": (
        "bgshell's own frames under the user's code (about ten) count against "
        "sys.getrecursionlimit(), so RecursionError comes that much earlier; once a "
        "job has run, bgshell keeps 50 frames of its own above the limit the user "
        "sets or reads (a job lowering it cannot break the prompt: engine/sysguard.py), "
        "and it comes about 40 frames later.  normalise() masks the count in "
        "'[Previous line repeated N more times]'."
    ),
    "D7 bgshell's own names": (
        "the name jobs is bound in __main__ to the session's job manager (man page); "
        "cases that list globals() leave it out."
    ),
    "D9 -m tracebacks": (
        "python3 -m runs the module through runpy, whose frames ('File \"<frozen "
        "runpy>\"') head the traceback of an error in it; bgshell runs the module's "
        "code itself and shows only the user's frames, as it does everywhere.  "
        "normalise() drops runpy's frame lines."
    ),
    "D10 PYTHONSTARTUP on a pipe": (
        "python3 -i runs the startup file for piped input too; bgshell runs it only "
        "for a session at a terminal (man page, ENVIRONMENT): a pipe is a program's "
        "input, and the startup file is the user's own set-up "
        "(tests/test_security.py).  No case sets PYTHONSTARTUP."
    ),
    "D8 input() on a piped session": (
        "python3 -i reads its inputs through C stdio, which buffers the pipe, so "
        "input() called by the code finds nothing left (EOFError) and the answer is "
        "then run as code; with -u (unbuffered C stdin) input() gets the next line.  "
        "bgshell gives input() the next line with or without -u; the case runs "
        "both with -u."
    ),
}

# ----------------------------------------------------------------------- normalise
#: Names bgshell may give piped input (D2): python's own, 3.13's linecache keys, or
#: a per-input name.
_STDIN_NAME = r"(?:<stdin>(?:-\d+)?|<stdin-\d+>|<python-input-\d+>|<input-\d+>)"
_STDIN_NAME_RE = re.compile(_STDIN_NAME)
_RECURSION = re.compile(r"\[Previous line repeated \d+ more times\]")
_RUNPY_FRAME = re.compile(r'^ *File "<frozen runpy>", line \d+, in \w+\n', re.MULTILINE)
_FRAME = re.compile(r'^(?P<indent>[ |]*)File "(?:<stdin>|<string>)", line \S+, in ')
_WARNING = re.compile(r"^(?:<stdin>|<string>):\S+: \w+: ")
_PROGRAM = re.compile(
    r"^(?:" + re.escape(PYTHON) + "|" + re.escape(BGSHELL or "bgshell") + r"|bgshell): ",
    re.MULTILINE,
)


def normalise(text: str) -> str:
    """*text* (either side's stdout or stderr) with only what must differ made equal.

    1. The program's name at the start of a line (``/venv/bin/python3: can't open
       file ...`` vs ``bgshell: ...``) reads ``<PROG>: ``.
    2. D2: a piped input's name reads ``<stdin>``, in tracebacks, in
       ``str(SyntaxError)``, in warnings and in pdb; its line numbers are kept.
    3. D3, on 3.11/3.12 only: lines of source and their ``^``/``~`` markers under
       a frame of ``<stdin>``/``<string>``, and the source line under such a
       warning, are dropped.
    4. D6: the count in ``[Previous line repeated N more times]`` reads ``N``.
    5. D9: runpy's frames (``File "<frozen runpy>"``) are dropped.

    (The directory each side ran in already reads ``<DIR>``, and python's prompts
    are gone: see ``differential``.)
    """
    text = _PROGRAM.sub("<PROG>: ", text)
    text = _STDIN_NAME_RE.sub("<stdin>", text)
    text = _RECURSION.sub("[Previous line repeated N more times]", text)
    text = _RUNPY_FRAME.sub("", text)
    if not PY313:
        text = _drop_in_memory_source(text)
    return text


def _drop_in_memory_source(text: str) -> str:
    kept: list[str] = []
    dropping: str | None = None  # the indent of source lines being dropped
    for line in text.splitlines(keepends=True):
        if dropping is not None and line.startswith(dropping) and not _FRAME.match(line):
            continue
        dropping = None
        frame = _FRAME.match(line)
        if frame:
            dropping = frame["indent"] + "  "
        elif _WARNING.match(line):
            dropping = "  "
        kept.append(line)
    return "".join(kept)


_FAILURE = re.compile(
    r"Traceback \(most recent call last\):$"  # an exception (also in a group)
    r'|^  File "<stdin>", line \d+$',  # a compile error of piped input
    re.MULTILINE,
)


def expected(case: Case, python: Result) -> Result:
    """What bgshell must print and return, from what python3 did (normalised)."""
    if case.stdout_as_on_313 is not None and not PY313:  # D3
        return Result(case.stdout_as_on_313, "", 0)
    out, err, status = normalise(python.stdout), normalise(python.stderr), python.status
    if case.python_interactive and status == 0 and not case.explicit_exit:  # D1
        failed = case.failed if case.failed is not None else bool(_FAILURE.search(err + out))
        status = 1 if failed else 0
    return Result(out, err, status)


def compare(case: Case, python: Result, bgshell: Result) -> None:
    want = expected(case, python)
    got = Result(normalise(bgshell.stdout), normalise(bgshell.stderr), bgshell.status)
    if case.stdout_as_on_313 is not None and PY313:
        assert python.stdout == case.stdout_as_on_313, "python3 itself no longer prints stdout_as_on_313"
    context = f"case {case.name} ({case.mode}); python3 printed:\n--- stdout\n{want.stdout}--- stderr\n{want.stderr}"
    assert got.stdout == want.stdout, f"stdout differs; {context}"
    assert got.stderr == want.stderr, f"stderr differs; {context}"
    assert got.status == want.status, f"exit status differs; {context}"


# ------------------------------------------------------------------------ the cases
def pipe(name: str, source: str, **kw) -> Case:
    return Case(name, "pipe", source, **kw)


def c(name: str, code: str, **kw) -> Case:
    return Case(name, "c", code, **kw)


def file(name: str, source: str, **kw) -> Case:
    return Case(name, "file", source, **kw)


def module(name: str, module_name: str, **kw) -> Case:
    return Case(name, "m", module_name, **kw)


HELPER = {"helper.py": "VALUE = 42\nWHERE = 'cwd'\n"}
PYTHONPATH_ENV = {"PYTHONPATH": "@DIR@/extra"}
PYTHONPATH_FILES = {"extra/ppmod.py": "WHERE = 'from PYTHONPATH'\n"}
PATH_REPORT = "import os, sys\nprint(sys.path)\nprint(os.path.dirname(sys.executable) in sys.path)\n"
GETSOURCE_OUT = "def f(x):\n    return x + 1\n"

PIPE_CASES = [
    # -- sys.path, sys.argv, __main__ ------------------------------------------------
    pipe("pipe-sys-path", PATH_REPORT),
    pipe("pipe-venv-bin-not-on-path",
         "import os, sys\n"
         "bindir = os.path.dirname(sys.executable)\n"
         "[p for p in sys.path if os.path.abspath(p or os.curdir) == bindir]\n"),
    pipe("pipe-import-sibling-from-cwd", "import helper\nhelper.VALUE, helper.__file__\n", files=HELPER),
    pipe("pipe-import-package-from-cwd",
         "from pkg import mod\nmod.twice(21)\nmod.__name__, mod.__package__\n",
         files={"pkg/__init__.py": "", "pkg/mod.py": "def twice(x):\n    return 2 * x\n"}),
    pipe("pipe-argv", "import sys\nsys.argv\n"),
    pipe("pipe-empty-path-entry-follows-chdir",  # '' is the current directory at import time
         "import os\nos.chdir('sub')\nimport late\nlate.WHERE\n", files={"sub/late.py": "WHERE = 'sub'\n"}),
    pipe("pipe-main-globals", "print(sorted(k for k in globals() if k != 'jobs'))\n"),  # D7
    pipe("pipe-main-dunders",
         "print(__name__, __doc__, __package__, __spec__)\n"
         "__loader__\n"
         "'__file__' in globals(), type(__builtins__).__name__\n"
         "import __main__, sys\n"
         "__main__.__dict__ is globals(), sys.modules['__main__'] is __main__\n"),
    pipe("pipe-pythonpath-honoured", "import ppmod\nppmod.WHERE\n", env=PYTHONPATH_ENV, files=PYTHONPATH_FILES),
    # -- the language ---------------------------------------------------------------
    pipe("pipe-multi-line-string",
         's = """first\n  second\n\nfourth"""\ns\nprint(s)\nlen(s.splitlines())\n'),
    pipe("pipe-decorators",
         "import functools\n"
         "def shout(func):\n"
         "    @functools.wraps(func)\n"
         "    def wrapper(*args):\n"
         "        return func(*args).upper() + '!'\n"
         "    return wrapper\n"
         "\n"
         "@shout\n"
         "def greet(name):\n"
         "    return 'hello ' + name\n"
         "\n"
         "greet('bob')\n"
         "greet.__name__, greet.__module__, greet.__qualname__\n"),
    pipe("pipe-class",
         "class Point:\n"
         "    def __init__(self, x, y):\n"
         "        self.x, self.y = x, y\n"
         "    def __repr__(self):\n"
         "        return f'Point({self.x}, {self.y})'\n"
         "    @property\n"
         "    def norm1(self):\n"
         "        return abs(self.x) + abs(self.y)\n"
         "    @classmethod\n"
         "    def origin(cls):\n"
         "        return cls(0, 0)\n"
         "\n"
         "Point(3, -4)\n"
         "Point(3, -4).norm1\n"
         "Point.origin()\n"
         "Point.__module__, Point.__qualname__\n"
         "import pickle\n"
         "pickle.loads(pickle.dumps(Point(1, 2)))\n"),
    pipe("pipe-nested-functions",
         "def counter():\n"
         "    count = 0\n"
         "    def step():\n"
         "        nonlocal count\n"
         "        count += 1\n"
         "        return count\n"
         "    return step\n"
         "\n"
         "tick = counter()\n"
         "tick(), tick(), tick()\n"
         "total = 0\n"
         "def add(n):\n"
         "    global total\n"
         "    total += n\n"
         "\n"
         "add(5); add(6)\n"
         "total\n"),
    pipe("pipe-comments-and-empty-lines", "# a comment\n\n   \nx = 1  # trailing\n# another\nx\n\n\n"),
    pipe("pipe-line-continuations", "x = 1 + \\\n    2\nx\ny = [\n    1,\n\n    2,\n]\ny\n"),
    pipe("pipe-walrus-fstring", "(n := 10) * 2\nn\nf'{n=} {n!r:>5}'\n"),
    pipe("pipe-match",
         "def describe(value):\n"
         "    match value:\n"
         "        case [x, y]:\n"
         "            return f'pair {x} {y}'\n"
         "        case {'k': v}:\n"
         "            return f'mapping {v}'\n"
         "        case _:\n"
         "            return 'other'\n"
         "\n"
         "describe([1, 2]), describe({'k': 3}), describe(5)\n"),
    pipe("pipe-generators", "g = (i * i for i in range(4))\nnext(g)\nlist(g)\nnext(g)\nprint('after')\n"),
    pipe("pipe-blocks",
         "x = 5\n"
         "if x > 10:\n"
         "    print('big')\n"
         "elif x > 3:\n"
         "    print('medium')\n"
         "else:\n"
         "    print('small')\n"
         "\n"
         "for i in range(3):\n"
         "    print('for', i)\n"
         "else:\n"
         "    print('for done')\n"
         "\n"
         "while x:\n"
         "    x -= 2\n"
         "    if x < 2:\n"
         "        break\n"
         "\n"
         "x\n"
         "try:\n"
         "    1 / 0\n"
         "except ZeroDivisionError as exc:\n"
         "    print('caught', exc)\n"
         "else:\n"
         "    print('no error')\n"
         "finally:\n"
         "    print('finally')\n"
         "\n"
         "import io\n"
         "with io.StringIO('text') as handle:\n"
         "    handle.read()\n"
         "\n"),
    pipe("pipe-def-then-call", "def f():\n    return 'called'\n\nf()\n"),
    pipe("pipe-tab-indented-block", "if True:\n\tx = 'tab'\n\tprint(x)\n\n"),
    pipe("pipe-annotations-evaluated", "def f(x: int) -> str: pass\n\nf.__annotations__\n"),
    pipe("pipe-semicolons-show-every-value", "1; 2\nx = 3; x\n"),
    pipe("pipe-values-inside-top-level-blocks", "for i in range(3): i\n\nif True:\n    'shown'\n\n"),
    pipe("pipe-values-inside-functions-not-shown", "def f():\n    'not shown'\n    return 5\n\nf()\n"),
    pipe("pipe-future-annotations-carry-on",  # python3 -i keeps future flags for later inputs
         "from __future__ import annotations\n"
         "def f(x: int) -> str: pass\n"
         "\n"
         "f.__annotations__\n"),
    pipe("pipe-future-import-alone", "import __future__\ndef g(x: int): pass\n\ng.__annotations__\n"),
    pipe("pipe-del-and-reassign-builtins",
         "len = lambda x: 42\n"
         "len([1, 2])\n"
         "del len\n"
         "len([1, 2])\n"
         "import builtins\n"
         "saved = builtins.abs\n"
         "builtins.abs = lambda x: 'patched'\n"
         "abs(-1)\n"
         "builtins.abs = saved\n"
         "abs(-1)\n"
         "del len\n"),
    pipe("pipe-unicode",
         "print('héllo wörld → 世界 🐍')\n'naïve ☃'\n'\\u00e9\\t'\nprint('\\U0001F40D', 'ÿ' * 3)\n"),
    pipe("pipe-very-long-lines", "print('x' * 100000)\n'y' * 150000\nlen(str(list(range(20000))))\n"),
    pipe("pipe-print-end", "print('a', end='')\nprint('b', end='')\nprint()\nprint('c', 'd', sep='-', end='!\\n')\n"),
    pipe("pipe-print-to-stderr",
         "import sys\nprint('to stderr', file=sys.stderr)\nsys.stderr.write('written\\n')\nprint('to stdout')\n"),
    pipe("pipe-stdout-replaced",
         "import io, sys\n"
         "buf = io.StringIO()\n"
         "sys.stdout = buf\n"
         "6 * 7\n"
         "print('printed')\n"
         "sys.stdout = sys.__stdout__\n"
         "print(repr(buf.getvalue()))\n"),
    pipe("pipe-input-reads-the-next-line", "print('got', repr(input('name? ')))\nAlice\n", options=("-u",)),  # D8
    pipe("pipe-asyncio-run",
         "import asyncio\n"
         "async def double(x):\n"
         "    await asyncio.sleep(0)\n"
         "    return 2 * x\n"
         "\n"
         "asyncio.run(double(21))\n"
         "async def both():\n"
         "    return await asyncio.gather(double(1), double(2))\n"
         "\n"
         "asyncio.run(both())\n"),
    pipe("pipe-repr-of-exit", "print(repr(exit), repr(quit))\n"),
    # -- values: _, sys.displayhook --------------------------------------------------
    pipe("pipe-underscore", "6 * 7\n_\n_ + 1\nNone\n_\nprint('x')\n_\n"),
    pipe("pipe-underscore-lives-in-builtins",
         "import builtins\n6 * 7\nprint(builtins._, '_' in globals())\n"),
    pipe("pipe-underscore-assigned-by-the-user", "_ = 'mine'\n6 * 7\n_\n"),
    pipe("pipe-displayhook-replaced",
         "import sys\n"
         "def hook(value):\n"
         "    print('HOOK', repr(value))\n"
         "\n"
         "sys.displayhook = hook\n"
         "1 + 1\n"
         "None\n"
         "'text'\n"),
    pipe("pipe-displayhook-restored",
         "import sys\nsys.displayhook = lambda v: print('LAMBDA', v)\n7\nsys.displayhook = sys.__displayhook__\n8\n"),
    # -- errors: tracebacks, sys.excepthook, sys.last_* --------------------------------
    pipe("pipe-raise-from",
         "def load():\n"
         "    try:\n"
         "        {}['key']\n"
         "    except KeyError as exc:\n"
         "        raise ValueError('bad config') from exc\n"
         "\n"
         "load()\n"
         "print('after')\n"),
    pipe("pipe-during-handling",
         "try:\n    1/0\nexcept ZeroDivisionError:\n    undefined_name\n\nprint('after')\n"),
    pipe("pipe-from-none",
         "try:\n    int('x')\nexcept ValueError:\n    raise RuntimeError('clean') from None\n\n"),
    pipe("pipe-notes-and-groups",
         "try:\n"
         "    raise ValueError('with a note')\n"
         "except ValueError as exc:\n"
         "    exc.add_note('a note')\n"
         "    raise\n"
         "\n"
         "raise ExceptionGroup('several', [ValueError('one'), TypeError('two')])\n"),
    pipe("pipe-syntax-error-carets", "x = [1, 2 3]\n1 +)\ndef = 3\nprint('after')\n"),
    pipe("pipe-indentation-error",  # first, so that "on line 1" is line 1 of the stream too
         "if True:\nprint(1)\n\nprint('after')\n"),
    pipe("pipe-unexpected-indent", "  x = 1\nprint('after')\n"),
    pipe("pipe-name-error-suggestions", "value = 1\nvalu\nimport math\nmath.pii\nundefined_name\n"),
    pipe("pipe-traceback-through-functions",
         "def inner(d):\n"
         "    return d['a'] + d['b']\n"
         "\n"
         "def outer():\n"
         "    return inner({'a': 1})\n"
         "\n"
         "outer()\n"),
    pipe("pipe-markers", "a, b = 1, 0\na / b\nitems = [1, 2]\nitems[0] + items[5]\n"),
    pipe("pipe-recursion-error", "def r(n):\n    return r(n + 1)\n\nr(0)\nprint('survived')\n"),
    pipe("pipe-keyboard-interrupt-raised-by-code",
         "raise KeyboardInterrupt\n"
         "print('after')\n"
         "def f():\n"
         "    raise KeyboardInterrupt('from f')\n"
         "\n"
         "f()\n"
         "print('still here')\n"),
    pipe("pipe-last-exc",
         "import sys\n"
         "hasattr(sys, 'last_type'), hasattr(sys, 'last_value'), hasattr(sys, 'last_traceback')\n"
         "1/0\n"
         "sys.last_type.__name__, repr(sys.last_value), type(sys.last_traceback).__name__\n"
         "getattr(sys, 'last_exc', sys.last_value) is sys.last_value\n"
         "sys.last_traceback.tb_frame.f_code.co_name\n"
         "1 +)\n"
         "sys.last_type.__name__, sys.last_traceback\n"),
    pipe("pipe-excepthook-replaced",
         "import sys\n"
         "def hook(kind, value, tb):\n"
         "    print('HOOK', kind.__name__, value)\n"
         "\n"
         "sys.excepthook = hook\n"
         "1/0\n"
         "1 +)\n"
         "print('after')\n",
         failed=True),
    pipe("pipe-excepthook-traceback-module",
         "import sys, traceback\n"
         "def hook(kind, value, tb):\n"
         "    print('custom:', file=sys.stderr)\n"
         "    traceback.print_exception(kind, value, tb)\n"
         "\n"
         "sys.excepthook = hook\n"
         "def f():\n"
         "    return [][0]\n"
         "\n"
         "f()\n"),
    pipe("pipe-ps1-ps2", "import sys\nprint(repr(sys.ps1), repr(sys.ps2))\n"),
    pipe("pipe-getsource",
         "def f(x):\n    return x + 1\n\nimport inspect\nprint(inspect.getsource(f), end='')\n",
         stdout_as_on_313=GETSOURCE_OUT),
    pipe("pipe-warnings",
         "import warnings\n"
         "warnings.warn('top level')\n"
         "def f():\n"
         "    warnings.warn('in a function')\n"
         "\n"
         "f()\n"
         "f()\n"
         "def old():\n"
         "    warnings.warn('old', DeprecationWarning, stacklevel=2)\n"
         "\n"
         "old()\n"),
    pipe("pipe-atexit", "import atexit\natexit.register(print, 'bye from atexit')\nprint('main')\n"),
    # -- leaving ---------------------------------------------------------------------
    pipe("pipe-exit-n", "print('before')\nexit(3)\nprint('never')\n", explicit_exit=True),
    pipe("pipe-sys-exit-message", "import sys\nsys.exit('bye')\nprint('never')\n", explicit_exit=True),
    pipe("pipe-sys-exit-in-the-middle", "print(1)\nimport sys\nsys.exit()\nprint('never')\n", explicit_exit=True),
    pipe("pipe-exit-0-after-a-failure", "1/0\nexit(0)\nprint('never')\n", explicit_exit=True),
    pipe("pipe-exit-in-finally",
         "import sys\ntry:\n    sys.exit(4)\nfinally:\n    print('cleanup')\n\nprint('never')\n",
         explicit_exit=True),
    pipe("pipe-raise-system-exit", "raise SystemExit(2)\n", explicit_exit=True),
    pipe("pipe-exit-out-of-range", "exit(257)\n", explicit_exit=True),
    pipe("pipe-exit-with-an-object", "import sys\nsys.exit([1, 'two'])\n", explicit_exit=True),
    pipe("pipe-empty-input", ""),
    pipe("pipe-only-empty-lines-and-comments", "\n\n# nothing\n\n"),
    # -- options --------------------------------------------------------------------
    pipe("pipe-bgshell-dash-i", "x = 2\nx ** 10\n", bgshell_dash_i=True),
    pipe("pipe-q", "6 * 7\n", options=("-q",)),
    pipe("pipe-u-orders-stdout-and-stderr",
         "import sys\nprint('out 1')\nprint('err 1', file=sys.stderr)\nprint('out 2')\n",
         options=("-u",), merge=True),
    pipe("pipe-E-ignores-pythonpath",
         "import sys\n[p for p in sys.path if p.endswith('extra')]\nimport ppmod\n",
         options=("-E",), env=PYTHONPATH_ENV, files=PYTHONPATH_FILES),
    pipe("pipe-s", "import site, sys\nsys.path\nsite.ENABLE_USER_SITE\n", options=("-s",)),
    pipe("pipe-I",
         "import sys\nsys.path\n[p for p in sys.path if p.endswith('extra')]\nimport helper\n",
         options=("-I",), env=PYTHONPATH_ENV, files={**HELPER, **PYTHONPATH_FILES}),
]

C_CASES = [
    c("c-sys-path", PATH_REPORT, args=("a",)),
    c("c-argv", "import sys\nprint(sys.argv)", args=("a", "-b", "--c=1", "", "-i")),
    c("c-main-globals", "print(sorted(k for k in globals() if k != 'jobs'))"),  # D7
    c("c-main-dunders",
      "print(__name__, __doc__, __package__, __spec__, __loader__, '__file__' in globals())"),
    c("c-import-sibling-from-cwd", "import helper\nprint(helper.VALUE, helper.__file__)", files=HELPER),
    c("c-blocks-with-empty-lines",
      "def f(a):\n    b = a + 1\n\n    return b * 2\n\nclass C:\n    x = 1\n\n    def m(self):\n"
      "        return self.x\n\nfor i in range(2):\n\n    print(i, f(i), C().m())"),
    c("c-expression-statements-not-shown", "1 + 1\n'not shown either'\nprint('only this')"),
    c("c-traceback", "def f():\n    return 1/0\n\nf()"),
    c("c-markers", "d = {'a': 1}\nprint(d['a'] + d['b'])"),
    c("c-syntax-error", "x = [1, 2 3]"),
    c("c-exit-status", "import sys; sys.exit(5)"),
    c("c-sys-exit-message", "import sys; sys.exit('bye')"),
    c("c-keyboard-interrupt", "print('before', flush=True)\nraise KeyboardInterrupt"),
    c("c-recursion-error", "def r(n):\n    return r(n + 1)\nr(0)"),
    c("c-input-from-stdin", "a = input('a? ')\nb = input('b? ')\nprint(a, b)", stdin="first\nsecond\n"),
    c("c-dash-i", "x = 5", interactive=True, stdin="print(x * 2)\nx\nimport sys\nsys.argv\n"),
    c("c-warnings",
      "import warnings\nwarnings.warn('c warning')\ndef f():\n    warnings.warn('in f')\nf(); f()"),
    c("c-annotations-evaluated", "def f(x: int): pass\nprint(f.__annotations__)"),
    c("c-empty-path-entry-follows-chdir",
      "import os\nos.chdir('sub')\nimport late\nprint(late.WHERE)", files={"sub/late.py": "WHERE = 'sub'\n"}),
    c("c-empty", ""),
    c("c-future-annotations", "from __future__ import annotations\ndef f(x: int): pass\nprint(f.__annotations__)"),
    c("c-getsource",
      "import inspect\ndef f(x):\n    return x + 1\nprint(inspect.getsource(f), end='')",
      stdout_as_on_313=GETSOURCE_OUT),
    c("c-asyncio-run",
      "import asyncio\nasync def main():\n    await asyncio.sleep(0)\n    return 'done'\nprint(asyncio.run(main()))"),
    c("c-u-orders-stdout-and-stderr",
      "import sys\nprint('out 1')\nprint('err 1', file=sys.stderr)\nprint('out 2')",
      options=("-u",), merge=True),
    c("c-E-ignores-pythonpath",
      "import sys\nprint([p for p in sys.path if p.endswith('extra')])\nimport ppmod",
      options=("-E",), env=PYTHONPATH_ENV, files=PYTHONPATH_FILES),
    c("c-s", "import site, sys\nprint(sys.path, site.ENABLE_USER_SITE)", options=("-s",)),
    c("c-I", "import sys\nprint(sys.path)\nimport helper", options=("-I",), files=HELPER),
    c("c-q", "print('quiet')", options=("-q",)),
]

SUB_HELPER = {**HELPER, "sub/helper.py": "VALUE = 43\nWHERE = 'script dir'\n"}

FILE_CASES = [
    file("file-sys-path", PATH_REPORT, script="sub/main.py"),
    file("file-imports-from-the-script-dir-not-cwd",
         "import helper\nprint(helper.WHERE, helper.__file__)\n", script="sub/main.py", files=SUB_HELPER),
    file("file-argv", "import sys\nprint(sys.argv)\n", args=("one", "--two", "-3", "")),
    file("file-relative-path", "import sys\nprint(sys.argv[0], __file__, sys.path[0])\n",
         script="sub/main.py", cwd="."),
    file("file-absolute-path", "import sys\nprint(sys.argv[0] == __file__, sys.path[0])\n",
         script="@DIR@/main.py"),
    file("file-main-globals", "print(sorted(k for k in globals() if k != 'jobs'))\n"),  # D7
    file("file-main-dunders",
         "import __main__, sys\n"
         "print(__name__, __file__, __spec__, __package__, __cached__)\n"
         "print(type(__loader__).__name__, __loader__.name, __loader__.path)\n"
         "print(__main__.__file__ == __file__, sys.modules['__main__'] is __main__)\n"),
    file("file-docstring", '"""The module\'s docstring."""\nprint(repr(__doc__))\n'),
    file("file-expression-statements-not-shown",
         "def main():\n    return 0\n\nmain()\n[1, 2]\n'text'\nprint('only this')\n"),
    file("file-blocks-with-empty-lines",
         "x = 3\n"
         "if x:\n"
         "    print('if')\n"
         "\n"
         "    print('still if')\n"
         "for i in range(2):\n"
         "\n"
         "    print('for', i)\n"
         "while x:\n"
         "    x -= 1\n"
         "\n"
         "    print('while', x)\n"
         "try:\n"
         "    print('try')\n"
         "\n"
         "except Exception:\n"
         "    pass\n"
         "\n"
         "finally:\n"
         "    print('finally')\n"
         "def f():\n"
         "\n"
         "    return 'f'\n"
         "\n"
         "\n"
         "print(f())\n"),
    file("file-decorators-and-classes",
         "import functools\n"
         "def logged(func):\n"
         "    @functools.wraps(func)\n"
         "    def wrapper(*args, **kwargs):\n"
         "        print('calling', func.__name__)\n"
         "        return func(*args, **kwargs)\n"
         "    return wrapper\n"
         "\n"
         "class Box:\n"
         "    @logged\n"
         "    def area(self, w, h):\n"
         "        return w * h\n"
         "\n"
         "    @staticmethod\n"
         "    def unit():\n"
         "        return Box()\n"
         "\n"
         "print(Box.unit().area(3, 4), Box.__module__, Box.area.__qualname__)\n"
         "import pickle\n"
         "print(type(pickle.loads(pickle.dumps(Box()))).__name__)\n"),
    file("file-traceback-markers",
         "def inner(items):\n"
         "    return items[0] + items[3]\n"
         "\n"
         "def outer():\n"
         "    return inner([1, 2])\n"
         "\n"
         "outer()\n"),
    file("file-raise-from",
         "def load():\n"
         "    try:\n"
         "        {}['key']\n"
         "    except KeyError as exc:\n"
         "        raise ValueError('bad config') from exc\n"
         "\n"
         "load()\n"),
    file("file-syntax-error", "x = [1, 2 3]\n"),
    file("file-indentation-error", "if True:\nprint('x')\n"),
    file("file-recursion-error", "def r(n):\n    return r(n + 1)\n\nr(0)\n"),
    file("file-warnings-once-with-source",
         "import warnings\n"
         "for i in range(2):\n"
         "    warnings.warn('in a loop')\n"
         "def f():\n"
         "    warnings.warn('in a function')\n"
         "f()\n"
         "f()\n"),
    file("file-getsource", "import inspect\ndef f(x):\n    return x + 1\nprint(inspect.getsource(f), end='')\n"),
    file("file-future-annotations",
         "from __future__ import annotations\n"
         "def f(x: int) -> str: pass\n"
         "print(f.__annotations__)\n"
         "class C:\n"
         "    y: list[int]\n"
         "print(C.__annotations__)\n"),
    file("file-annotations-evaluated", "def f(x: int): pass\nprint(f.__annotations__)\n"),
    file("file-empty", ""),
    file("file-exit-midway", "print('a')\nimport sys\nsys.exit(3)\nprint('never')\n"),
    file("file-sys-exit-message", "import sys\nsys.exit('bye')\n"),
    file("file-keyboard-interrupt", "print('before', flush=True)\nraise KeyboardInterrupt\n"),
    file("file-input-from-stdin", "print(input('first? '))\nprint(input('second? '))\n", stdin="x\ny\n"),
    file("file-dash-i", "x = 'from file'\nimport sys\n", interactive=True,
         stdin="print(x)\nsys.argv\nsys.path[0]\n", args=("arg",)),
    file("file-dash-i-after-an-error", "print('ran')\n1/0\n", interactive=True,
         stdin="import sys\nprint(sys.last_type.__name__)\n"),
    file("file-missing", "", script="nosuch.py", write_script=False),
    file("file-directory-with-main", "", script="app", write_script=False, args=("z",),
         files={"app/__main__.py": "import sys\nprint('app main', sys.path[0], sys.argv, __file__)\n"}),
    file("file-encoding-declaration", "", write_script=False,
         files={"main.py": b"# -*- coding: latin-1 -*-\nprint('caf\xe9', len('caf\xe9'))\n"}),
    file("file-utf8-bom", "", write_script=False,
         files={"main.py": "\ufeffprint('bom', __doc__)\n".encode("utf-8")}),
    file("file-crlf", "", write_script=False,
         files={"main.py": b"print('a')\r\nif True:\r\n    print('b')\r\n"}),
    file("file-print-end-at-exit", "import sys\nprint('no newline', end='')\nprint('err', end='', file=sys.stderr)\n"),
    file("file-asyncio-run",
         "import asyncio\n"
         "async def main():\n"
         "    await asyncio.sleep(0)\n"
         "    return 'done'\n"
         "\n"
         "print(asyncio.run(main()))\n"),
    file("file-unicode", "# ünïcödé comment\nnaïve = 'café'\nprint(naïve, '→', '🐍')\n"),
    file("file-u-orders-stdout-and-stderr",
         "import sys\nprint('out 1')\nprint('err 1', file=sys.stderr)\nprint('out 2')\n",
         options=("-u",), merge=True),
    file("file-E-ignores-pythonpath",
         "import sys\nprint([p for p in sys.path if p.endswith('extra')])\nimport ppmod\n",
         options=("-E",), env=PYTHONPATH_ENV, files=PYTHONPATH_FILES),
    file("file-I-no-script-dir", "import sys\nprint(sys.path)\nimport helper\n",
         options=("-I",), script="sub/main.py", files=SUB_HELPER),
    file("file-s", "import site, sys\nprint(sys.path, site.ENABLE_USER_SITE)\n", options=("-s",)),
]

TOOL = {
    "tool.py": (
        "import sys\n"
        "print(__name__, __spec__.name, __file__, __package__)\n"
        "print(sys.argv, sys.path[0])\n"
        "X = 7\n"
    ),
}
PKG = {
    "pkg/__init__.py": "",
    "pkg/util.py": "V = 3\n",
    "pkg/__main__.py": (
        "import sys\n"
        "from . import util\n"
        "print(__name__, __spec__.name, __package__, sys.argv, sys.path[0], util.V)\n"
    ),
}

M_CASES = [
    module("m-module", "tool", args=("a", "-b"), files=TOOL),
    module("m-package", "pkg", args=("x",), files=PKG),
    module("m-submodule", "pkg.util", files={**PKG, "pkg/util.py": "V = 3\nprint(__name__, __spec__.name, __package__)\n"}),
    module("m-dash-i", "tool", interactive=True, stdin="X * 2\n__name__\n", files=TOOL),
    module("m-missing", "nosuch"),
    module("m-stdlib-json-tool", "json.tool", stdin='{"b": 1, "a": [1, 2]}\n'),
    module("m-exception", "boom",
           files={"boom.py": "def f():\n    return 1/0\n\nf()\n"}),
    module("m-sys-exit", "leave", files={"leave.py": "import sys\nprint('leaving')\nsys.exit(7)\n"}),
    module("m-I", "tool", options=("-I",), files=TOOL),
]

CASES = PIPE_CASES + C_CASES + FILE_CASES + M_CASES
assert len({case.name for case in CASES}) == len(CASES), "case names must be unique"


# ------------------------------------------------------------------- running them
#: Processes run at once: each is mostly interpreter start-up, so twice the cores
#: keeps them busy.
WORKERS = min(8, 2 * (os.cpu_count() or 2))


@pytest.fixture(scope="module")
def outcomes(request, tmp_path_factory):
    """Both sides of every selected case, started at once on a thread pool."""
    selected = [
        item.callspec.params["case"]
        for item in request.session.items
        if item.module is request.module and "case" in getattr(getattr(item, "callspec", None), "params", {})
    ]
    root = tmp_path_factory.mktemp("differential")
    with ThreadPoolExecutor(WORKERS) as pool:
        futures: dict[str, tuple[Future[Result], Future[Result]]] = {
            case.name: (pool.submit(run_side, case, "python", root), pool.submit(run_side, case, "bgshell", root))
            for case in selected
        }
        yield futures
        for python, bgshell in futures.values():
            python.cancel()
            bgshell.cancel()


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_same_as_python3(case, outcomes):
    python, bgshell = (future.result() for future in outcomes[case.name])
    compare(case, python, bgshell)


def test_the_catalogue_is_big_enough():
    assert len(CASES) >= 60
    assert {case.mode for case in CASES} == {"pipe", "c", "file", "m"}


# ------------------------------------------------------- normalise, checked on its own
def test_normalise_reads_piped_input_names_and_program_names_alike():
    text = (
        'Traceback (most recent call last):\n  File "<python-input-3>", line 7, in <module>\n'
        "<python-input-2>:12: UserWarning: x\n"
        "SyntaxError: invalid syntax (<python-input-0>, line 4)\n"
        f"{PYTHON}: can't open file\n"
        "  [Previous line repeated 985 more times]\n"
    )
    out = normalise(text)
    assert 'File "<stdin>", line 7, in <module>' in out
    assert "<stdin>:12: UserWarning: x" in out
    assert "(<stdin>, line 4)" in out
    assert "<PROG>: can't open file" in out
    assert "[Previous line repeated N more times]" in out
    assert normalise('  File "/x/main.py", line 3, in f\n    return 1\n') == '  File "/x/main.py", line 3, in f\n    return 1\n'


@pytest.mark.skipif(PY313, reason="D3 only applies before 3.13")
def test_normalise_drops_in_memory_source_before_313():
    text = (
        "Traceback (most recent call last):\n"
        '  File "<stdin>", line 1, in <module>\n'
        "    f()\n"
        "    ~^^\n"
        '  File "/x/mod.py", line 2, in f\n'
        "    return 1/0\n"
        "           ~^~\n"
        "ZeroDivisionError: division by zero\n"
        "<string>:2: UserWarning: w\n"
        "  warnings.warn('w')\n"
    )
    assert normalise(text) == (
        "Traceback (most recent call last):\n"
        '  File "<stdin>", line 1, in <module>\n'
        '  File "/x/mod.py", line 2, in f\n'
        "    return 1/0\n"
        "           ~^~\n"
        "ZeroDivisionError: division by zero\n"
        "<string>:2: UserWarning: w\n"
    )


# ----------------------------------------------- generated sequences of simple inputs
NAMES = ("a", "b", "c")
_atoms = st.one_of(
    st.integers(-30, 30).map(str),
    st.text(alphabet="xyz é", max_size=4).map(repr),
    st.sampled_from(NAMES + ("_", "True", "None")),
)
_OPERATORS = ("+", "-", "*", "//", "%", "==", "<", "!=", "and", "or")
_expressions = st.recursive(
    _atoms,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(_OPERATORS), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        inner.map(lambda e: f"str({e})"),
        inner.map(lambda e: f"len(str({e}))"),
        st.tuples(inner, inner).map(lambda t: f"[{t[0]}, {t[1]}]"),
    ),
    max_leaves=4,
)
_failing = st.sampled_from(["1/0", "int('x')", "[][0]", "{}['k']", "undefined_name", "'a' + 1", "None + 1"])
_statements = st.one_of(
    st.tuples(st.sampled_from(NAMES), _expressions).map(lambda t: f"{t[0]} = {t[1]}"),
    st.tuples(st.sampled_from(NAMES), _expressions).map(lambda t: f"{t[0]} += {t[1]}"),
    _expressions,
    _expressions.map(lambda e: f"print({e})"),
    _expressions.map(lambda e: f"print({e}, end='')"),
    _expressions.map(lambda e: f"print({e}, file=__import__('sys').stderr)"),
    _failing,
    st.just("None"),
)
GENERATED = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,  # the same examples on every run: a suite that passes keeps passing
    database=None,
    # No shrinking: each step would cost two more processes, and a failing example
    # is at most eight short lines already.
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=[HealthCheck.too_slow],
)


def _run_pair(case: Case, root: Path, pool: ThreadPoolExecutor) -> tuple[Result, Result]:
    python = pool.submit(run_side, case, "python", root)
    bgshell = pool.submit(run_side, case, "bgshell", root)
    return python.result(), bgshell.result()


@pytest.fixture(scope="module")
def pair_pool():
    with ThreadPoolExecutor(2) as pool:
        yield pool


_counter = iter(range(10**9))


@GENERATED
@given(statements=st.lists(_statements, min_size=1, max_size=8))
def test_generated_inputs_on_a_pipe(statements, tmp_path_factory, pair_pool):
    case = pipe(f"generated-pipe-{next(_counter)}", "".join(line + "\n" for line in statements))
    root = tmp_path_factory.getbasetemp() / "generated"
    python, bgshell = _run_pair(case, root, pair_pool)
    compare(case, python, bgshell)


# For a FILE only the last line may fail (D5): before it, arithmetic on ints that
# cannot fail (names start at 1, values stay small) and prints.
_int_expressions = st.recursive(
    st.one_of(st.integers(-30, 30).map(str), st.sampled_from(NAMES)),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(("+", "-", "*", "==", "<", "!=", "and", "or")), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        inner.map(lambda e: f"len(str({e}))"),
        inner.map(lambda e: f"abs({e})"),
    ),
    max_leaves=4,
)
_safe_statements = st.one_of(
    st.tuples(st.sampled_from(NAMES), _int_expressions).map(lambda t: f"{t[0]} = ({t[1]}) % 1009"),
    _int_expressions.map(lambda e: f"print({e})"),
    _int_expressions.map(lambda e: f"print({e}, end=' ')"),
    _int_expressions.map(lambda e: f"print(repr(str({e})) * 2)"),
)


@GENERATED
@given(
    statements=st.lists(_safe_statements, max_size=6),
    last=st.one_of(_failing, _expressions.map(lambda e: f"print({e})")),
)
def test_generated_scripts(statements, last, tmp_path_factory, pair_pool):
    """Similar material as a FILE."""
    source = "a = b = c = 1\n" + "".join(line + "\n" for line in statements) + last + "\n"
    case = file(f"generated-file-{next(_counter)}", source)
    root = tmp_path_factory.getbasetemp() / "generated"
    python, bgshell = _run_pair(case, root, pair_pool)
    compare(case, python, bgshell)
