"""How the worker's half of a cluster job reaches workers that have no bgshell.

Every task a cluster job submits is ``pickle.loads(blob)``, and so is every call it
makes on workers (``client.run``): unpickling the blob calls
``boot(NAME, SOURCES, function, *args)``, which, the first time in a worker
process, executes the sources of ``work`` and ``clusterworker`` into modules of
their own, and then calls ``clusterworker.<function>(*args)``.  ``boot`` is a small
function pickled by value once; the sources (about 6 KB compressed) travel with
each blob.  So the scheduler sees only ``pickle.loads`` and bytes, and a worker
needs ``cloudpickle`` and nothing of bgshell (dask unpickles a task with plain
``pickle`` unless its bytes mention ``__main__``; a task that named a bgshell
function would fail there).  ``NAME`` carries a hash of the sources: two versions
of bgshell on one cluster never share a module.
"""

from __future__ import annotations

import functools
import importlib.util
import pickle
import sys
from typing import Any

__all__ = ["blob", "module_name"]

#: The modules that travel, in the order they are executed on a worker: each sees the
#: ones before it as globals under their short names (``clusterworker`` sees ``work``).
_SHIPPED = ("bgshell.engine.runners.work", "bgshell.engine.runners.clusterworker")


def boot(name: str, sources: bytes, function: str, *args: Any) -> Any:
    """On a worker: install the shipped modules once, then call one of their functions.

    Pickled by value, so it imports what it needs inside.  Two first jobs racing in
    one process both build the modules; ``setdefault`` keeps one.
    """
    import sys

    module = sys.modules.get(name)
    if module is None:
        import pickle
        import types
        import zlib

        built: dict[str, Any] = {}
        for short, text in pickle.loads(zlib.decompress(sources)):
            part = types.ModuleType(f"{name}.{short}")
            part.__file__ = f"<{name}/{short}.py>"
            vars(part).update(built)
            exec(compile(text, part.__file__, "exec"), vars(part))
            built[short] = sys.modules.setdefault(part.__name__, part)
        module = sys.modules.setdefault(name, built[short])
    return getattr(module, function)(*args)


@functools.cache
def _shipment() -> tuple[str, bytes, bytes]:
    """(module name on the workers, compressed sources, pickled ``boot``), made once."""
    import hashlib
    import zlib

    import cloudpickle

    parts = []
    for dotted in _SHIPPED:
        spec = importlib.util.find_spec(dotted)
        source = spec.loader.get_source(dotted) if spec and spec.loader else None  # type: ignore[attr-defined]
        if source is None:
            raise RuntimeError(f"the source of {dotted} is not installed; cluster jobs need it")
        parts.append((dotted.rsplit(".", 1)[1], source))
    packed = pickle.dumps(parts, protocol=4)
    name = "_bgshell_worker_" + hashlib.sha256(packed).hexdigest()[:12]
    here = sys.modules[__name__]
    cloudpickle.register_pickle_by_value(here)  # boot itself travels, not a reference to bgshell
    try:
        booted = cloudpickle.dumps(boot, protocol=4)
    finally:
        cloudpickle.unregister_pickle_by_value(here)
    return name, zlib.compress(packed, 9), booted


def module_name() -> str:
    """The name the worker's half has in a worker's ``sys.modules``."""
    return _shipment()[0]


class _Boot:
    """Pickles as ``pickle.loads(<boot pickled by value>)``: the boot function itself."""

    def __call__(self, *args: Any) -> Any:  # pickle wants the reducer's callable callable
        raise TypeError("only a stand-in for the boot function while pickling")

    def __reduce__(self) -> tuple[Any, ...]:
        return pickle.loads, (_shipment()[2],)


class _Call:
    """Pickles as a call of ``boot`` with the shipment and *args*."""

    def __init__(self, function: str, args: tuple[Any, ...]) -> None:
        self.function, self.args = function, args

    def __reduce__(self) -> tuple[Any, ...]:
        name, sources, _ = _shipment()
        return _Boot(), (name, sources, self.function, *self.args)


def blob(function: str, *args: Any) -> bytes:
    """Bytes whose ``pickle.loads`` on a worker returns ``clusterworker.<function>(*args)``."""
    return pickle.dumps(_Call(function, args), protocol=5)
