"""The input history file: private, written as it is typed, never fatal.

The file is created 0600 inside directories bgshell makes 0700 (history holds
whatever was typed, secrets included; the XDG Base Directory spec asks 0700 for the
directories too), each accepted input is appended at once so a crash loses
nothing, and a history file that cannot be read or written, or holds lines that
are not history, costs one warning, not the session.  Only a regular file is read
or written: ``--history /dev/null`` turns saving off quietly, and a FIFO or a
device never blocks or floods the start.  The format is prompt_toolkit's
``FileHistory`` format (``# time`` lines, then ``+``-prefixed lines).

The history speaks prompt_toolkit's history interface (``load``, ``get_strings``,
``append_string``) without importing prompt_toolkit, so that the shell can open it,
and write to it, before the line editor has been imported.
"""

from __future__ import annotations

from builtins import print  # bound at import: a job replacing builtins.print cannot silence the shell
import datetime
import errno
import os
import stat
import sys
from pathlib import Path
from typing import AsyncGenerator, Callable, Iterable

__all__ = ["default_history_path", "SafeFileHistory", "open_history"]


class History:
    """What prompt_toolkit's ``Buffer`` asks of a history: the entries, newest first,
    loaded once (``load``), and ``append_string`` for a new one."""

    def __init__(self) -> None:
        self._loaded = False
        self._loaded_strings: list[str] = []  # newest first

    async def load(self) -> AsyncGenerator[str, None]:
        for item in self.get_strings()[::-1]:
            yield item

    def get_strings(self) -> list[str]:
        """The entries, oldest first (read now if they were not yet)."""
        if not self._loaded:
            self._loaded_strings = list(self.load_history_strings())
            self._loaded = True
        return self._loaded_strings[::-1]

    def append_string(self, string: str) -> None:
        self._loaded_strings.insert(0, string)
        self.store_string(string)

    def load_history_strings(self) -> Iterable[str]:
        return []

    def store_string(self, string: str) -> None:
        pass


def default_history_path() -> Path:
    """``$XDG_STATE_HOME/bgshell/history``, or ``~/.local/state/bgshell/history``."""
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(state) / "bgshell" / "history"


def _warn(message: str) -> None:
    print(f"bgshell: {message}", file=sys.stderr)


def _make_directories(directory: Path) -> None:
    """Create *directory* and any missing parents, each 0700 whatever the umask."""
    missing = []
    while not directory.exists():
        missing.append(directory)
        if directory.parent == directory:
            break
        directory = directory.parent
    for path in reversed(missing):
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            continue
        os.chmod(path, 0o700)  # mkdir's mode is filtered by the umask


def _open_private(path: Path) -> int:
    """Open *path* for appending, creating it 0600; never blocks on a FIFO."""
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK, 0o600)


class SafeFileHistory(History):
    """History in a regular file, that warns once instead of failing."""

    def __init__(self, filename: str | os.PathLike[str]) -> None:
        super().__init__()
        self.filename = os.fspath(filename)
        #: Where the warning goes.  prompt_toolkit stores an entry while its prompt
        #: is still up, where stderr is its patch_stdout proxy, which drops text
        #: that arrives as the prompt closes; the terminal front end therefore
        #: collects the warning and prints it once the prompt has returned.
        self.report: Callable[[str], None] = _warn
        self._warned = False
        self._write_failed = False
        self._read: list[str] | None = None  # newest first, once read
        #: The file, kept open: when a job has taken every descriptor, the inputs are
        #: still written.  Opened again if the file was removed or replaced.
        self._fd: int | None = None

    def warn_once(self, problem: str) -> None:
        if not self._warned:
            self._warned = True
            self.report(f"history file {self.filename}: {problem}")

    def _regular_file(self) -> bool:
        """True if the path is a regular file (or missing); warns about anything else."""
        try:
            mode = os.stat(self.filename).st_mode
        except FileNotFoundError:
            return True
        except OSError as exc:
            self.warn_once(f"cannot use it ({exc.strerror}); history is not saved")
            return False
        if stat.S_ISREG(mode):
            return True
        self.warn_once("not a regular file; history is not read or saved")
        return False

    def load_history_strings(self) -> Iterable[str]:
        """The entries, newest first; read once (see ``read_now``)."""
        if self._read is None:
            self.read_now()
        return self._read or []

    def read_now(self) -> None:
        """Read the file now, at start-up, so a warning comes before the first prompt
        (prompt_toolkit would read it in the background, amid the first output)."""
        self._read = list(self._load())

    def _load(self) -> Iterable[str]:
        if not self._regular_file():
            return []
        try:
            with open(self.filename, "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            return []
        except OSError as exc:
            self.warn_once(f"cannot read it ({exc.strerror}); going on without it")
            return []
        strings, skipped = _parse(data)
        if skipped:
            self.warn_once(f"{skipped} line{'' if skipped == 1 else 's'} could not be read and "
                           "were skipped (the file is damaged or not a bgshell history)")
        return reversed(strings)

    def store_string(self, string: str) -> None:
        if self._read is not None:  # kept for a load that comes later, too
            self._read.insert(0, string)
        if self._write_failed or not self._regular_file():
            return
        lines = [f"\n# {datetime.datetime.now()}\n", *(f"+{line}\n" for line in string.split("\n"))]
        data = memoryview("".join(lines).encode("utf-8", errors="replace"))
        try:
            fd = self._open_fd()
            while data:
                data = data[os.write(fd, data):]
        except OSError as exc:
            self._write_failed = True
            self.warn_once(f"cannot write to it ({exc.strerror}); going on without saving history")

    def _open_fd(self) -> int:
        """The descriptor to append with: the kept one while it is still the file at
        the path; else the file opened again (0600: a file removed or rotated during
        the session is recreated private, not with the umask's mode)."""
        if self._fd is not None:
            try:
                here, kept = os.stat(self.filename), os.fstat(self._fd)
                if (here.st_dev, here.st_ino) == (kept.st_dev, kept.st_ino):
                    return self._fd
            except FileNotFoundError:
                pass
        try:
            fresh = _open_private(Path(self.filename))
        except OSError as exc:
            if exc.errno in (errno.EMFILE, errno.ENFILE) and self._fd is not None:
                return self._fd  # no descriptor left: the file as it was
            raise
        if self._fd is not None:
            os.close(self._fd)
        self._fd = fresh
        return fresh


def _parse(data: bytes) -> tuple[list[str], int]:
    """Entries of a history file, oldest first, and how many lines were not history."""
    strings: list[str] = []
    entry: list[str] = []
    skipped = 0
    for raw in data.split(b"\n"):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            skipped += 1
            continue
        if line.startswith("+"):
            entry.append(line[1:])
            continue
        if entry:
            strings.append("\n".join(entry))
            entry = []
        if line and not line.startswith("#"):
            skipped += 1
    if entry:
        strings.append("\n".join(entry))
    return strings, skipped


class _NoHistory(History):
    """``--history /dev/null``: keep the session's inputs in memory, save nothing."""


def open_history(path: str | os.PathLike[str] | None, report: Callable[[str], None] | None = None) -> History:
    """Prepare the history file at *path* (default location if None) and open it;
    its warnings go to *report* (printed on stderr if None)."""
    target = Path(path) if path is not None else default_history_path()
    if os.fspath(target) == os.devnull:
        return _NoHistory()
    history = SafeFileHistory(target)
    if report is not None:
        history.report = report
    history.read_now()
    if not history._regular_file():
        return history
    try:
        _make_directories(target.parent)
        fd = _open_private(target)
        info = os.fstat(fd)
        if stat.S_ISREG(info.st_mode) and info.st_uid == os.getuid():
            os.fchmod(fd, 0o600)  # tighten a file that was made readable by others
        history._fd = fd
    except OSError as exc:
        history._write_failed = True
        history.warn_once(f"cannot create it ({exc.strerror}); going on without saving history")
    return history
