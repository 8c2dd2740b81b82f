"""The documentation stays true to the code: README.md, man/bgshell.1, .ci/run.

* The README's test command is the command CI runs.
* The manual page is valid roff that groff renders without a warning.
* Its BUILTINS section lists exactly the shell's builtins, and its OPTIONS section
  exactly the command line's options, so neither can drift from the code.
* ``pip install`` puts the manual page under share/man/man1.

Conventions this relies on (the comment at the top of the man page repeats them): in
BUILTINS every ``.TP`` entry is a builtin whose tag line is ``.B``/``.BR``/``.BI``
followed by the builtin's name; in OPTIONS every option is a ``.TP`` entry whose tag
line names it, written ``\\-\\-name`` as roff wants.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from bgshell.cli import build_parser
from bgshell.engine.kinds import KINDS
from bgshell.shell.commands import BUILTINS

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
MANPAGE = ROOT / "man" / "bgshell.1"
CI_RUN = ROOT / ".ci" / "run"

#: A set-up command in the README: four spaces, "$ ", the command, " # " and its label.
_SETUP_LINE = re.compile(r"^    \$ (?P<command>.+?) # (?P<label>[^#]+)$")


# -- helpers ----------------------------------------------------------------------------
def readme_commands() -> dict[str, str]:
    """The README's set-up commands, by label ("install and start", "the tests")."""
    found: dict[str, str] = {}
    for line in README.read_text(encoding="utf-8").splitlines():
        match = _SETUP_LINE.match(line)
        if match:
            label = match.group("label").strip()
            assert label not in found, f"README gives two commands labelled {label!r}"
            found[label] = match.group("command")
    return found


def ci_command() -> str:
    """The first command .ci/run runs: its first line that is not blank, a comment, or
    the shell's own set-up (``set``, ``cd``)."""
    lines = [
        line.strip()
        for line in CI_RUN.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith(("#", "set ", "cd "))
    ]
    assert lines, ".ci/run has no command"
    return lines[0]


def man_sections() -> dict[str, list[str]]:
    """The man page's lines, grouped by ``.SH`` section (names as rendered: ``\\-`` -> ``-``)."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in MANPAGE.read_text(encoding="utf-8").splitlines():
        if line.startswith(".SH"):
            name = line[3:].strip().strip('"').replace("\\-", "-")
            assert name not in sections, f"the man page has two {name} sections"
            current = sections[name] = []
        elif current is not None:
            current.append(line)
    return sections


def tag_lines(lines: list[str]) -> list[str]:
    """The tag line of every ``.TP`` entry (the line right after ``.TP``)."""
    tags = []
    for index, line in enumerate(lines):
        if line.strip() == ".TP" or line.startswith(".TP "):
            assert index + 1 < len(lines), "a .TP at the end of a section has no tag"
            tags.append(lines[index + 1])
    return tags


_BUILTIN_TAG = re.compile(r'^\.(?:B|BR|BI)\s+"?(?P<name>[A-Za-z_][A-Za-z0-9_]*)')
_FONT = re.compile(r"\\f[BIRP]|\\f\[[A-Z]*\]")
_OPTION = re.compile(r"(?<![\w-])(--?[A-Za-z][A-Za-z0-9-]*)")


def documented_builtins() -> list[str]:
    names = []
    for tag in tag_lines(man_sections()["BUILTINS"]):
        match = _BUILTIN_TAG.match(tag)
        assert match, f"a BUILTINS entry whose tag does not start with .B NAME: {tag!r}"
        names.append(match.group("name"))
    return names


def documented_options() -> set[str]:
    options: set[str] = set()
    for tag in tag_lines(man_sections()["OPTIONS"]):
        text = _FONT.sub("", tag.replace("\\-", "-"))
        options.update(_OPTION.findall(text))
    return options


def parser_options() -> set[str]:
    return {option for action in build_parser()._actions for option in action.option_strings}


# -- README and CI ------------------------------------------------------------------------
def test_readme_gives_exactly_the_two_setup_commands():
    commands = readme_commands()
    assert set(commands) == {"install and start", "the tests"}
    assert commands["install and start"].startswith("python3 -m venv .venv && ")
    assert commands["install and start"].endswith(" && .venv/bin/bgshell")


def test_readme_test_command_is_what_ci_runs():
    assert readme_commands()["the tests"] == ci_command()


# -- the man page ---------------------------------------------------------------------------
def test_man_page_has_the_expected_sections():
    expected = [
        "NAME", "SYNOPSIS", "DESCRIPTION", "BUILTINS", "JOB SPECS", "JOB CONTROL", "JOB KINDS",
        "WHAT A JOB CAN CHANGE", "NOTIFICATIONS", "OUTPUT", "KILLING", "CLUSTER", "EXIT", "NON-INTERACTIVE USE", "OPTIONS",
        "ENVIRONMENT", "FILES", "EXAMPLES", "SEE ALSO",
    ]
    assert list(man_sections()) == expected


@pytest.mark.skipif(shutil.which("groff") is None, reason="groff is not installed")
def test_groff_renders_the_man_page_without_warnings():
    done = subprocess.run(
        ["groff", "-man", "-ww", "-z", str(MANPAGE)],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout + done.stderr == ""


def test_every_builtin_is_documented_and_every_documented_builtin_exists():
    documented = documented_builtins()
    assert len(documented) == len(set(documented)), f"a builtin is documented twice: {documented}"
    assert set(documented) - set(BUILTINS) == set(), "the man page documents builtins that do not exist"
    assert set(BUILTINS) - set(documented) == set(), "builtins missing from the man page's BUILTINS"


def test_the_job_kinds_section_documents_exactly_the_kinds_of_the_engines_table():
    documented = [_BUILTIN_TAG.match(tag).group("name") for tag in tag_lines(man_sections()["JOB KINDS"])]
    assert documented == [kind.name for kind in KINDS], "the man page's JOB KINDS and the kinds table differ"


def test_every_option_is_documented_and_every_documented_option_exists():
    real = parser_options()
    documented = documented_options()
    real_long = {option for option in real if option.startswith("--")}
    documented_long = {option for option in documented if option.startswith("--")}
    assert documented_long - real_long == set(), "the man page documents options that do not exist"
    assert real_long - documented_long == set(), "long options missing from the man page's OPTIONS"
    # Short options too, both ways: -c, -i, -h.
    assert documented - real == set()
    assert real - documented == set()


def test_the_options_choices_are_the_ones_documented():
    """--kind and --notify list their choices in the man page's tag lines."""
    tags = {
        _OPTION.findall(_FONT.sub("", tag.replace("\\-", "-")))[0]: _FONT.sub("", tag)
        for tag in tag_lines(man_sections()["OPTIONS"])
        if _OPTION.findall(tag.replace("\\-", "-"))
    }
    for action in build_parser()._actions:
        if action.choices and action.option_strings:
            tag = tags[action.option_strings[-1]]
            for choice in action.choices:
                assert re.search(rf"\b{re.escape(choice)}\b", tag), (action.option_strings, choice)


# -- packaging ------------------------------------------------------------------------------
def _build_wheel(source: Path, out: Path) -> subprocess.CompletedProcess[str]:
    """Build a wheel of *source* into *out*: without build isolation when the running
    environment can (setuptools and wheel installed), else the normal isolated way."""
    base = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out)]
    done = subprocess.run(
        [*base, "--no-build-isolation", str(source)], capture_output=True, text=True, timeout=300
    )
    if done.returncode == 0 and list(out.glob("*.whl")):
        return done
    return subprocess.run([*base, str(source)], capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_the_wheel_has_the_man_page_and_every_module(tmp_path):
    # Build from a copy, so the build leaves nothing (build/, *.egg-info) in the checkout.
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for name in ("bgshell", "man"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path / "dist"
    done = _build_wheel(source, out)
    wheels = list(out.glob("bgshell-*.whl"))
    assert done.returncode == 0 and len(wheels) == 1, done.stdout + done.stderr
    with zipfile.ZipFile(wheels[0]) as wheel:
        names = [
            name for name in wheel.namelist()
            if re.fullmatch(r"bgshell-[^/]+\.data/data/share/man/man1/bgshell\.1", name)
        ]
        assert len(names) == 1, wheel.namelist()
        assert wheel.read(names[0]) == MANPAGE.read_bytes()
        # A package left out of pyproject's list drops out of the wheel without a word.
        packed = {name for name in wheel.namelist() if name.endswith(".py")}
    modules = {path.relative_to(ROOT).as_posix() for path in (ROOT / "bgshell").rglob("*.py")}
    assert modules - packed == set(), "modules missing from the wheel"
