"""How a function job is called in listings: ``time.sleep(5)``, ``f(1, 'a', x=2)``.

The label is made when the job is first shown, in whatever thread shows it, so its
cost must be bounded and it must never fail or hang, whatever the function and its
arguments are.  The one label that runs the user's code, a callable object's
``str()``, is made at once instead (``label_runs_user_code``), in the caller's
thread, where a ``str()`` that hangs can be interrupted with Ctrl-C:

* the function is named by its ``__qualname__`` when it is a function, a method,
  a builtin or a class, with its module in front for a module-level one outside
  ``builtins`` and ``__main__`` (``time.sleep``, ``math.factorial``, but ``f`` for a
  function defined at the prompt, ``Event.wait`` for a method, ``inner`` for a
  function defined inside another); a ``functools.partial`` is shown as the call
  it makes;
* any other callable (an object with ``__call__``) keeps its ``str()``, as jobs
  were labelled before; a ``str()`` that fails is ``<TYPE object>``;
* arguments of the simple built-in types (``None``, ``bool``, ``int``, ``float``,
  ``complex``, ``str``, ``bytes``, and lists, tuples, sets and dicts of them) are
  shown by their repr, cut short with ``...`` (a long string, a container of more
  than a few items, an int of more than 40 digits); any other argument is
  ``<TYPE>`` (``f(<DataFrame>)``): its ``__repr__`` is user code that may be slow,
  huge or hostile, and a label is not worth running it.
"""

from __future__ import annotations

import functools
import types
from itertools import islice
from typing import Any, Callable

from bgshell.engine.tracebacks import plain_str, type_name

__all__ = ["call_label", "label_runs_user_code"]

#: Characters of a string argument shown; more become ``...``.
MAX_STR = 24
#: Items of a container argument shown; more become ``...``.
MAX_ITEMS = 4
#: Digits of an int argument shown in full; a longer int is ``<int>``.
MAX_DIGITS = 40
#: Characters of all the arguments together; the rest become ``...``.
MAX_ARGS = 120

_NAMED = (
    types.FunctionType, types.BuiltinFunctionType, types.MethodType, types.MethodWrapperType,
    types.WrapperDescriptorType, types.MethodDescriptorType, types.ClassMethodDescriptorType, type,
)
_SCALARS = (type(None), bool, float, complex)
_CONTAINERS = {list: ("[", "]"), tuple: ("(", ")"), set: ("{", "}"), frozenset: ("frozenset({", "})")}


def call_label(func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """The label of a job that calls ``func(*args, **kwargs)`` (see the module's rules)."""
    if type(func) is functools.partial:
        try:
            inner, more_args, more_kwargs = func.func, func.args, func.keywords
            return call_label(inner, more_args + args, {**more_kwargs, **kwargs})
        except Exception:  # a partial's parts are plain attributes; be safe all the same
            pass
    name = _name(func)
    if name is None:
        return _safe_str(func)
    return f"{name}({_arguments(args, kwargs)})"


def label_runs_user_code(func: Callable[..., Any]) -> bool:
    """Whether ``call_label`` would call *func*'s ``str()``: it is not a function,
    method, builtin or class, nor a ``functools.partial`` of one."""
    try:
        while type(func) is functools.partial:
            func = func.func
    except Exception:  # plain attributes of a partial; be safe all the same
        return True
    return _name(func) is None


def _name(func: Any) -> str | None:
    """How to call *func* by name, or None when it has no name worth showing."""
    if not issubclass(type(func), _NAMED):  # not isinstance: it would ask a hostile __class__
        return None
    qualname = _plain_attribute(func, "__qualname__") or _plain_attribute(func, "__name__")
    if qualname is None:
        return None
    if "<locals>" in qualname:
        return qualname.rsplit(".", 1)[-1]  # `inner`, not `outer.<locals>.inner`
    module = _plain_attribute(func, "__module__")
    if "." not in qualname and module not in (None, "builtins", "__main__"):
        return f"{module}.{qualname}"
    return qualname


def _arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """``1, 'a', x=2``: the arguments shown, cut at ``MAX_ARGS`` characters."""
    shown: list[str] = []
    length = 0
    items = [(None, value) for value in args] + [(key, value) for key, value in kwargs.items()]
    for key, value in items:
        text = _argument(value) if key is None else f"{_keyword(key)}={_argument(value)}"
        length += len(text) + 2
        if length > MAX_ARGS:
            shown.append("...")
            break
        shown.append(text)
    return ", ".join(shown)


def _keyword(key: Any) -> str:
    return key if type(key) is str and key.isidentifier() else "..."


def _argument(value: Any, depth: int = 0) -> str:
    """One argument: a simple value's repr, cut short; ``<TYPE>`` for anything else."""
    kind = type(value)
    if kind in _SCALARS:
        return repr(value)
    if kind is int:
        return repr(value) if value.bit_length() <= MAX_DIGITS * 3 else "<int>"
    if kind is str or kind is bytes:
        if len(value) <= MAX_STR:
            return repr(value)
        quoted = repr(value[:MAX_STR])
        return quoted[:-1] + "..." + quoted[-1]
    if (kind in _CONTAINERS or kind is dict) and depth < 2:
        try:
            return _container(value, depth)
        except Exception:  # changed by another thread while we looked
            pass
    return f"<{type_name(value)}>"


def _container(value: Any, depth: int) -> str:
    kind = type(value)
    if kind is dict:
        opening, closing = "{", "}"
        parts = [f"{_argument(k, depth + 1)}: {_argument(v, depth + 1)}"
                 for k, v in islice(value.items(), MAX_ITEMS)]
    else:
        opening, closing = _CONTAINERS[kind]
        parts = [_argument(item, depth + 1) for item in islice(value, MAX_ITEMS)]
    if len(value) > MAX_ITEMS:
        parts.append("...")
    if kind is tuple and len(value) == 1:
        return f"({parts[0]},)"
    if not parts and kind in (set, frozenset):
        return f"{kind.__name__}()"
    return opening + ", ".join(parts) + closing


def _plain_attribute(obj: Any, name: str) -> str | None:
    """``obj.name`` when it is a plain ``str``; None when it is not, or cannot be read."""
    try:
        value = getattr(obj, name, None)
    except KeyboardInterrupt:
        raise
    except BaseException:  # a hostile property, even one raising SystemExit
        return None
    return value if type(value) is str else None


def _safe_str(obj: object) -> str:
    """``str(obj)`` for a label, or ``<TYPE object>`` when its ``__str__`` fails in any
    way (even with ``SystemExit``).  ``KeyboardInterrupt`` passes: it is the user's
    Ctrl-C on a ``__str__`` that hangs."""
    try:
        text = str(obj)
        if isinstance(text, str):
            return plain_str(text)
    except KeyboardInterrupt:
        raise
    except BaseException:
        pass
    return f"<{type_name(obj)} object>"
