"""What python3 sets up before the first line runs, done the same way for bgshell.

For each way of starting (interactive, ``-c CODE``, ``FILE``, ``-m MODULE``) python3
puts a particular first entry on ``sys.path``, a particular ``sys.argv``, and a
particular ``__main__``; users' imports and ``if __name__ == "__main__"`` rely on them.
bgshell starts as a console script, whose own ``bin`` directory python put first on
``sys.path``: it is replaced here by what python3 would have put there.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import zipfile
from dataclasses import dataclass, field
from types import CodeType
from typing import Any, Literal

__all__ = ["Launch", "prepare_sys", "module_code", "ModuleNotRunnable"]

Mode = Literal["interactive", "command", "file", "module"]


@dataclass
class Launch:
    """How bgshell was started: the mode, its target (code, path or module name) and
    the arguments that follow it."""

    mode: Mode = "interactive"
    target: str | None = None
    args: list[str] = field(default_factory=list)


def _first_path_entry(launch: Launch) -> str | None:
    """What python3 puts at ``sys.path[0]`` for *launch*; None under ``-I``/``-P``."""
    if sys.flags.isolated or getattr(sys.flags, "safe_path", False):
        return None
    if launch.mode == "file":
        target = launch.target or ""
        if os.path.isdir(target) or zipfile.is_zipfile(target):  # it runs its __main__
            return os.path.abspath(target)
        return os.path.dirname(os.path.realpath(target))
    if launch.mode == "module":
        return os.getcwd()
    return ""


def prepare_sys(launch: Launch) -> None:
    """Set ``sys.argv`` and ``sys.path[0]`` as python3 does for *launch*.

    The entry the interpreter put first for the console script (its ``bin``
    directory, or the current directory for ``python -m bgshell``) goes: python
    adds exactly one, unless ``-I`` or ``-P`` told it to add none.
    """
    if not (sys.flags.isolated or getattr(sys.flags, "safe_path", False)) and sys.path:
        del sys.path[0]
    first = _first_path_entry(launch)
    if first is not None:
        sys.path.insert(0, first)
    if launch.mode == "command":
        sys.argv = ["-c", *launch.args]
    elif launch.mode == "file":
        sys.argv = [launch.target or "", *launch.args]
    elif launch.mode == "module":
        sys.argv = ["-m", *launch.args]  # the module's path replaces "-m" once it is found
    else:
        sys.argv = [""]


class ModuleNotRunnable(Exception):
    """``-m NAME`` names no module that can run; the message says why, as python3 does."""


def module_code(name: str, namespace: dict[str, Any]) -> CodeType:
    """Find module *name* (a package runs its ``__main__``), describe it in *namespace*
    as python3's ``-m`` does (``__file__``, ``__spec__``, ...), and return its code."""
    main = sys.modules.pop("__main__", None) if name == "__main__" else None  # not the shell's own
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError) as exc:
        raise ModuleNotRunnable(f"Error while finding module specification for {name!r} "
                                f"({type(exc).__name__}: {exc})") from None
    finally:
        if main is not None:
            sys.modules["__main__"] = main
    if spec is None:
        raise ModuleNotRunnable(f"No module named {name}")
    if spec.submodule_search_locations is not None:  # a package: run its __main__
        if name == "__main__" or name.endswith(".__main__"):
            raise ModuleNotRunnable("Cannot use package as __main__ module")
        try:
            return module_code(name + ".__main__", namespace)
        except ModuleNotRunnable as exc:
            raise ModuleNotRunnable(f"{exc}; {name!r} is a package and cannot be directly executed") from None
    loader = spec.loader
    code = loader.get_code(spec.name) if loader is not None and hasattr(loader, "get_code") else None
    if code is None:
        raise ModuleNotRunnable(f"No code object available for {name}")
    namespace.update(
        __name__="__main__", __file__=spec.origin, __cached__=spec.cached, __doc__=None,
        __loader__=loader, __package__=spec.parent, __spec__=spec,
    )
    sys.argv[0] = spec.origin or name
    return code
