"""The prompts: ``str(sys.ps1)`` and ``str(sys.ps2)``, taken at each prompt as
python3 does, so a program that changes them (pexpect's ``replwrap``) or an object
whose ``str()`` changes (a clock, a counter) is shown as it is now."""

from __future__ import annotations

import sys

__all__ = ["prompt_text", "EOF"]

#: What a prompt hands over for Ctrl-D on an empty line.
EOF = object()


def prompt_text(name: str) -> str:
    """``str(sys.ps1)`` (or ``sys.ps2``); the usual prompt when it is missing or its
    ``str()`` fails."""
    default = ">>> " if name == "ps1" else "... "
    try:
        value = getattr(sys, name, default)
        return value if isinstance(value, str) else str(value)
    except Exception:
        return default
