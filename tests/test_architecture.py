"""The shape of the code, checked: the layers import only downwards, nothing imports
in a circle (lazy imports inside functions included), prompt_toolkit lives only in
the front ends, the engine loads without the shell, and modules and functions stay
small enough to read.

These are the rules a newcomer relies on when reading the tree (README's layout
section); a change that breaks one fails here with the offending module named.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "bgshell"

#: Longest module, in lines, and longest function, in lines of code.
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES: dict[str, Path] = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports_of(path: Path) -> set[str]:
    """Every module name *path* imports, anywhere in it (functions included).

    ``from P import X`` imports module ``P.X`` when there is one, else ``P`` itself
    (the names it takes live there).  A package's parents, which Python also loads,
    are not counted: a package's ``__init__`` is kept free of imports instead.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                names.add(submodule if submodule in MODULES else node.module)
    return names


def internal_imports(name: str) -> set[str]:
    """The bgshell modules *name* imports."""
    return {target for target in imports_of(MODULES[name]) if target in MODULES and target != name}


GRAPH = {name: internal_imports(name) for name in MODULES}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules, or None."""
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_tree_has_the_layers_the_readme_describes():
    for package in ("bgshell.engine", "bgshell.engine.runners", "bgshell.shell",
                    "bgshell.shell.language", "bgshell.frontends"):
        assert package in MODULES, f"{package} is missing"


def test_no_import_cycles_lazy_imports_included():
    cycle = find_cycle(GRAPH)
    assert cycle is None, " -> ".join(cycle or [])


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith("bgshell.engine")))
def test_the_engine_imports_nothing_above_it(name):
    above = {t for t in GRAPH[name] if not t.startswith("bgshell.engine")}
    assert not above, f"{name} imports {sorted(above)}"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith("bgshell.shell.language")))
def test_the_language_is_pure_text(name):
    outside = {t for t in GRAPH[name] if not t.startswith("bgshell.shell.language")}
    assert not outside, f"{name} imports {sorted(outside)}"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith("bgshell.shell")))
def test_the_shell_never_imports_a_front_end(name):
    above = {t for t in GRAPH[name] if t.startswith(("bgshell.frontends", "bgshell.cli"))}
    assert not above, f"{name} imports {sorted(above)}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_prompt_toolkit_and_pygments_only_in_the_front_ends(name):
    third_party = {n.split(".")[0] for n in imports_of(MODULES[name])} & {"prompt_toolkit", "pygments"}
    if not name.startswith("bgshell.frontends"):
        assert not third_party, f"{name} imports {sorted(third_party)}"


def test_importing_every_engine_module_loads_no_shell_and_no_terminal_library():
    engine = sorted(n for n in MODULES if n.startswith("bgshell.engine"))
    script = (
        "import importlib, sys\n"
        f"for name in {engine!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('prompt_toolkit', 'pygments')\n"
        "             or m.startswith(('bgshell.shell', 'bgshell.frontends', 'bgshell.cli')))\n"
        "print(bad)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          cwd=PACKAGE.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", done.stdout


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_stay_small(name):
    lines = MODULES[name].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_MODULE_LINES, f"{name} has {lines} lines (at most {MAX_MODULE_LINES})"


def code_lines(node: ast.AST, source_lines: list[str]) -> int:
    """Lines of a function that hold code: not blank, not comments, not its docstring."""
    start, end = node.lineno, node.end_lineno or node.lineno
    skip: set[int] = set()
    body = getattr(node, "body", [])
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
            and isinstance(body[0].value.value, str):
        skip.update(range(body[0].lineno, (body[0].end_lineno or body[0].lineno) + 1))
    count = 0
    for number in range(start, end + 1):
        text = source_lines[number - 1].strip()
        if number not in skip and text and not text.startswith("#"):
            count += 1
    return count


@pytest.mark.parametrize("name", sorted(MODULES))
def test_functions_stay_short(name):
    source = MODULES[name].read_text(encoding="utf-8")
    lines = source.split("\n")
    long = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            size = code_lines(node, lines)
            if size > MAX_FUNCTION_LINES:
                long.append(f"{node.name} (line {node.lineno}): {size} lines of code")
    assert not long, f"{name}: " + "; ".join(long)
