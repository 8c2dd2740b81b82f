"""IPython's own tests for ``IPython.lib.backgroundjobs``, run against ``bgshell.jobs``.

The test file is read from an installed IPython, its one import of the module under
test is pointed at ``bgshell.jobs``, and each of its ``test_*`` functions becomes one
test here.  Nothing of IPython's code is copied into this repository.

Where the file comes from, first match wins:

1. ``$BGSHELL_IPYTHON_TESTS``: the test file itself, or an IPython source checkout;
2. the IPython that ``import IPython`` finds (IPython < 9 ships ``lib/tests`` in the
   package; IPython 9 keeps its tests out of the wheel);
3. the IPython installed for the base interpreter of this virtualenv, if any (same
   tests: IPython 9 moved the file to ``tests/`` unchanged but for formatting).

Without IPython (and without the variable) the tests are skipped, with the reason.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import sysconfig
import types
from pathlib import Path

import pytest

import bgshell.jobs

IMPORT_LINE = "from IPython.lib import backgroundjobs as bg"
REPLACEMENT = "import bgshell.jobs as bg"
RELATIVE = Path("lib", "tests", "test_backgroundjobs.py")


def _env_candidates() -> list[Path]:
    env = os.environ.get("BGSHELL_IPYTHON_TESTS")
    if not env:
        return []
    path = Path(env)
    if path.is_file():
        return [path]
    return [path / "tests" / "test_backgroundjobs.py", path / "IPython" / RELATIVE]


def _installed_candidates(package_dir: Path) -> list[Path]:
    found = [package_dir / RELATIVE]
    if sys.prefix != sys.base_prefix:  # a virtualenv: the base interpreter's IPython too
        paths = sysconfig.get_paths(vars={"base": sys.base_prefix, "platbase": sys.base_prefix})
        found.append(Path(paths["purelib"]) / "IPython" / RELATIVE)
    return found


def _locate() -> tuple[Path | None, str]:
    """The test file to run, or None and the reason to skip."""
    for path in _env_candidates():
        if path.is_file():
            return path, ""
    spec = importlib.util.find_spec("IPython")
    if spec is None or not spec.origin:
        return None, "IPython is not installed, so its backgroundjobs tests cannot be run"
    package_dir = Path(spec.origin).parent
    for path in _installed_candidates(package_dir):
        if path.is_file():
            return path, ""
    return None, (
        f"the installed IPython ({package_dir}) does not ship {RELATIVE.as_posix()} "
        "(IPython >= 9 keeps its tests out of the package); set BGSHELL_IPYTHON_TESTS "
        "to an IPython source checkout or to the test file to run them"
    )


def _load(path: Path) -> types.ModuleType:
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines(keepends=True)
    hits = [i for i, line in enumerate(lines) if line.strip() == IMPORT_LINE]
    if len(hits) != 1:
        raise RuntimeError(f"{path}: expected the line {IMPORT_LINE!r} exactly once, found {len(hits)}")
    line = lines[hits[0]]
    lines[hits[0]] = line[: len(line) - len(line.lstrip())] + REPLACEMENT + "\n"
    module = types.ModuleType("ipython_test_backgroundjobs_on_bgshell")
    module.__file__ = str(path)
    exec(compile("".join(lines), str(path), "exec"), module.__dict__)
    return module


TEST_FILE, SKIP_REASON = _locate()
MODULE = _load(TEST_FILE) if TEST_FILE is not None else None
NAMES = sorted(name for name in vars(MODULE) if name.startswith("test_")) if MODULE else []


def test_the_ipython_tests_run_against_bgshell():
    if MODULE is None:
        # The project's test environment pins an IPython that ships the file, so
        # in CI a missing file is a broken set-up, not a reason to skip quietly.
        if os.environ.get("CI"):
            pytest.fail(SKIP_REASON)
        pytest.skip(SKIP_REASON)
    assert MODULE.bg is bgshell.jobs
    assert NAMES, f"no test_* functions found in {TEST_FILE}"


@pytest.mark.parametrize(
    "name",
    NAMES or [pytest.param("none", marks=pytest.mark.skip(reason=SKIP_REASON or "no tests found"))],
)
def test_ipython_backgroundjobs(name):
    getattr(MODULE, name)()
