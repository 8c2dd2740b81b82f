"""``bgshell --manual``: the manual page, wherever the installation put it.

``pip install`` puts it in the environment's ``share/man/man1``, which ``man bgshell``
finds only when that environment's ``bin`` is on ``PATH``; a checkout has it in
``man/``.  This finds it either way and hands it to ``man``.
"""

from __future__ import annotations

from builtins import print  # bound at import: a job replacing builtins.print cannot silence the shell
import os
import shutil
import sys
import sysconfig

__all__ = ["manual_path", "show_manual"]


def manual_path() -> str | None:
    """The installed manual page, or the checkout's; None if there is neither."""
    top = sys.modules[__name__.partition(".")[0]]
    checkout = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(top.__file__ or ""))), "man")
    for folder in (os.path.join(sysconfig.get_path("data"), "share", "man", "man1"), checkout):
        path = os.path.join(folder, "bgshell.1")
        if os.path.isfile(path):
            return path
    return None


def show_manual() -> int:
    """Show the manual with ``man`` (or say where it is when there is no ``man``)."""
    path = manual_path()
    if path is None:
        print("bgshell: the manual page is not installed (reinstall with pip install .)", file=sys.stderr)
        return 1
    man = shutil.which("man")
    if man is None:
        print(f"bgshell: no man program; the manual page is {path}", file=sys.stderr)
        return 1
    sys.stdout.flush()
    os.execv(man, [man, "-l", path])
    return 0  # not reached
