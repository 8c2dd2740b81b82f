"""A job's work packed in the shell for another interpreter (a process, a cluster).

``pack`` cloudpickles what ``job.describe_work()`` gives: a function with its
arguments, or compiled code with the values of the names it uses, so that
functions and lambdas defined at the prompt travel by value (modules by
reference).  Over there, ``work.run`` executes it and returns its value and the
names the code bound, which go back to land in the shell's namespace.
"""

from __future__ import annotations

from types import CodeType
from typing import Any

from bgshell.engine.runners.work import dumps
from bgshell.engine.tracebacks import describe_exception

__all__ = ["PayloadError", "dumps", "pack", "sources_for", "rebuilt", "land"]


class PayloadError(RuntimeError):
    """The work cannot be sent: one line saying which value stands in the way."""


def pack(work: tuple[Any, ...], destination: str = "a process") -> bytes:
    """Pickle *work* (with the source of code typed at the prompt that it may run, see
    ``sources_for``); on failure name the value that cannot be sent to *destination*."""
    import cloudpickle

    try:
        return dumps((work, sources_for(work)))
    except KeyboardInterrupt:
        raise  # Ctrl-C on a slow pickling: the user's, not the value's
    except BaseException as exc:  # a hostile __reduce__ may raise anything, SystemExit too
        culprit = ""
        if work[0] == "code":
            for name, value in work[3].items():
                try:
                    cloudpickle.dumps(value)
                except KeyboardInterrupt:
                    raise
                except BaseException:
                    culprit = f" (the value of {name!r})"
                    break
        raise PayloadError(
            f"cannot send the job to {destination}{culprit}: {describe_exception(exc)}"
        ) from None


def _code_objects(value: Any) -> list[CodeType]:
    """The code objects of a function, a class's methods, or a code object itself."""
    if isinstance(value, CodeType):
        return [value]
    code = getattr(value, "__code__", None)
    if isinstance(code, CodeType):
        return [code]
    if isinstance(value, type):
        return [c for member in vars(value).values() for c in _code_objects(getattr(member, "__func__", member))
                if not isinstance(member, type)]
    return []


def sources_for(work: tuple[Any, ...]) -> dict[str, list[str]]:
    """The lines of every pseudo-file (``<python-input-3>``, ``<string>``) that *work*'s
    code, and the functions and classes it reaches, were compiled from.

    Another interpreter's ``linecache`` has none of them, and without them a job's
    traceback would show no source lines for code typed at the prompt.
    """
    try:
        return _sources_for(work)
    except KeyboardInterrupt:
        raise
    except BaseException:  # a hostile object among the values: send no sources
        return {}


def _sources_for(work: tuple[Any, ...]) -> dict[str, list[str]]:
    import linecache

    pending: list[Any] = list(work[1:3]) if work[0] == "code" else [work[1], *work[2], *work[3].values()]
    if work[0] == "code":
        pending += list(work[3].values())
    found: dict[str, list[str]] = {}
    seen: set[int] = set()
    while pending and len(seen) < 10_000:
        value = pending.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        scope = getattr(value, "__globals__", {})
        for code in _code_objects(value):
            name = code.co_filename
            if name.startswith("<") and name not in found and name in linecache.cache:
                found[name] = linecache.cache[name][2]
            pending += [const for const in code.co_consts if isinstance(const, CodeType)]
            pending += [scope[name] for name in code.co_names if name in scope]
    return found


def rebuilt(pickled: bytes | None, described: tuple[str, str], stand_in: type[BaseException]) -> BaseException:
    """The exception a job raised over there, or, if it cannot be rebuilt here (its
    class is not importable here, its ``__init__`` wants other arguments), one of a
    class of the same name derived from *stand_in*, with the same message."""
    if pickled is not None:
        import cloudpickle

        try:
            return cloudpickle.loads(pickled)
        except BaseException:
            pass
    name, message = described
    made = type(name, (stand_in,), {"__module__": stand_in.__module__, "__doc__": stand_in.__doc__})
    return made(message)


def land(job: Any, outcome: tuple[Any, ...], *, killed: bool, stand_in: type[BaseException]) -> None:
    """End *job* from the outcome its work had over there (see ``work``): with its value,
    the names it bound landing in the job's namespace, or with its exception."""
    if outcome[0] == "ok":
        _, value, exports = outcome
        namespace = getattr(job, "namespace", None)
        if exports and isinstance(namespace, dict):
            namespace.update(exports)
        job.set_result(value)
    else:
        _, pickled, tb_text, described = outcome
        job.set_exception(rebuilt(pickled, described, stand_in), tb_text=tb_text, killed=killed)
