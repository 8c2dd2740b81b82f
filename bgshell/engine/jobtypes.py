"""The kinds of work a job can hold: an expression, a function call, interactive input.

Each knows how to run in the calling thread (``call``) and how to describe itself
to a runner that sends it to another interpreter (``describe_work``): a function
with its arguments, or compiled code with the names it uses from the namespace it
was written in.
"""

from __future__ import annotations

from typing import Any, Callable

from bgshell.engine.calllabel import call_label, label_runs_user_code
from bgshell.engine.codesplit import compile_split, is_coroutine_code, values_of_names_used
from bgshell.engine.job import BackgroundJobBase
from bgshell.engine.states import JobState

__all__ = ["BackgroundJobExpr", "BackgroundJobFunc", "BackgroundJobCode", "BackgroundJobAdopted", "Work"]

#: What ``describe_work`` returns: ``("call", func, args, kwargs)``, or ``("code",
#: statements, last_expression, names)`` where the two code objects may be None.
Work = tuple


class BackgroundJobExpr(BackgroundJobBase):
    """An expression string, evaluated in the given globals and locals."""

    def __init__(self, expression: str, glob: dict[str, Any] | None = None, loc: Any = None) -> None:
        """Compile *expression* now, so a syntax error is raised before anything starts.

        *glob* and *loc* are the namespaces it is evaluated in (empty ones if None).
        """
        self.code = compile(expression, "<BackgroundJob compilation>", "eval")
        self.expression = self.strform = expression
        self.glob = {} if glob is None else glob
        self.loc = {} if loc is None else loc
        self._init()

    def call(self) -> Any:
        return eval(self.code, self.glob, self.loc)

    def describe_work(self) -> Work:
        return ("code", None, self.code, values_of_names_used([self.code], self.glob, self.loc))


class BackgroundJobFunc(BackgroundJobBase):
    """A call of *func* with the given positional and keyword arguments."""

    def __init__(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Keep the call to make; it is shown as the call (``time.sleep(5)``), with only
        the arguments of simple types in full (see ``bgshell.engine.calllabel``)."""
        if not callable(func):
            raise TypeError("first argument to BackgroundJobFunc must be callable")
        self.func = func
        self.args = args
        self.kwargs = kwargs
        self._strform: str | None = None
        if label_runs_user_code(func):  # here, where Ctrl-C can stop a str() that hangs
            self._strform = call_label(func, args, kwargs)
        self._init()

    @property
    def strform(self) -> str:
        """The call as shown, made the first time it is asked for: labelling takes
        ~30 us, about what the rest of ``new()`` takes, and most jobs are never shown
        (a label that runs the user's code was made in ``__init__``)."""
        label = self._strform
        if label is None:
            label = self._strform = call_label(self.func, self.args, self.kwargs)
        return label

    @strform.setter
    def strform(self, value: str) -> None:
        self._strform = value

    def call(self) -> Any:
        return self.func(*self.args, **self.kwargs)

    def describe_work(self) -> Work:
        return ("call", self.func, self.args, self.kwargs)


class BackgroundJobCode(BackgroundJobBase):
    """Interactive input (statements, then maybe an expression) run in a namespace.

    What a shell's ``y = f(x) &`` becomes: the statements run in *namespace*, so
    what they bind lands there, and an input that ends in an expression has that
    expression's value as the job's result.  An input that ends in a statement has
    no value; what it bound is kept instead, in ``bindings``, when it completes.
    """

    def __init__(
        self,
        source: str,
        namespace: dict[str, Any],
        strform: str | None = None,
        *,
        filename: str = "<background>",
        first_line: int = 1,
        future_flags: int = 0,
    ) -> None:
        """Compile *source* now (a ``SyntaxError`` is raised before anything starts), as
        the code at *first_line* of *filename*, the name its tracebacks show, with the
        ``from __future__`` features *future_flags* in force."""
        self.source = source
        self.split = compile_split(source, filename, first_line, future_flags=future_flags)
        self.namespace = namespace
        self.strform = source.strip() if strform is None else strform
        #: The names the input binds at its top level, its values when it completed
        #: (None until then, and for an input that ends in an expression).
        self.bindings: dict[str, Any] | None = None
        self._init()
        if self.split.last_expr is None and self.split.bound_names:
            self.add_ended_hook(BackgroundJobCode._keep_bindings)

    def _keep_bindings(self) -> None:
        """Note the values of the names the input bound, as the job ends: after a
        process job's names have landed, before anyone is told it ended, and before
        later input can bind them again."""
        if self.state is JobState.COMPLETED:
            namespace = self.namespace
            self.bindings = {name: namespace[name] for name in self.split.bound_names if name in namespace}

    def call(self) -> Any:
        split = self.split
        if split.is_async:  # top-level await: the job continues as a coroutine job
            return self._call_async()
        if split.body is not None:
            exec(split.body, self.namespace)
        if split.last_expr is not None:
            return eval(split.last_expr, self.namespace)
        return None

    async def _call_async(self) -> Any:
        value = None
        for code in (self.split.body, self.split.last_expr):
            if code is not None:
                value = eval(code, self.namespace)
                if is_coroutine_code(code):
                    value = await value
        return value if self.split.last_expr is not None else None

    def describe_work(self) -> Work:
        split = self.split
        names = values_of_names_used([split.body, split.last_expr], self.namespace)
        return ("code", split.body, split.last_expr, names)


class BackgroundJobAdopted(BackgroundJobBase):
    """Code that was already running when it became a job: a foreground input the user
    sent to the background (Ctrl-Z).  It goes on in the thread it started in; whoever
    runs it ends the job (``bgshell.engine.runners.thread.end_adopted``)."""

    def __init__(self, label: str) -> None:
        self.strform = label
        self._init()

    def call(self) -> Any:
        raise RuntimeError("an adopted job's code is already running; it has nothing to call")

    def describe_work(self) -> Work:
        raise RuntimeError("an adopted job cannot be sent anywhere: its code is running")
