"""The process that holds a local cluster for a session (``--cluster local``).

The shell runs this file's source with ``python -c`` (never ``-m``: dask starts its
worker processes with multiprocessing's "spawn", which would import the module
named by ``-m`` again in every worker) as ``python -c SOURCE WORKERS``, in a
session of its own, with its stderr on the cluster's log file.  Why a process
between the shell and dask's:

* the scheduler, the nannies and the workers inherit its file descriptors 1 and 2,
  which are the log file, so nothing they or their tasks write reaches the
  terminal (dask has no option to send a worker's output elsewhere);
* in a session of its own, Ctrl-C at the terminal (SIGINT to the foreground process
  group) never reaches the workers;
* it lives exactly as long as its stdin pipe from the shell: when the shell closes
  it, or dies in any way, it closes the cluster and exits, and dask's workers exit
  when their parent does.

Everything listens on 127.0.0.1 only, the dashboard included (dask's default for the
dashboard is every interface), and the scheduler lets no task be retried after its
worker died (``allowed-failures`` 0), so a job runs at most once.  The one line it
writes on its original stdout is JSON: the address and the dashboard, or an error.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

__all__ = ["main"]

#: Seconds dask gets to close the cluster once the shell has gone.
CLOSE_SECONDS = 10


def _start(workers: int) -> Any:
    import dask
    import distributed

    dask.config.set({"distributed.scheduler.allowed-failures": 0})
    return distributed.LocalCluster(
        n_workers=workers,
        processes=True,
        host="127.0.0.1",  # the scheduler, the nannies and the workers
        dashboard_address="127.0.0.1:0",  # not dask's ":8787", which is every interface
        silence_logs=False,  # their log lines go to the log file, with the rest
    )


def main() -> int:
    """Start the cluster, say where it is, and keep it until stdin closes."""
    reply = os.fdopen(os.dup(1), "w")  # the one line for the shell
    os.dup2(2, 1)  # from now on fd 1 is the log file too, for every process started
    sys.stdout = os.fdopen(1, "w", buffering=1)
    try:
        cluster = _start(int(sys.argv[1]))
        info = {"address": cluster.scheduler_address, "dashboard": cluster.dashboard_link, "pid": os.getpid()}
    except BaseException as exc:  # one line for the shell, the details in the log
        import traceback

        traceback.print_exc()
        reply.write(json.dumps({"error": f"{type(exc).__name__}: {exc}"}) + "\n")
        reply.close()
        return 1
    reply.write(json.dumps(info) + "\n")
    reply.close()
    sys.stdin.buffer.read()  # until the shell closes the pipe or goes away
    cluster.close(timeout=CLOSE_SECONDS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
