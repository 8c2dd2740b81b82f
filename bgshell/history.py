"""The input history file: private, written as it is typed, never fatal.

The file is created 0600 inside a 0700 directory (history holds whatever was typed,
secrets included), each accepted input is appended at once so a crash loses
nothing, and a history file that cannot be read or written costs one warning, not
the session.  The format is prompt_toolkit's ``FileHistory`` format.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from typing import Iterable

from prompt_toolkit.history import FileHistory

__all__ = ["default_history_path", "SafeFileHistory", "open_history"]


def default_history_path() -> Path:
    """``$XDG_STATE_HOME/bgshell/history``, or ``~/.local/state/bgshell/history``."""
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(state) / "bgshell" / "history"


def _warn(message: str) -> None:
    print(f"bgshell: {message}", file=sys.stderr)


def _make_private(path: Path) -> None:
    """Create *path*'s directory 0700 and the file 0600; tighten them if we own them."""
    directory = path.parent
    if not directory.exists():
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(directory, 0o700)  # mkdir's mode is filtered by the umask
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        info = os.fstat(fd)
        if stat.S_ISREG(info.st_mode) and info.st_uid == os.getuid():  # never /dev/null
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


class SafeFileHistory(FileHistory):
    """``FileHistory`` that warns once instead of failing when the file misbehaves."""

    def __init__(self, filename: str | os.PathLike[str]) -> None:
        super().__init__(filename)
        self._warned = False

    def _warn_once(self, what: str, exc: BaseException) -> None:
        if not self._warned:
            self._warned = True
            _warn(f"history file {os.fspath(self.filename)}: cannot {what} ({exc.strerror or exc}); "
                  "going on without saving history")

    def load_history_strings(self) -> Iterable[str]:
        try:
            return list(super().load_history_strings())
        except (OSError, ValueError) as exc:
            self._warn_once("read it", exc if isinstance(exc, OSError) else OSError(str(exc)))
            return []

    def store_string(self, string: str) -> None:
        if self._warned:
            return
        try:
            super().store_string(string)
        except OSError as exc:
            self._warn_once("write to it", exc)


def open_history(path: str | os.PathLike[str] | None) -> SafeFileHistory:
    """Prepare the history file at *path* (default location if None) and open it."""
    target = Path(path) if path is not None else default_history_path()
    history = SafeFileHistory(target)
    try:
        _make_private(target)
    except OSError as exc:
        history._warn_once("create it", exc)
    return history
