"""Run the same input through ``python3`` and through ``bgshell``; collect what each prints.

The machinery of ``test_differential.py``, which holds the catalogue of cases, the
normalisation and the list of deliberate differences.  Here:

* ``Case``: one input and the way it is given (piped to an interactive session,
  ``-c CODE``, ``FILE``, ``-m MODULE``), with the files it needs next to it.
* ``run_side``: writes the case's files for one side (each side of each case gets
  a directory of its own, so runs in parallel never share a file) and runs
  ``sys.executable`` or the ``bgshell`` installed next to it, with the case's
  options, arguments, environment and standard input.  The path of the side's
  directory is replaced by ``<DIR>`` in what it printed.
* ``strip_python_prompts``: ``python3 -i`` on a pipe writes its banner and its
  ``>>> ``/``... `` prompts on stderr (bgshell writes none on a pipe); this removes
  them, and the newline python writes when it reaches the end of its input.

Every run synchronises on the end of the process (``subprocess.run`` with ``input=``
and a timeout that only turns a hang into a failure); nothing sleeps.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

__all__ = [
    "PYTHON",
    "BGSHELL",
    "HANG",
    "Case",
    "Result",
    "run_side",
    "strip_python_prompts",
    "clean_environment",
    "DIR_TOKEN",
]

#: The python3 compared against: the one running the tests (3.11, 3.12 or 3.13).
PYTHON = sys.executable
#: The console script installed next to it (None: the project is not installed here).
BGSHELL = shutil.which("bgshell", path=os.path.dirname(sys.executable))
#: Only turns a hang into a failure; a case takes a fraction of a second.
HANG = 60
#: In ``Case.args`` and ``Case.env`` values: the case's directory on that side.
DIR_TOKEN = "@DIR@"

MODES = ("pipe", "c", "file", "m")


@dataclass(frozen=True)
class Case:
    """One input, given the same way to ``python3`` and to ``bgshell``.

    ``mode``:
      * ``pipe``: ``source`` is standard input, to ``python3 -i`` and to ``bgshell``
        (``bgshell -i`` with ``bgshell_dash_i``);
      * ``c``: ``python3 -c source ARGS`` / ``bgshell -c source ARGS``;
      * ``file``: ``source`` is written to ``script`` (relative to the case's
        directory), run as ``python3 SCRIPT ARGS`` / ``bgshell SCRIPT ARGS``;
      * ``m``: ``source`` is a module name, ``python3 -m source ARGS``.
    """

    name: str
    mode: str
    source: str
    #: sys.argv[1:] (``@DIR@`` is replaced by the case's directory).
    args: tuple[str, ...] = ()
    #: Interpreter options given to both before the mode: ``-q``, ``-u``, ``-E``, ``-s``, ``-I``.
    options: tuple[str, ...] = ()
    #: Files written into the case's directory first (sibling modules, packages...).
    files: Mapping[str, str | bytes] = field(default_factory=dict)
    #: ``file`` mode: the script's path as given on the command line, from ``cwd``
    #: (``@DIR@/main.py`` gives an absolute path).
    script: str = "main.py"
    #: ``file`` mode: write ``source`` to ``script`` (False: ``files`` holds it, or it is missing).
    write_script: bool = True
    #: Where both run, relative to the case's directory (created if missing).
    cwd: str = "."
    #: Standard input in the ``c``, ``file`` and ``m`` modes (for ``input()`` or ``-i``).
    stdin: str = ""
    #: ``-i`` in the ``c``, ``file`` and ``m`` modes: read ``stdin`` interactively afterwards.
    interactive: bool = False
    #: ``pipe`` mode: give bgshell ``-i`` too (it is the same as without).
    bgshell_dash_i: bool = False
    #: Environment added for both (``@DIR@`` is replaced by the case's directory).
    env: Mapping[str, str] = field(default_factory=dict)
    #: Standard error merged into standard output: compares the order of the two.
    merge: bool = False
    #: Whether some input fails, when python's stderr does not make it plain (a
    #: replaced sys.excepthook); None: read it off python's stderr.
    failed: bool | None = None
    #: The input leaves with exit()/sys.exit() itself: its status is python's as it is.
    explicit_exit: bool = False
    #: On 3.11/3.12 python keeps no source of piped or ``-c`` input and 3.13 does;
    #: bgshell keeps it on every version.  For a case whose output depends on that
    #: (inspect.getsource), bgshell must print this on 3.11/3.12: what python 3.13
    #: prints (checked against python3 itself on 3.13).
    stdout_as_on_313: str | None = None

    def __post_init__(self) -> None:
        assert self.mode in MODES, self.mode

    @property
    def python_interactive(self) -> bool:
        """True if python reads standard input as an interactive session (prompts)."""
        return self.mode == "pipe" or self.interactive


@dataclass(frozen=True)
class Result:
    stdout: str
    stderr: str
    status: int


def clean_environment(home: Path) -> dict[str, str]:
    """The user's environment without anything that changes how Python runs.

    Every ``PYTHON*`` variable goes (a case sets the ones it is about), and the
    variables that would colour 3.13's tracebacks.  HOME and the state directory
    point into the test's directory, so no history or user site of the real user
    is read.
    """
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("PYTHON") and name not in ("NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES")
    }
    environment["HOME"] = str(home)
    environment["XDG_STATE_HOME"] = str(home / "state")
    environment["TERM"] = "dumb"
    return environment


def _substitute(text: str, directory: Path) -> str:
    return text.replace(DIR_TOKEN, str(directory))


def command(case: Case, side: str, directory: Path) -> list[str]:
    """The command line of *case* for ``side`` ("python" or "bgshell")."""
    program = PYTHON if side == "python" else BGSHELL
    assert program is not None
    argv = [program, *case.options]
    if case.mode == "pipe":
        if side == "python" or case.bgshell_dash_i:
            argv.append("-i")
    elif case.interactive:
        argv.append("-i")
    if case.mode == "c":
        argv += ["-c", case.source]
    elif case.mode == "file":
        argv.append(_substitute(case.script, directory))
    elif case.mode == "m":
        argv += ["-m", case.source]
    argv += [_substitute(arg, directory) for arg in case.args]
    return argv


def _prepare(case: Case, directory: Path) -> Path:
    directory.mkdir(parents=True)
    (directory / "home").mkdir()
    for relative, content in case.files.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    if case.mode == "file" and case.write_script:
        script = directory / case.cwd / _substitute(case.script, directory)
        script.parent.mkdir(parents=True, exist_ok=True)
        script.write_text(case.source, encoding="utf-8")
    cwd = directory / case.cwd
    cwd.mkdir(parents=True, exist_ok=True)
    return cwd


def run_side(case: Case, side: str, root: Path) -> Result:
    """Run *case* on one side ("python" or "bgshell") in a directory of its own
    under *root*, created here; that directory's path reads ``<DIR>`` in the result."""
    directory = root / case.name / side
    cwd = _prepare(case, directory)
    env = clean_environment(directory / "home")
    env.update({name: _substitute(value, directory) for name, value in case.env.items()})
    stdin = case.source if case.mode == "pipe" else case.stdin
    proc = subprocess.run(
        command(case, side, directory),
        input=stdin.encode("utf-8"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if case.merge else subprocess.PIPE,
        cwd=cwd,
        env=env,
        timeout=HANG,
    )

    def decoded(data: bytes | None) -> str:
        text = (data or b"").decode("utf-8", "replace")
        # The real path first: a symlinked tmp dir may show either form.
        for form in {str(directory.resolve()), str(directory)}:
            text = text.replace(form, "<DIR>")
        return text

    stdout, stderr = decoded(proc.stdout), decoded(proc.stderr)
    if side == "python" and case.python_interactive:
        if case.merge:
            stdout = strip_python_prompts(stdout)
        else:
            stderr = strip_python_prompts(stderr)
    return Result(stdout, stderr, proc.returncode)


_BANNER = re.compile(r"\APython 3\.[^\n]*\nType \"help\"[^\n]*\n")
_PROMPTS = re.compile(r"^(?:>>> |\.\.\. )+", re.MULTILINE)


def strip_python_prompts(text: str) -> str:
    """*text* (python's stderr in an interactive session on a pipe) without the
    banner, the prompts, and the newline written at the end of the input.

    Prompts are removed where python writes them, at the start of a line (each
    prompt follows the newline of what came before).  The cases never write to
    stderr without ending the line before the next prompt, nor start a line of
    their own with ``>>> `` or ``... ``.
    """
    text = _BANNER.sub("", text, count=1)
    lines = text.splitlines(keepends=True)
    if lines and re.fullmatch(r"(?:>>> |\.\.\. )*\n?", lines[-1]):
        lines.pop()  # the prompt python was reading at when the input ended (or exit() ran)
    return _PROMPTS.sub("", "".join(lines))
