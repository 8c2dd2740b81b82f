"""Running a job's unpacked work in another interpreter, and packing what comes back.

Shared by the two kinds of job that run away from the shell: a process job's child
(``child``) and a cluster job on a dask worker (``clusterworker``).  A dask worker
has no bgshell installed, so this module travels there as source text (see
``clustership``): it imports nothing from bgshell, only the standard library and,
where a function needs it, ``cloudpickle``.

The outcome of a job is ``("ok", value, exports)`` or ``("error", pickled
exception or None, traceback text, (type name, message))``.  The exception is
pickled on its own, so one that the shell cannot rebuild (its ``__init__`` wants
arguments pickle does not give it) loses nothing else.
"""

from __future__ import annotations

import io
import marshal
import pickle
import traceback
from collections import ChainMap
from types import CodeType, FrameType
from typing import Any, Callable

__all__ = ["dumps", "run", "settle", "remember_sources", "error_outcome"]


def _reduce_code(code: CodeType) -> tuple[Any, ...]:
    """A code object as ``marshal`` writes it: whole, its file name included (cloudpickle
    renames every file ``<dynamic-code>``, so tracebacks could not find the lines)."""
    return marshal.loads, (marshal.dumps(code),)


def dumps(value: Any) -> bytes:
    """cloudpickle *value*, keeping the file names of the code objects in it.

    Both ends run the same version of Python (dask requires it of a cluster too), so
    marshal's format is the same on both.
    """
    import cloudpickle

    class Pickler(cloudpickle.Pickler):
        dispatch_table = ChainMap({CodeType: _reduce_code}, cloudpickle.Pickler.dispatch_table)

    buffer = io.BytesIO()
    Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return buffer.getvalue()


def run(work: tuple[Any, ...]) -> tuple[Any, dict[str, Any]]:
    """Execute unpacked *work*; return (value, names the code bound or rebound)."""
    what = work[0]
    if what == "call":
        _, func, args, kwargs = work
        return settle(func(*args, **kwargs)), {}
    if what == "code":
        _, body, last_expr, namespace = work
        sent = dict(namespace)
        namespace.setdefault("__builtins__", __builtins__)
        namespace.setdefault("__name__", "__main__")
        if body is not None:
            exec(body, namespace)
        value = settle(eval(last_expr, namespace) if last_expr is not None else None)
        exports = {
            name: obj
            for name, obj in namespace.items()
            if not name.startswith("__") and (name not in sent or sent[name] is not obj)
        }
        return value, exports
    raise ValueError(f"unknown payload {what!r}")


async def _await(awaitable: Any) -> Any:
    return await awaitable


def settle(value: Any) -> Any:
    """An awaitable value (``fetch(url) &:process``) is run to its end here.

    Tested on the type, as ``await`` itself looks: an instance attribute does not count.
    """
    if hasattr(type(value), "__await__"):
        import asyncio

        return asyncio.run(_await(value))
    return value


def remember_sources(sources: dict[str, list[str]]) -> list[str]:
    """Make the shell's pseudo-files (``<python-input-3>``) readable by ``linecache``
    here, so a traceback shows the lines typed at the prompt; returns their names."""
    import linecache

    for name, lines in sources.items():
        linecache.cache[name] = (sum(map(len, lines)), None, lines, name)
    return list(sources)


def error_outcome(exc: BaseException, is_own: Callable[[FrameType], bool]) -> tuple[Any, ...]:
    """``("error", pickled exception or None, traceback text, (type name, message))``.

    *is_own* tells the runner's own frames, which are left out of the traceback's top.
    """
    import cloudpickle

    try:
        pickled: bytes | None = dumps(exc)
        cloudpickle.loads(pickled)  # the shell will have to rebuild it: can it be?
    except BaseException:
        pickled = None
    try:
        message = str(exc)
    except BaseException:
        message = "<the exception's message could not be shown>"
    tb = exc.__traceback__
    while tb is not None and is_own(tb.tb_frame):
        tb = tb.tb_next
    try:
        text = "".join(traceback.format_exception(type(exc), exc, tb))
    except BaseException:
        text = f"{type(exc).__name__}: {message}\n"
    return ("error", pickled, text, (type(exc).__name__, message))
