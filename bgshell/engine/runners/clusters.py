"""Where cluster jobs run: naming a cluster, starting a local one, connecting to one.

Nothing here imports dask (nor ``logging`` or ``subprocess``) at module level: a shell that never asks for a cluster
never pays for it (``import distributed`` takes about 0.3 s), and without the
``dask`` extra the only cost is one look for the package, which yields the one-line
install hint.  dask's own log lines and warnings never reach the terminal: once
dask is imported its loggers write to the cluster log file only
(``quiet_dask``), and a local cluster's processes write nothing but that file
(see ``clusterhost``).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import IO, Any, NamedTuple

__all__ = [
    "INSTALL_HINT", "ClusterUnavailable", "ClusterError", "ClusterSpec", "cluster",
    "require_dask", "configured_spec", "log_path", "quiet_dask", "LocalHost", "connect",
]

INSTALL_HINT = "cluster jobs need dask.distributed: pip install 'bgshell[dask]'"
#: Seconds to reach a scheduler; after losing one, dask tries again for as long.
CONNECT_SECONDS = 10.0
#: Seconds a local cluster gets to start, and to close before it is killed.
START_SECONDS = 60.0
STOP_SECONDS = 1.0
#: The log file is started afresh (the old one kept as ``.1``) past this size.
LOG_LIMIT = 8 * 1024 * 1024
#: The loggers of dask and of what it uses, all of which may write on their own.
_DASK_LOGGERS = ("distributed", "dask", "tornado", "asyncio", "bokeh", "concurrent.futures")


class ClusterUnavailable(RuntimeError):
    """dask.distributed is not installed; the message says how to install it."""


class ClusterError(RuntimeError):
    """A cluster could not be started or reached, or was lost: one line for the user."""


def require_dask() -> None:
    """Raise ``ClusterUnavailable`` (the install hint) unless dask.distributed is there."""
    if importlib.util.find_spec("distributed") is None:
        raise ClusterUnavailable(INSTALL_HINT)


class ClusterSpec(NamedTuple):
    """Which cluster: a scheduler's *address*, or (address None) a local cluster of
    *workers* processes (None: one per CPU).  (A named tuple: the command line makes
    one at every start, and a dataclass costs a millisecond to define.)"""

    address: str | None = None
    workers: int | None = None

    def __str__(self) -> str:
        if self.address is not None:
            return self.address
        return "local" if self.workers is None else f"local:{self.workers}"


def cluster(text: str) -> ClusterSpec:
    """``local``, ``local:N`` or a scheduler's address (``tcp://HOST:PORT``, ``tls://...``,
    ``HOST:PORT``) as a ``ClusterSpec``; ValueError for anything else.  Named for the
    message argparse makes of a ValueError ("invalid cluster value")."""
    text = text.strip()
    name, _, count = text.partition(":")
    if name == "local":
        if not count:
            return ClusterSpec()
        if count.isdigit() and int(count) > 0:
            return ClusterSpec(workers=int(count))
        raise ValueError(f"local:N wants a number of workers above 0, not {count!r}")
    scheme, found, rest = text.rpartition("://")
    host, _, port = (rest if found else text).rpartition(":")
    if (found and not scheme.isidentifier()) or not host or not port.isdigit():
        raise ValueError(f"not local[:N] nor a scheduler address (tcp://HOST:PORT): {text!r}")
    return ClusterSpec(address=text)


def configured_spec() -> ClusterSpec:
    """The cluster dask's configuration names (``DASK_SCHEDULER_ADDRESS``, or
    ``scheduler-address`` in its files), else a local one.  Imports dask."""
    import dask

    address = dask.config.get("scheduler-address", None)
    return ClusterSpec(address=str(address)) if address else ClusterSpec()


def state_dir() -> Path:
    """``$XDG_STATE_HOME/bgshell``, or ``~/.local/state/bgshell``."""
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(state) / "bgshell"


def log_path() -> Path:
    """The cluster log file, its folder made private (0700) when it is made; a file
    past ``LOG_LIMIT`` is moved aside (one old file is kept)."""
    folder = state_dir()
    if not folder.is_dir():
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / "cluster.log"
    try:
        if path.stat().st_size > LOG_LIMIT:
            path.replace(path.with_name("cluster.log.1"))
    except OSError:
        pass
    open_log(path).close()  # made private before anything else opens it
    return path


def open_log(path: Path) -> IO[bytes]:
    """The log file, for appending, readable by its owner only (it may name addresses,
    and what jobs printed outside their own output)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        if os.fstat(fd).st_uid == os.getuid():
            os.fchmod(fd, 0o600)
    except OSError:
        pass
    return os.fdopen(fd, "ab")


def quiet_dask(path: Path) -> None:
    """Send every logger of dask (and of tornado, asyncio...) to the log file only, and
    ignore dask's version-mismatch warnings, which it prints as a table.

    After ``import distributed``, which gives its logger a handler on stderr.
    """
    import logging
    import warnings

    from distributed.versions import VersionMismatchWarning

    warnings.filterwarnings("ignore", category=VersionMismatchWarning)
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(process)d %(name)s %(levelname)s %(message)s"))
    for name, logger in [(n, logging.getLogger(n)) for n in _DASK_LOGGERS] + list(
        logging.Logger.manager.loggerDict.items()
    ):
        if not isinstance(logger, logging.Logger) or name.split(".")[0] not in _DASK_LOGGERS:
            continue
        for old in list(logger.handlers):
            logger.removeHandler(old)
        if name in _DASK_LOGGERS:
            logger.addHandler(handler)
            logger.propagate = False
        else:
            logger.propagate = True


class LocalHost:
    """A local cluster's host process (``clusterhost``), seen from the shell.

    Started in its own session, in the shell's current directory with the shell's
    ``sys.path``, so the workers import what the prompt can.
    """

    process: Any  # subprocess.Popen, imported with the first local cluster

    def __init__(self, workers: int, log: Path) -> None:
        import subprocess

        spec = importlib.util.find_spec("bgshell.engine.runners.clusterhost")
        source = spec.loader.get_source(spec.name) if spec and spec.loader else None  # type: ignore[attr-defined]
        if source is None:
            raise ClusterError("the source of bgshell's cluster host is not installed")
        env = dict(os.environ)
        if not sys.flags.isolated:
            env["PYTHONPATH"] = os.pathsep.join(_own_path())
        with open_log(log) as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-c", source, str(workers)], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=stderr, env=env, start_new_session=True,
            )

    def wait_started(self) -> dict[str, Any]:
        """Block until the host says where the cluster is: ``{"address", "dashboard"}``."""
        import json

        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        self.process.stdout.close()
        try:
            info = json.loads(line) if line else {"error": "the cluster's process ended at start"}
        except ValueError:
            info = {"error": "the cluster's process said something unexpected at start"}
        if "error" in info:
            self.stop()
            raise ClusterError(f"the local cluster did not start: {info['error']}")
        return info

    def stop(self, grace: float = STOP_SECONDS) -> None:
        """Close the cluster: end of input tells the host; after *grace* seconds, every
        process of its session is killed, so nothing is left running."""
        import signal
        import subprocess

        process = self.process
        try:
            if process.stdin is not None:
                process.stdin.close()
        except OSError:
            pass
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(process.pid, signal.SIGKILL)  # workers left behind, if any
        except (ProcessLookupError, PermissionError):
            pass
        process.wait()


def _own_path() -> list[str]:
    """The folders of ``sys.path`` that the interpreter does not add by itself (the
    current folder for ``''``, PYTHONPATH's, the user's): what a worker started by
    the same interpreter needs to import what the shell can."""
    installed = {os.path.abspath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    found = []
    for entry in sys.path:
        path = os.path.abspath(entry)
        if any(path == top or path.startswith(top + os.sep) for top in installed):
            continue
        if os.path.basename(path) in ("site-packages", "dist-packages") or path in found:
            continue
        found.append(path)
    return found


def connect(address: str) -> Any:
    """A ``distributed.Client`` for the scheduler at *address*, or ``ClusterError`` in
    one line.  TLS certificates and other security settings come from dask's
    configuration, as for any dask client."""
    import distributed

    try:
        return distributed.Client(address, set_as_default=False, timeout=CONNECT_SECONDS)
    except TypeError as exc:
        if "TLS" in str(exc) or "ssl" in str(exc):
            raise ClusterError(
                f"cannot connect to {address}: tls:// needs certificates in dask's configuration "
                "(distributed.comm.tls.ca-file, .client.cert, .client.key)"
            ) from None
        raise ClusterError(f"cannot connect to {address}: {exc}") from None
    except (OSError, RuntimeError, ValueError) as exc:
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise ClusterError(f"cannot connect to {address}: {detail}") from None
