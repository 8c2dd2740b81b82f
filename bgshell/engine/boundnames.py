"""The names a piece of code binds at its top level, read from its syntax tree.

What ``result N`` of a statement job (``z = f(7) &``) shows: a statement has no
value, so the names it bound stand for it.  Read from the tree, not by comparing
the namespace before and after: a thread job shares the namespace with the prompt,
which may bind names of its own meanwhile, and ``x = 5`` binding the 5 that was
already there is still a binding.

Top level means the module's scope: assignments of every form (``=``, ``+=``,
annotated with a value, unpacking, the walrus, also inside a comprehension),
``for`` and ``with ... as`` targets, imports, ``def`` and ``class`` names, ``match``
captures and ``type`` aliases, also inside top-level ``if``/``for``/``while``/
``try``/``with`` blocks; not what functions, classes and comprehensions bind in
their own scopes, nor ``except ... as e`` (Python deletes ``e`` after the handler),
nor ``from m import *`` (the names are not in the code).
"""

from __future__ import annotations

import ast

__all__ = ["bound_names"]


def bound_names(tree: ast.AST) -> tuple[str, ...]:
    """The names *tree* binds in its own (module) scope, in order of first binding."""
    finder = _Finder()
    finder.visit(tree)
    return tuple(finder.names)


class _Finder(ast.NodeVisitor):
    """Collects bindings in the module's scope; steps into other scopes only for what
    is evaluated in the module's (decorators, defaults, base classes, the first
    iterable of a comprehension, a walrus)."""

    def __init__(self) -> None:
        self.names: dict[str, None] = {}

    def _bind(self, name: str | None) -> None:
        if name:
            self.names.setdefault(name, None)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Store):
            self._bind(node.id)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:  # `x: int` alone binds nothing
            self.visit(node.target)
            self.visit(node.value)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._bind(alias.asname or alias.name.split(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            if alias.name != "*":
                self._bind(alias.asname or alias.name)

    def _visit_definition(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        if isinstance(node, ast.ClassDef):
            for base in [*node.bases, *node.keywords]:
                self.visit(base)
        else:
            self._visit_defaults(node.args)
        self._bind(node.name)

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _visit_definition

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._visit_defaults(node.args)

    def _visit_defaults(self, args: ast.arguments) -> None:
        for default in [*args.defaults, *args.kw_defaults]:
            if default is not None:
                self.visit(default)

    def _visit_comprehension(self, node: ast.AST) -> None:
        """A comprehension's targets are its own; a walrus inside it binds here."""
        for generator in node.generators:  # type: ignore[attr-defined]
            self.visit(generator.iter)
            for condition in generator.ifs:
                self.visit(condition)
        for field in ("elt", "key", "value"):
            part = getattr(node, field, None)
            if part is not None:
                self.visit(part)

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = _visit_comprehension

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self._bind(node.target.id)
        self.visit(node.value)

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        self.generic_visit(node)
        self._bind(node.name)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        self._bind(node.name)

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        self.generic_visit(node)
        self._bind(node.rest)
