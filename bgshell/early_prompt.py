"""Draw the first prompt before prompt_toolkit is loaded.

Importing prompt_toolkit costs over 100 ms, most of bgshell's start.  So at a
terminal the first ``>>> `` is written straight away, with the terminal's echo
switched off; keys typed before prompt_toolkit takes over stay in the terminal's
input queue (nothing is lost, and nothing is echoed twice), and prompt_toolkit reads
them as typeahead when it draws the same prompt over this one.  The terminal's own
settings are put back once prompt_toolkit has run its first prompt, and at exit.
"""

from __future__ import annotations

import atexit
import os
import sys
from typing import Callable

__all__ = ["draw_early_prompt"]


def draw_early_prompt(prompt: str = ">>> ") -> Callable[[], None]:
    """Write *prompt* with echo off; return the function that restores the terminal.

    Does nothing (and returns a no-op) where stdin is not a terminal whose settings
    can be read.
    """
    try:
        import termios
    except ImportError:
        return _nothing
    fd = sys.stdin.fileno()
    try:
        saved = termios.tcgetattr(fd)
        quiet = termios.tcgetattr(fd)
        # No echo, and keys kept as typed (no line editing, Enter stays "\r"), as
        # prompt_toolkit's raw mode will read them.
        quiet[0] &= ~termios.ICRNL  # iflags
        quiet[3] &= ~(termios.ECHO | termios.ICANON)  # lflags
        termios.tcsetattr(fd, termios.TCSANOW, quiet)
    except (termios.error, OSError, ValueError):
        return _nothing
    done = False

    def restore() -> None:
        nonlocal done
        if done:
            return
        done = True
        try:
            termios.tcsetattr(fd, termios.TCSANOW, saved)
        except (termios.error, OSError):
            pass

    atexit.register(restore)
    sys.stdout.flush()
    # "\r": prompt_toolkit draws from column 0, over this very prompt.
    os.write(sys.stdout.fileno(), (prompt + "\r").encode())
    return restore


def _nothing() -> None:
    pass
