"""Name binding analysis shared by the scope rules (F401, F811, F821, F841, B007, F402).

One pass over the module builds every scope, binding and use, the way pyflakes does it
(function bodies are deferred until the enclosing module has been seen, so late binding
works), and records what the rules report. The walk is iterative: an explicit work stack
of ``(node, parent, annotation state, NameError guard)`` items and plain callables
(scope entry/exit), so a 900-term ``1 + 1 + ...`` or deeply nested code cannot overflow
the interpreter stack.

Semantics follow pyflakes where ruff agrees with it; where they differ, ruff's choice
is taken, since it is the one that avoids false positives (measured on the stdlib by
``scripts/differential.py``; see ``docs/implementation/differential.md``):

* ``import x as x`` / ``from a import b as b`` is an explicit re-export, never unused;
  ``from m import *`` is not itself reported as unused;
* a redefinition (F811) counts only inside one branch (if/else arm, try body, handler,
  finally, match case, with body), and plain re-assignment never redefines;
* ``del x`` and the end of an ``except ... as x`` handler leave ``x`` unbound in its
  scope: a later read is undefined (F821), even under a star import;
* names starting with an underscore are dummies for F841 (ruff's default
  ``dummy-variable-rgx``), as is ``_`` in pyflakes.

ems goes further than both in one place: names added to ``__all__`` with ``.extend()``
or ``.append()`` count as exported.
"""

from __future__ import annotations

import ast
import bisect
import builtins
import functools
import operator
import re
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from ems.core.node_classes import WalkedClasses

if TYPE_CHECKING:
    from ems.core.rule import AnalysisContext

BUILTINS: frozenset[str] = frozenset(n for n in dir(builtins) if n != "_") | {
    "__file__",
    "__builtins__",
    "__annotations__",
    "__cached__",
    "WindowsError",
    # added by the ``site`` module, always present in a normal interpreter
    "copyright",
    "credits",
    "exit",
    "help",
    "license",
    "quit",
}
CLASS_MAGIC = frozenset({"__module__", "__qualname__"})
ALWAYS_USED = frozenset(
    {"__tracebackhide__", "__traceback_info__", "__traceback_supplement__", "__debuggerskip__"}
)
TYPING_MODULES = frozenset({"typing", "typing_extensions"})
DUMMY = re.compile(r"^(_+|(_+[a-zA-Z0-9_]*[a-zA-Z0-9]+?))$")

# Annotation states carried by each work item.
NO_ANNOTATION, STRING_ANNOTATION, BARE_ANNOTATION = 0, 1, 2

# Scope kinds.
MODULE, CLASS, FUNCTION, COMPREHENSION, GENERATOR, TYPE_PARAMS = range(6)

_FOR_TYPES = (ast.For, ast.AsyncFor)
_TRY_TYPES: tuple[type[ast.AST], ...] = (ast.Try, *((ast.TryStar,) if hasattr(ast, "TryStar") else ()))
_LOOP_TARGET_TYPES = (*_FOR_TYPES, ast.comprehension)
_SKIP_IN_GET_PARENT = (ast.Tuple, ast.List, ast.Set, ast.Starred, ast.Name, ast.Attribute, ast.Subscript)
# Fields that never hold a node that binds or reads a name (operators, contexts, flags).
_SCALAR_FIELDS = frozenset(
    {"ctx", "op", "ops", "type_comment", "kind", "conversion", "is_async", "level", "simple"}
)
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}
_REVERSED_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}
_FIELD_GETTERS: dict[type, Callable[[Any], Iterable[Any]]] = {}
# The work loop's own cases in ``_Checker._dispatch`` (its handlers are callables).
_NAME, _CALL, _COLLECT, _COLLECT_OUTSIDE_FUNCTIONS, _COLLECT_VALUES, _COLLECT_SPLIT = 1, 2, 3, 4, 5, 6


def _child_fields(cls: type[ast.AST]) -> tuple[str, ...]:
    """The fields of ``cls`` that may hold a node binding or reading a name."""
    fields = _CHILD_FIELDS.get(cls)
    if fields is None:
        fields = _CHILD_FIELDS[cls] = tuple(f for f in cls._fields if f not in _SCALAR_FIELDS)
    return fields


@functools.cache
def _walked_classes(skip_constants: bool) -> WalkedClasses:
    """Which field values the pass descends into; shared by every checker of the process
    (filled once per class: filling it per file cost 2 % of the pass). Outside an
    annotation a plain constant binds and reads nothing, so it is skipped."""
    return WalkedClasses((ast.Constant,) if skip_constants else ())


def _field_getter(cls: type[ast.AST]) -> Callable[[Any], Iterable[Any]]:
    """A function giving the values of ``_child_fields(cls)`` of a node, in order: one C
    call per node instead of a ``getattr`` per field. A node made by hand may lack a field
    (``getattr``'s default None then, as before)."""
    getter = _FIELD_GETTERS.get(cls)
    if getter is None:
        fields = _child_fields(cls)
        if not fields:
            getter = _no_fields
        elif len(fields) == 1:
            one = fields[0]
            getter = lambda node: (getattr(node, one, None),)  # noqa: E731
        else:
            every = operator.attrgetter(*fields)

            def getter(node: Any) -> Iterable[Any]:
                try:
                    return every(node)
                except AttributeError:
                    return [getattr(node, f, None) for f in fields]

        _FIELD_GETTERS[cls] = getter
    return getter


def _no_fields(node: Any) -> tuple[()]:
    return ()


def _reversed_child_fields(cls: type[ast.AST]) -> tuple[str, ...]:
    """``_child_fields`` last first, for pushing children onto the work stack."""
    fields = _REVERSED_CHILD_FIELDS.get(cls)
    if fields is None:
        fields = _REVERSED_CHILD_FIELDS[cls] = _child_fields(cls)[::-1]
    return fields


# --------------------------------------------------------------------------- bindings


class Binding:
    """A name bound to a value; ``source`` is the node pyflakes reports at."""

    __slots__ = ("name", "source", "used")

    def __init__(self, name: str, source: ast.AST | None) -> None:
        self.name = name
        self.source = source
        self.used = False

    def redefines(self, other: Binding) -> bool:
        return isinstance(other, Definition) and self.name == other.name

    def __repr__(self) -> str:
        line = getattr(self.source, "lineno", None)
        return f"<{type(self).__name__} {self.name!r} line {line}>"


class Definition(Binding):
    """A function, class or import."""

    __slots__ = ()

    def redefines(self, other: Binding) -> bool:
        return super().redefines(other) or (isinstance(other, Assignment) and self.name == other.name)


class Builtin(Definition):
    """A name the interpreter provides. One unchangeable instance per name serves every
    module (making ~160 of them per file was 5 % of the pass): whether a module read it is
    kept by its checker (``_Checker.builtins_read``), so ``used`` never changes here."""

    __slots__ = ()

    @property
    def used(self) -> bool:
        return False

    @used.setter
    def used(self, value: bool) -> None:
        return None


@functools.cache
def _builtin_scope(is_init: bool) -> dict[str, Builtin]:
    """The bindings a module starts with (never changed: ``Scope.update`` copies them)."""
    names = BUILTINS | {"__path__"} if is_init else BUILTINS
    return {name: Builtin(name, None) for name in sorted(names)}


class Importation(Definition):
    """``import a.b as c``: ``full_name`` is what was imported, ``alias`` the ast.alias."""

    __slots__ = ("alias", "aliased", "full_name", "redefined")

    def __init__(self, name: str, source: ast.AST, full_name: str | None, alias: ast.alias | None) -> None:
        super().__init__(name, source)
        self.full_name = full_name or name
        self.alias = alias
        self.redefined: list[tuple[ast.AST, Binding]] = []
        # read on every load of the name: computed once, not split per read
        self.aliased = self.full_name.split(".")[-1] != name

    def redefines(self, other: Binding) -> bool:
        if isinstance(other, SubmoduleImportation):
            return self.full_name == other.full_name
        return isinstance(other, Definition) and self.name == other.name

    def has_alias(self) -> bool:
        return self.aliased

    @property
    def is_explicit_reexport(self) -> bool:
        """``import x as x`` / ``from a import b as b``: the PEP 484 re-export idiom."""
        return (
            self.alias is not None and self.alias.asname is not None and self.alias.asname == self.alias.name
        )

    @property
    def qualified_name(self) -> str:
        return self.full_name


class SubmoduleImportation(Importation):
    """``import a.b`` binds ``a`` but is identified by ``a.b``."""

    __slots__ = ()

    def __init__(self, name: str, source: ast.AST, alias: ast.alias) -> None:
        super().__init__(name.split(".")[0], source, name, alias)

    def redefines(self, other: Binding) -> bool:
        if isinstance(other, Importation):
            return self.full_name == other.full_name
        return super().redefines(other)


class ImportationFrom(Importation):
    __slots__ = ("module", "real_name")

    def __init__(self, name: str, source: ast.AST, module: str, real_name: str, alias: ast.alias) -> None:
        self.module = module
        self.real_name = real_name
        full = module + real_name if module.endswith(".") else f"{module}.{real_name}"
        super().__init__(name, source, full, alias)


class StarImportation(Importation):
    __slots__ = ()

    def __init__(self, module: str, source: ast.AST, alias: ast.alias) -> None:
        super().__init__(module + ".*", source, module, alias)


class FutureImportation(ImportationFrom):
    """``from __future__ import x`` is always used."""

    __slots__ = ()

    def __init__(self, name: str, source: ast.AST, alias: ast.alias) -> None:
        super().__init__(name, source, "__future__", name, alias)
        self.used = True


class Argument(Binding):
    __slots__ = ()


class Assignment(Binding):
    """A plain ``name = value`` (not unpacking): the only kind F841 reports."""

    __slots__ = ()


class NamedExprAssignment(Assignment):
    __slots__ = ()


class WithItemAssignment(Assignment):
    __slots__ = ()


class ExceptHandlerBinding(Binding):
    __slots__ = ()


class Annotation(Binding):
    """``x: int`` with no value binds nothing at run time."""

    __slots__ = ()

    def redefines(self, other: Binding) -> bool:
        return False


class FunctionDefinition(Definition):
    __slots__ = ()


class ClassDefinition(Definition):
    __slots__ = ()


class ExportBinding(Binding):
    """``__all__ = [...]``: the statically known names are exported (so used)."""

    __slots__ = ("names",)

    def __init__(self, name: str, source: ast.AST, scope: Scope) -> None:
        super().__init__(name, source)
        previous = scope.get("__all__")
        self.names: list[str] = (
            list(previous.names)
            if isinstance(source, ast.AugAssign) and isinstance(previous, ExportBinding)
            else []
        )
        value = getattr(source, "value", None)
        self.names.extend(_export_names(value))


def _export_names(value: ast.AST | None) -> list[str]:
    names: list[str] = []
    pending = [value]
    while pending:
        current = pending.pop()
        if isinstance(current, (ast.List, ast.Tuple)):
            names.extend(
                e.value for e in current.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)
            )
        elif isinstance(current, ast.BinOp) and isinstance(current.op, ast.Add):
            pending.append(current.right)
            pending.append(current.left)
    return names


class Unbound(Binding):
    """The name is bound in this scope but has no value here: after ``del x``, or after
    the ``except ... as x`` handler that bound it. Reading it is an error (ruff).
    ``bound`` is the binding it ends, which a closure may still have read while it lived."""

    __slots__ = ("bound",)

    def __init__(self, name: str, source: ast.AST | None, bound: Binding | None = None) -> None:
        super().__init__(name, source)
        self.bound = bound


class GlobalDeclaration(Binding):
    """A module name declared ``global`` in some function: ruff binds it in the module
    when it meets the function, so a later module-level ``def``/``class`` of the same
    name redefines it (the lazy ``def pager(): global pager`` idiom)."""

    __slots__ = ()


class GlobalBinding(Assignment):
    """A ``global``/``nonlocal`` declaration; always counts as used."""

    __slots__ = ()


# Bindings a read only marks used (no unbound, annotation or aliased-import case to
# judge): most reads find one of these, so ``handle_load`` tests the class once.
_PLAIN_READ: frozenset[type[Binding]] = frozenset(
    {
        Binding,
        Definition,
        Argument,
        Assignment,
        NamedExprAssignment,
        WithItemAssignment,
        ExceptHandlerBinding,
        FunctionDefinition,
        ClassDefinition,
        ExportBinding,
        GlobalDeclaration,
        GlobalBinding,
    }
)


# The imports an unused one is reported of (not ``*`` nor ``__future__``): one set test
# per binding of every scope at its end, instead of two ``isinstance`` calls.
_REPORTED_IMPORTS: frozenset[type[Binding]] = frozenset({Importation, SubmoduleImportation, ImportationFrom})


# --------------------------------------------------------------------------- scopes


class Scope(dict[str, Binding]):
    __slots__ = ("declared", "kind", "node", "star_imported", "uses_locals")

    def __init__(self, kind: int, node: ast.AST | None) -> None:
        super().__init__()
        self.kind = kind
        self.node = node
        self.star_imported = False
        self.uses_locals = False
        self.declared: set[str] = set()  # names declared `global`/`nonlocal` here


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class UnusedImport:
    binding: Importation
    scope_kind: int

    @property
    def name(self) -> str:
        return self.binding.name


@dataclass(frozen=True, slots=True)
class Redefinition:
    """``new`` (at ``node``) rebinds ``old`` before ``old`` was used."""

    name: str
    node: ast.AST
    new: Binding
    old: Binding


@dataclass(frozen=True, slots=True)
class UndefinedName:
    name: str
    node: ast.AST


@dataclass(frozen=True, slots=True)
class UnusedVariable:
    name: str
    node: ast.AST  # the Name node, or the ExceptHandler
    binding: Binding
    statement: ast.AST | None  # the Assign/AnnAssign/With/... that binds it


@dataclass
class ScopeModel:
    """Everything the scope rules report for one module, computed once."""

    unused_imports: list[UnusedImport] = field(default_factory=list)
    redefinitions: list[Redefinition] = field(default_factory=list)
    undefined_names: list[UndefinedName] = field(default_factory=list)
    unused_variables: list[UnusedVariable] = field(default_factory=list)
    shadowed_imports: list[Redefinition] = field(default_factory=list)
    # Store node (Name, alias, def, handler) -> its binding, for rules that ask "is this used?"
    bindings: dict[ast.AST, Binding] = field(default_factory=dict)
    # Node -> parent, for every node the pass met but a name read without a work item of
    # its own (nothing asks where a read is; a fifth of all nodes, left out of the map).
    parents: dict[ast.AST, ast.AST] = field(default_factory=dict)
    star_imported: bool = False
    all_names: frozenset[str] = frozenset()
    # Every `for`/`async for` statement, in the order the pass met them (B007 reads them).
    loops: list[ast.For | ast.AsyncFor] = field(default_factory=list)
    # With ``build_scope_model(visit=...)``: the nodes of those types, each once, parents
    # before their children (the rules' node-type dispatch runs over them afterwards).
    visited: list[ast.AST] = field(default_factory=list)
    # ... and those of a ``split`` type met inside a function body (``build_scope_model``)
    visited_inside: list[ast.AST] = field(default_factory=list)
    # Every ``from ... import`` statement, in the order the pass met them: what a scan's
    # re-export index needs of the module (``ems.fixes.importindex.from_imports``), had
    # without walking the tree again.
    import_froms: list[ast.ImportFrom] = field(default_factory=list)

    def binding_of(self, node: ast.AST) -> Binding | None:
        return self.bindings.get(node)


def build_scope_model(
    tree: ast.Module,
    ctx: AnalysisContext | None = None,
    free_loads: list[FreeLoad] | None = None,
    visit: Iterable[type[ast.AST]] = (),
    outside_functions: Iterable[type[ast.AST]] = (),
    call_names: frozenset[str] | None = None,
    attribute_names: frozenset[str] | None = None,
    values: tuple[tuple[type[ast.AST], frozenset[type[ast.AST]]], ...] = (),
    split: frozenset[type[ast.AST]] = frozenset(),
) -> ScopeModel:
    """Analyse ``tree``; ``ctx`` supplies the path (``__init__.py`` rules).

    With ``free_loads`` (incremental analysis, ``ems.core.incremental``) the module has no
    builtins, and every read that no scope answers is appended there instead of being
    judged: those are the reads a function body makes of the world outside it.

    With ``visit`` (node types), the pass also collects every node of those types into
    ``model.visited``: the engine dispatches the rules' ``visit`` over them with the
    ancestors read from ``model.parents``, so a file is walked once, not twice. Those of
    them in ``outside_functions`` are collected only outside function bodies (the rules
    that visit them report nothing inside one: ``Rule.outside_functions_only``). With
    ``call_names`` / ``attribute_names``, only the calls whose called name and the
    attributes whose ``attr`` is one of those are collected (``Rule.visit_names``). With
    ``values`` (node type, classes), a node of such a type only when its ``value`` is of
    one of the classes (``Rule.visit_values``). Those of a type in ``split`` (without a
    handler of its own) met inside a function body go to ``model.visited_inside`` instead:
    the rules that report only outside functions do not visit them.
    """
    is_init = bool(ctx is not None and ctx.is_init_module)
    # Scanning a function body for `global` costs a walk: done only for the functions
    # whose lines hold the word (the rules' source and tree share line numbers). The lines
    # are found on the first function body met: a tree without one (a keystroke's few
    # lines, checked with the whole document as their source) never scans the text.
    global_text = None if ctx is None else ctx.source.text
    return _Checker(
        tree,
        is_init,
        global_text,
        free_loads,
        frozenset(visit),
        frozenset(outside_functions),
        call_names,
        attribute_names,
        values,
        split,
    ).model


def _word_lines(text: str, word: str) -> list[int]:
    """The numbers of the lines holding ``word`` (also inside a longer name: a superset
    is safe), ascending. ``str.find``: a regular expression with ``\\b`` costs more."""
    lines: list[int] = []
    find, count = text.find, text.count
    line, last = 1, 0
    at = find(word)
    while at >= 0:
        line += count("\n", last, at)
        last = at
        if not lines or lines[-1] != line:
            lines.append(line)
        at = find(word, at + len(word))
    return lines


@dataclass(frozen=True)
class FreeLoad:
    """A read no enclosing scope answered, with the context that judges it."""

    node: ast.AST
    name: str
    annotation: int
    guards: tuple[str, ...]


# --------------------------------------------------------------------------- the checker


class _Checker:
    """An iterative port of pyflakes' Checker, restricted to binding analysis."""

    def __init__(
        self,
        tree: ast.Module,
        is_init: bool,
        global_text: str | None = None,
        free_loads: list[FreeLoad] | None = None,
        visit: frozenset[type[ast.AST]] = frozenset(),
        outside_functions: frozenset[type[ast.AST]] = frozenset(),
        call_names: frozenset[str] | None = None,
        attribute_names: frozenset[str] | None = None,
        values: tuple[tuple[type[ast.AST], frozenset[type[ast.AST]]], ...] = (),
        split: frozenset[type[ast.AST]] = frozenset(),
    ) -> None:
        self.is_init = is_init
        self.free_loads = free_loads
        self.global_text = global_text  # None: unknown, every function body is scanned
        self.global_lines: list[int] | None = None  # its lines holding `global`, once needed
        self.model = ScopeModel()
        self.parents = self.model.parents
        self.stack: list[Any] = []
        self.deferred: deque[tuple[Callable[[], None], list[Scope]]] = deque()
        self.dead_scopes: list[Scope] = []
        self.except_handlers: list[ast.ExceptHandler] = []
        self.undefined: list[UndefinedName] = []
        self.annotations_future = False
        self.root = tree
        self.handlers = _dispatch_table(visit, outside_functions, attribute_names, values, split)
        # The classes a collected node's ``value`` must have, for the types ``values`` names.
        self.value_types: dict[type[ast.AST], frozenset[type[ast.AST]]] = dict(values)
        # Nodes made by parsing string annotations: walked for names, never visited by rules.
        self.synthetic: set[ast.AST] = set()
        # The node types the rules visit: the work loop collects them as it meets them.
        self.collected: frozenset[type[ast.AST]] = visit
        self.visit_attributes = ast.Attribute in visit
        # The names a call or an attribute must have to be collected (None: any).
        self.call_names = call_names
        self.attribute_names = attribute_names
        self.walked = _walked_classes(True)
        self.walked_in_annotation = _walked_classes(False)
        # Names read are handled in place unless the rules collect names (the engine never
        # asks that of this pass: ``Name`` is not handed over).
        self.inline_name: type[ast.AST] | None = ast.Name if ast.Name not in visit else None

        module = Scope(MODULE, tree)
        if free_loads is None:
            module.update(_builtin_scope(is_init))
        # The builtins this module read (``Builtin`` instances are shared, see there).
        self.builtins_read: set[str] = set()
        # Its ``from m import *`` bindings, in order (``_undefined`` marks them used).
        self.star_imports: list[StarImportation] = []
        self.scope_stack: list[Scope] = [module]
        self._push_children(tree, NO_ANNOTATION, ())
        self._drain()
        while self.deferred:
            handler, scopes = self.deferred.popleft()
            self.scope_stack = scopes
            handler()
            self._drain()
        self.scope_stack = [module]
        self.dead_scopes.append(module)
        self._check_dead_scopes()
        self.model.undefined_names = self.undefined
        self.model.star_imported = module.star_imported
        if self.synthetic:
            synthetic = self.synthetic
            self.model.visited = [n for n in self.model.visited if n not in synthetic]
            self.model.visited_inside = [n for n in self.model.visited_inside if n not in synthetic]

    # -- the work loop -----------------------------------------------------------

    def _drain(self) -> None:
        """Run the work stack empty: the one loop every node of the module goes through.

        Nodes without a handler of their own (two thirds of them) are walked right here:
        their leading names read and attribute chains on a name are handled in place, the
        first child that needs more becomes the next node without a work item (it would be
        the very next item anyway), and the rest are pushed, last first.
        """
        stack = self.stack
        pop = stack.pop
        extend = stack.extend
        scopes = self.scope_stack  # (the same list until this run of the stack ends)
        dispatch = self.handlers.get
        parents = self.parents
        handle_load = self.handle_load
        name_now = self._name
        attribute = self._attribute
        call = self._call
        collect = self.model.visited.append
        collect_inside = self.model.visited_inside.append
        collect_attribute = self.visit_attributes
        attribute_names = self.attribute_names
        collect_call = ast.Call in self.collected
        call_names = self.call_names
        value_types = self.value_types
        walked_plain, walked_in_annotation = self.walked, self.walked_in_annotation
        getters = _FIELD_GETTERS
        # Names read are handled in place (unless the rules collect names, which the
        # engine never asks of this pass): a quarter of all nodes.
        name_cls = self.inline_name
        attribute_cls, load, tuple_cls, int_cls = ast.Attribute, ast.Load, tuple, int
        name_real = ast.Name
        typing_calls = _TYPING_CALLS
        while stack:
            item = pop()
            if item.__class__ is not tuple_cls:
                item()
                continue
            node, parent, ann, exc = item
            while True:
                if parent is not None:
                    parents[node] = parent
                cls = node.__class__
                handler = dispatch(cls)
                if handler is not None:
                    if handler.__class__ is not int_cls:
                        handler(self, node, ann, exc)
                        break
                    if handler == _NAME:
                        if node.ctx.__class__ is load and node.id != "locals":
                            handle_load(node, node.id, ann, exc)
                        else:
                            name_now(node, ann, exc)
                        break
                    if handler == _CALL:
                        # Most calls are plain: only a typing call, ``__all__.extend(...)``
                        # or a call inside an annotation needs ``_call``.
                        func = node.func
                        func_cls = func.__class__
                        member = (
                            func.id
                            if func_cls is name_real
                            else func.attr
                            if func_cls is attribute_cls
                            else None
                        )
                        if collect_call and (call_names is None or member in call_names):
                            collect(node)
                        if ann or member in typing_calls or member in _ALL_METHODS:
                            call(node, ann, exc)
                            break
                    elif handler == _COLLECT:
                        collect(node)
                    elif handler == _COLLECT_VALUES:
                        if node.value.__class__ in value_types[cls]:
                            collect(node)
                    elif scopes[-1].kind != FUNCTION:
                        collect(node)
                    elif handler == _COLLECT_SPLIT:
                        collect_inside(node)
                walked = walked_in_annotation if ann else walked_plain
                getter = getters.get(cls)
                if getter is None:
                    getter = _field_getter(cls)
                first: Any = None
                rest: list[Any] | None = None
                for value in getter(node):
                    if value.__class__ is list:
                        for child in value:
                            child_cls = child.__class__
                            if first is not None:
                                if walked[child_cls]:
                                    if rest is None:
                                        rest = [(child, node, ann, exc)]
                                    else:
                                        rest.append((child, node, ann, exc))
                            elif child_cls is name_cls:
                                if child.ctx.__class__ is load and child.id != "locals":
                                    handle_load(child, child.id, ann, exc)
                                else:
                                    first = child
                            elif child_cls is attribute_cls:
                                head = child.value
                                while head.__class__ is attribute_cls:
                                    head = head.value
                                if head.__class__ is name_cls:
                                    parents[child] = node
                                    if collect_attribute and (
                                        attribute_names is None or child.attr in attribute_names
                                    ):
                                        collect(child)
                                    attribute(child, ann, exc)
                                else:
                                    first = child
                            elif walked[child_cls]:
                                first = child
                        continue
                    # One node, or a scalar (never walked): the list branch's steps written
                    # out again, not a loop over ``(value,)``, in the engine's hottest loop
                    # (performance.md, "Stop 18's end"). Keep the two branches the same.
                    child_cls = value.__class__
                    if first is not None:
                        if walked[child_cls]:
                            if rest is None:
                                rest = [(value, node, ann, exc)]
                            else:
                                rest.append((value, node, ann, exc))
                    elif child_cls is name_cls:
                        if value.ctx.__class__ is load and value.id != "locals":
                            handle_load(value, value.id, ann, exc)
                        else:
                            first = value
                    elif child_cls is attribute_cls:
                        head = value.value
                        while head.__class__ is attribute_cls:
                            head = head.value
                        if head.__class__ is name_cls:
                            parents[value] = node
                            if collect_attribute and (
                                attribute_names is None or value.attr in attribute_names
                            ):
                                collect(value)
                            attribute(value, ann, exc)
                        else:
                            first = value
                    elif walked[child_cls]:
                        first = value
                if rest is not None:
                    rest.reverse()
                    extend(rest)
                if first is None:
                    break
                parent = node
                node = first

    def _push(self, items: list[Any]) -> None:
        items.reverse()
        self.stack.extend(items)

    def _children(
        self, node: ast.AST, ann: int, exc: tuple[str, ...], omit: tuple[str, ...] = ()
    ) -> list[Any]:
        """Work items for the children of ``node``, in order (``omit``: fields to leave out)."""
        items: list[Any] = []
        append = items.append
        # a plain constant outside annotations binds and reads nothing: skipped
        walked = self.walked_in_annotation if ann else self.walked
        for name in _child_fields(node.__class__):
            if omit and name in omit:
                continue
            value = getattr(node, name, None)
            if value.__class__ is list:
                for child in value:
                    if walked[child.__class__]:
                        append((child, node, ann, exc))
            elif walked[value.__class__]:
                append((value, node, ann, exc))
        return items

    def _push_children(self, node: ast.AST, ann: int, exc: tuple[str, ...]) -> None:
        """Work items for the children of ``node``, pushed last first to pop in order.
        Nodes without a handler come here: about a third of all work items.

        The children before the first one that needs an item of its own are handled right
        here: they would be the very next items anyway, and they push nothing. Those are
        names read and attribute chains on a name (together a third of all nodes).
        """
        walked = self.walked_in_annotation if ann else self.walked
        fields = _CHILD_FIELDS.get(node.__class__)
        if fields is None:
            fields = _child_fields(node.__class__)
        pending: list[Any] | None = None
        for field_name in fields:
            value = getattr(node, field_name, None)
            if value.__class__ is list:
                for child in value:
                    if pending is not None:
                        if walked[child.__class__]:
                            pending.append((child, node, ann, exc))
                    elif not self._handled_now(child, node, ann, exc) and walked[child.__class__]:
                        pending = [(child, node, ann, exc)]
            elif walked[value.__class__]:
                if pending is not None:
                    pending.append((value, node, ann, exc))
                elif not self._handled_now(value, node, ann, exc):
                    pending = [(value, node, ann, exc)]
        if pending is not None:
            pending.reverse()
            self.stack.extend(pending)

    def _handled_now(self, child: Any, node: ast.AST, ann: int, exc: tuple[str, ...]) -> bool:
        """Handle ``child`` of ``node`` at once if it pushes no work item: a name read, or
        an attribute chain on a name. False: it needs its own item."""
        cls = child.__class__
        if cls is self.inline_name:
            if child.ctx.__class__ is ast.Load and child.id != "locals":
                self.handle_load(child, child.id, ann, exc)
                return True
        elif cls is ast.Attribute:
            head = child.value
            while head.__class__ is ast.Attribute:
                head = head.value
            if head.__class__ is self.inline_name:
                self.parents[child] = node
                if self.visit_attributes and (
                    self.attribute_names is None or child.attr in self.attribute_names
                ):
                    self.model.visited.append(child)
                self._attribute(child, ann, exc)
                return True
        return False

    def _defer(self, handler: Callable[[], None]) -> None:
        self.deferred.append((handler, self.scope_stack[:]))

    def _enter(self, kind: int, node: ast.AST | None) -> Callable[[], None]:
        def enter() -> None:
            self.scope_stack.append(Scope(kind, node))

        return enter

    def _leave(self) -> None:
        self.dead_scopes.append(self.scope_stack.pop())

    @property
    def scope(self) -> Scope:
        return self.scope_stack[-1]

    @staticmethod
    def _handlers() -> dict[type[ast.AST], Callable[..., None]]:
        """Each node class's handler, unbound (called with the checker first)."""
        h: dict[type[ast.AST], Callable[..., None]] = {
            ast.Name: _Checker._name,
            ast.Attribute: _Checker._attribute,
            ast.Constant: _Checker._constant,
            ast.Pass: _Checker._ignore,
            ast.For: _Checker._for,
            ast.AsyncFor: _Checker._for,
            ast.comprehension: _Checker._for,
            ast.Subscript: _Checker._subscript,
            ast.Dict: _Checker._dict,
            ast.Global: _Checker._global,
            ast.Nonlocal: _Checker._global,
            ast.GeneratorExp: _Checker._comprehension,
            ast.ListComp: _Checker._comprehension,
            ast.SetComp: _Checker._comprehension,
            ast.DictComp: _Checker._comprehension,
            ast.FunctionDef: _Checker._function,
            ast.AsyncFunctionDef: _Checker._function,
            ast.Lambda: _Checker._lambda,
            ast.ClassDef: _Checker._class,
            ast.Assign: _Checker._assign,
            ast.NamedExpr: _Checker._assign,
            ast.AugAssign: _Checker._augassign,
            ast.AnnAssign: _Checker._annassign,
            ast.Import: _Checker._import,
            ast.ImportFrom: _Checker._importfrom,
            ast.ExceptHandler: _Checker._excepthandler,
            ast.MatchAs: _Checker._match_target,
            ast.MatchStar: _Checker._match_target,
            ast.MatchMapping: _Checker._match_target,
        }
        for try_type in _TRY_TYPES:
            h[try_type] = _Checker._try
        type_alias = getattr(ast, "TypeAlias", None)
        if type_alias is not None:  # Python 3.12+
            h[type_alias] = _Checker._type_alias
            h[ast.TypeVar] = _Checker._type_var  # type: ignore[attr-defined]
            h[ast.ParamSpec] = _Checker._type_var_store  # type: ignore[attr-defined]
            h[ast.TypeVarTuple] = _Checker._type_var_store  # type: ignore[attr-defined]
        return h

    def _ignore(self, node: ast.AST, ann: int, exc: tuple[str, ...]) -> None:
        return None

    # -- tree helpers --------------------------------------------------------------

    def get_parent(self, node: ast.AST) -> ast.AST | None:
        """The first ancestor that is not a tuple/list/starred/name target."""
        parents = self.parents
        current: ast.AST | None = node
        while True:
            current = parents.get(current)  # type: ignore[arg-type]
            if current is None or not isinstance(current, _SKIP_IN_GET_PARENT):
                return current

    def _ancestry(self, node: ast.AST) -> list[ast.AST]:
        chain = [node]
        parents = self.parents
        while node in parents:
            node = parents[node]
            chain.append(node)
        return chain

    def different_forks(self, lnode: ast.AST | None, rnode: ast.AST | None) -> bool:
        """True if the two nodes are on different branches of an if/try/match."""
        if lnode is None or rnode is None:
            return False
        left = self._ancestry(lnode)
        right = self._ancestry(rnode)
        if left[-1] is not right[-1]:
            return False
        # Walk down from the root while the chains agree; the last shared node is the ancestor.
        i, j = len(left) - 1, len(right) - 1
        while i > 0 and j > 0 and left[i - 1] is right[j - 1]:
            i -= 1
            j -= 1
        ancestor = left[i]
        if ancestor is lnode or ancestor is rnode or ancestor is self.root:
            return False
        parts = _alternatives(ancestor)
        if not parts:
            return False
        lchild, rchild = left[i - 1], right[j - 1]
        return any(any(x is lchild for x in items) ^ any(x is rchild for x in items) for items in parts)

    def branch(self, node: ast.AST) -> tuple[int, int] | None:
        """The innermost branch holding ``node``: an if/else arm, a try body (with its
        else), one except handler, a finally block, a match case or a ``with`` body
        (ruff's notion)."""
        parents = self.parents
        child = node
        parent = parents.get(child)
        while parent is not None:
            if isinstance(parent, ast.If) and child is not parent.test:
                return (id(parent), 0 if any(s is child for s in parent.body) else 1)
            if isinstance(parent, _TRY_TYPES):
                if any(s is child for s in parent.finalbody):  # type: ignore[attr-defined]
                    return (id(parent), 2)
                if not isinstance(child, ast.ExceptHandler):
                    return (id(parent), 0)
            if isinstance(parent, (ast.ExceptHandler, ast.match_case)) and child is not getattr(
                parent, "type", None
            ):
                return (id(parent), 0)
            if isinstance(parent, (ast.With, ast.AsyncWith)) and any(s is child for s in parent.body):
                return (id(parent), 0)  # the context manager may swallow an exception
            child, parent = parent, parents.get(parent)
        return None

    def same_branch(self, left: ast.AST | None, right: ast.AST | None) -> bool:
        """Whether two binding sites are in the same branch: a redefinition only counts
        then (ruff's rule, stricter than pyflakes' "not on different forks")."""
        if left is None or right is None:
            return False
        return self.branch(left) == self.branch(right)

    # -- bindings ------------------------------------------------------------------

    def add_binding(self, node: ast.AST, value: Binding) -> None:
        """Bind ``value`` in the current scope; report redefinitions like pyflakes."""
        name = value.name
        current = self.scope_stack[-1]
        existing = current.get(name)
        scope = current
        if existing is None:
            for scope in reversed(self.scope_stack):
                existing = scope.get(name)
                if existing is not None:
                    break
        if existing is not None and existing.__class__ is not Builtin:
            loop_var = isinstance(value.source, ast.expr) and isinstance(
                self.get_parent(value.source), _FOR_TYPES
            )
            if isinstance(existing, Importation) and loop_var:
                if not self.different_forks(node, existing.source):
                    self.model.shadowed_imports.append(Redefinition(value.name, node, value, existing))
            elif loop_var:
                pass  # a loop variable rebinding a def/class: not a redefinition (ruff)
            elif scope is current:
                if (
                    not existing.used
                    and shadows(value, existing)
                    and (isinstance(existing, Importation) or not DUMMY.match(value.name))
                    and not self._is_overload(existing)
                    and self.same_branch(node, existing.source)
                ):
                    self.model.redefinitions.append(Redefinition(value.name, node, value, existing))
            elif (
                isinstance(existing, Importation)
                and current.kind == FUNCTION
                and scope.kind in (MODULE, FUNCTION)
                and shadows(value, existing)
                and self.same_branch(node, existing.source)
            ):
                existing.redefined.append((node, value))

        previous = existing if scope is current else None  # ``current.get(name)``
        if previous is not None:
            value.used = name in self.builtins_read if previous.__class__ is Builtin else previous.used

        if previous is None or not isinstance(value, Annotation):
            if isinstance(value, NamedExprAssignment):
                target = next(
                    s for s in reversed(self.scope_stack) if s.kind not in (COMPREHENSION, GENERATOR)
                )
                if value.name in target and isinstance(target[value.name], Annotation):
                    target[value.name] = value
                else:
                    target.setdefault(value.name, value)
            else:
                current[value.name] = value

    def _is_overload(self, binding: Binding) -> bool:
        source = binding.source
        if not isinstance(source, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return False
        return any(self._is_typing(dec, "overload") for dec in source.decorator_list)

    def _lookup(self, name: str) -> Binding | None:
        for scope in reversed(self.scope_stack):
            if name in scope:
                return scope[name]
        return None

    def _is_typing(self, node: ast.AST, attr: str | None) -> bool:
        """Whether ``node`` names ``typing.<attr>`` (any member when ``attr`` is None)."""
        if isinstance(node, ast.Name):
            binding = self._lookup(node.id)
            return (
                isinstance(binding, ImportationFrom)
                and binding.module in TYPING_MODULES
                and (attr is None or binding.real_name == attr)
            )
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            binding = self._lookup(node.value.id)
            return (
                isinstance(binding, Importation)
                and binding.full_name in TYPING_MODULES
                and (attr is None or node.attr == attr)
            )
        return False

    def _postponed(self, ann: int) -> bool:
        return ann == STRING_ANNOTATION or (ann == BARE_ANNOTATION and self.annotations_future)

    def handle_load(self, node: ast.AST, name: str, ann: int, exc: tuple[str, ...]) -> None:
        # Most reads find a plain binding in the innermost scope, or, in a function at the
        # module's top level or a method of a top-level class, in the module: answered
        # first, as the loop below would (a class scope is skipped from a method).
        scopes = self.scope_stack
        current = scopes[-1]
        binding = current.get(name)
        if binding is None:
            depth = len(scopes)
            if current.kind == FUNCTION and (
                depth == 2 or (depth == 3 and scopes[1].kind == CLASS and name != "__class__")
            ):
                binding = scopes[0].get(name)
                if binding is not None:
                    if binding.__class__ in _PLAIN_READ:
                        binding.used = True
                        return
                    if binding.__class__ is Builtin:
                        self.builtins_read.add(name)
                        return
        elif current.kind != CLASS or name != "__class__":
            if binding.__class__ in _PLAIN_READ:
                binding.used = True
                return
            if binding.__class__ is Builtin:
                self.builtins_read.add(name)
                return
        can_access_class_vars: bool | None = None
        star = False
        for scope in reversed(self.scope_stack):
            if scope.kind == CLASS:
                if name == "__class__":
                    return
                if can_access_class_vars is False:
                    continue
            binding = scope.get(name)
            if binding is not None:
                binding.used = True
                cls = binding.__class__
                if cls in _PLAIN_READ:
                    return
                if cls is Builtin:
                    self.builtins_read.add(name)
                    return
                if isinstance(binding, Unbound):
                    if scope is current or binding.bound is None:
                        break  # deleted, or an `except ... as` name after its handler
                    # a closure over an `except ... as` name may run inside the handler
                    binding.bound.used = True
                    return
                if isinstance(binding, Annotation) and not self._postponed(ann):
                    if scope is current and scope.kind == FUNCTION:
                        break  # `x: int` makes `x` local, still unassigned
                    continue  # `x: int` alone binds nothing at run time: look further out
                if isinstance(binding, Importation) and binding.aliased:
                    other = scope.get(binding.full_name)
                    if other is not None:
                        other.used = True
                        if other.__class__ is Builtin:
                            self.builtins_read.add(binding.full_name)
                return
            star = star or scope.star_imported
            if can_access_class_vars is not False:
                can_access_class_vars = scope.kind in (TYPE_PARAMS, COMPREHENSION, GENERATOR)
        else:
            if self.free_loads is not None:
                self.free_loads.append(FreeLoad(node, name, ann, exc))
                return
            self._undefined(node, name, star, exc)
            return
        if "NameError" not in exc:  # an unbound local: undefined even under a star import
            self.undefined.append(UndefinedName(name, node))

    def _undefined(self, node: ast.AST, name: str, star: bool, exc: tuple[str, ...]) -> None:
        """A name found in no scope: F821 unless a star import or a guard may supply it."""
        current = self.scope_stack[-1]
        if star:
            module = self.scope_stack[0]  # the only scope a star import binds in
            for binding in self.star_imports:
                if module.get(binding.name) is binding:
                    binding.used = True
            return
        if name in CLASS_MAGIC and current.kind == CLASS:
            return
        if "NameError" in exc:
            return
        self.undefined.append(UndefinedName(name, node))

    def handle_store(self, node: ast.AST, name: str) -> None:
        direct = self.parents.get(node)
        binding: Binding
        if direct.__class__ is ast.Assign and name != "__all__":
            # ``name = ...``, most stores: what the cases below find for it, at once
            binding = Assignment(name, node)
            self.model.bindings[node] = binding
            self.add_binding(node, binding)
            return
        parent_stmt = self.get_parent(node)
        if isinstance(parent_stmt, ast.AnnAssign) and parent_stmt.value is None:
            binding = Annotation(name, node)
        elif isinstance(parent_stmt, _LOOP_TARGET_TYPES) or (
            parent_stmt is not direct and not _is_literal_tuple_unpacking(parent_stmt)
        ):
            binding = Binding(name, node)
        elif (
            name == "__all__"
            and self.scope.kind == MODULE
            and isinstance(direct, (ast.Assign, ast.AugAssign, ast.AnnAssign))
        ):
            binding = ExportBinding(name, direct, self.scope)
        elif isinstance(parent_stmt, ast.NamedExpr):
            binding = NamedExprAssignment(name, node)
        elif isinstance(direct, ast.withitem):
            binding = WithItemAssignment(name, node)
        else:
            binding = Assignment(name, node)
        self.model.bindings[node] = binding
        self.add_binding(node, binding)

    def handle_delete(self, node: ast.Name) -> None:
        binding = self.scope.get(node.id)
        if binding is not None:
            binding.used = True  # `del x` reads the binding (ruff counts it as a use)
        child: ast.AST = node
        current: ast.AST | None = self.parents.get(node)
        while current is not None:
            if isinstance(current, (ast.If, ast.While, ast.IfExp, ast.Match)):
                return  # a conditional branch may not run
            if isinstance(current, _TRY_TYPES) and (
                isinstance(child, ast.ExceptHandler) or any(s is child for s in current.orelse)  # type: ignore[attr-defined]
            ):
                return  # an except or else clause may not run
            child, current = current, self.parents.get(current)
        if node.id in self.scope.declared:
            return  # deletes the module's (or enclosing function's) name; the declaration stays
        if binding is None:
            self.undefined.append(UndefinedName(node.id, node))
        elif not isinstance(binding, Unbound):
            # (deleting an already deleted name is not reported: the first `del` may sit in
            # a `try` body that raised before reaching it)
            self.scope[node.id] = Unbound(node.id, node)

    # -- node handlers ---------------------------------------------------------------

    def _name(self, node: ast.Name, ann: int, exc: tuple[str, ...]) -> None:
        ctx = node.ctx
        if isinstance(ctx, ast.Load):
            self.handle_load(node, node.id, ann, exc)
            if (
                node.id == "locals"
                and self.scope.kind == FUNCTION
                and isinstance(self.parents.get(node), ast.Call)
            ):
                self.scope.uses_locals = True
        elif isinstance(ctx, ast.Store):
            self.handle_store(node, node.id)
        else:
            self.handle_delete(node)

    def _attribute(self, node: ast.Attribute, ann: int, exc: tuple[str, ...]) -> None:
        """``a.b.c``: the dotted chain down to its name in one step, without a work item
        per link (a tenth of all nodes are attributes). The value is an attribute's only
        child, so it would be handled next anyway: the order is unchanged."""
        parents = self.parents
        value = node.value
        collect = self.model.visited.append if self.visit_attributes else None
        names = self.attribute_names
        while value.__class__ is ast.Attribute:
            parents[value] = node
            if collect is not None and (names is None or value.attr in names):
                collect(value)  # a link of the chain, visited by the rules like its head
            node = value
            value = node.value
        if value.__class__ is ast.Name:
            if value.ctx.__class__ is ast.Load and value.id != "locals":
                self.handle_load(value, value.id, ann, exc)
            else:
                parents[value] = node
                self._name(value, ann, exc)
        elif ann or value.__class__ is not ast.Constant:  # as in ``_children``
            self.stack.append((value, node, ann, exc))

    def _constant(self, node: ast.Constant, ann: int, exc: tuple[str, ...]) -> None:
        if ann and isinstance(node.value, str):
            self._defer(lambda: self._string_annotation(node))

    def _string_annotation(self, node: ast.Constant) -> None:
        """Parse a forward reference and check the names inside it."""
        text = cast(str, node.value)  # only string constants are deferred (``_constant``)
        try:
            tree = ast.parse(text.strip() if "\n" not in text else f"({text})", mode="eval")
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return  # F722 territory: not a binding problem
        expr = tree.body
        for sub in ast.walk(expr):
            self.synthetic.add(sub)
            if "lineno" in sub._attributes:
                sub.lineno = node.lineno  # type: ignore[attr-defined]
                sub.col_offset = node.col_offset  # type: ignore[attr-defined]
                sub.end_lineno = node.end_lineno  # type: ignore[attr-defined]
                sub.end_col_offset = node.end_col_offset  # type: ignore[attr-defined]
        self.stack.append((expr, node, STRING_ANNOTATION, ()))

    def _annotation(self, node: ast.AST | None, parent: ast.AST, exc: tuple[str, ...]) -> list[Any]:
        """Items handling an annotation: deferred when annotations are postponed."""
        if node is None:
            return []
        if self.annotations_future:
            self._defer(lambda: self.stack.append((node, parent, BARE_ANNOTATION, ())))
            return []
        return [(node, parent, BARE_ANNOTATION, exc)]

    def _for(self, node: ast.For | ast.AsyncFor | ast.comprehension, ann: int, exc: tuple[str, ...]) -> None:
        if not isinstance(node, ast.comprehension):
            self.model.loops.append(node)
        items = [(node.iter, node, ann, exc)]
        items.extend(self._children(node, ann, exc, ("iter",)))
        self._push(items)

    def _subscript(self, node: ast.Subscript, ann: int, exc: tuple[str, ...]) -> None:
        value = node.value
        if _is_name_or_attr(value, "Literal"):
            self._push([(value, node, ann, exc), (node.slice, node, NO_ANNOTATION, exc)])
        elif _is_name_or_attr(value, "Annotated"):
            items: list[Any] = [(value, node, ann, exc)]
            sl = node.slice
            if isinstance(sl, ast.Tuple) and len(sl.elts) >= 2:
                self.parents[sl] = node  # every parent is the true one: rules read ancestors
                items.append((sl.elts[0], sl, ann, exc))
                items.extend((e, sl, NO_ANNOTATION, exc) for e in sl.elts[1:])
            else:
                items.append((sl, node, ann, exc))
            self._push(items)
        elif self._is_typing(value, None):
            self._push_children(node, BARE_ANNOTATION, exc)
        else:
            self._push_children(node, ann, exc)

    def _call(self, node: ast.Call, ann: int, exc: tuple[str, ...]) -> None:
        func = node.func
        args, keywords = node.args, node.keywords
        cls = func.__class__
        member = func.id if cls is ast.Name else func.attr if cls is ast.Attribute else None  # type: ignore[attr-defined]
        if member in _TYPING_CALLS and self._is_typing(func, member):
            annotated_args, annotated_kw = _TYPING_CALLS[member]
            items: list[Any] = [(func, node, NO_ANNOTATION, exc)]
            for index, arg in enumerate(args):
                items.append((arg, node, BARE_ANNOTATION if annotated_args(index) else NO_ANNOTATION, exc))
            for kw in keywords:
                items.append((kw, node, BARE_ANNOTATION if kw.arg in annotated_kw else NO_ANNOTATION, exc))
            self._push(items)
            return
        if cls is ast.Attribute and func.value.__class__ is ast.Name and func.value.id == "__all__":  # type: ignore[attr-defined]
            self._all_mutation(node)
        if ann:  # a call inside an annotation: its arguments are values, not types
            items = [(func, node, ann, exc)]
            items.extend((a, node, NO_ANNOTATION, exc) for a in args)
            items.extend((k, node, NO_ANNOTATION, exc) for k in keywords)
            self._push(items)
            return
        self._push_children(node, ann, exc)

    def _all_mutation(self, node: ast.Call) -> None:
        """``__all__.extend([...])`` / ``.append("x")`` / ``.remove("x")`` at module level."""
        scope = self.scope
        binding = scope.get("__all__")
        if scope.kind != MODULE or not isinstance(binding, ExportBinding):
            return
        method = node.func.attr  # type: ignore[attr-defined]
        if method == "extend" and node.args:
            binding.names.extend(_export_names(node.args[0]))
        elif method == "append" and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                binding.names.append(arg.value)
        elif method == "remove" and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and arg.value in binding.names:
                binding.names.remove(arg.value)

    def _dict(self, node: ast.Dict, ann: int, exc: tuple[str, ...]) -> None:
        items: list[Any] = []
        for key, value in zip(node.keys, node.values, strict=True):
            if key is not None:
                items.append((key, node, ann, exc))
            items.append((value, node, ann, exc))
        self._push(items)

    def _global(self, node: ast.Global | ast.Nonlocal, ann: int, exc: tuple[str, ...]) -> None:
        module = self.scope_stack[0]
        if self.scope is module:
            return
        self.scope.declared.update(node.names)
        for name in node.names:
            value = GlobalBinding(name, node)
            if isinstance(node, ast.Global):
                module.setdefault(name, value)
            value.used = True
            for scope in self.scope_stack[1:]:
                scope[name] = value

    def _comprehension(self, node: ast.expr, ann: int, exc: tuple[str, ...]) -> None:
        generators: list[ast.comprehension] = node.generators  # type: ignore[attr-defined]
        first = generators[0]
        kind = GENERATOR if isinstance(node, ast.GeneratorExp) else COMPREHENSION
        items: list[Any] = [(first.iter, first, ann, exc), self._enter(kind, node)]
        self.parents[first] = node
        items.extend(self._children(first, ann, exc, ("iter",)))
        items.extend((gen, node, ann, exc) for gen in generators[1:])
        items.extend(self._children(node, ann, exc, ("generators",)))
        items.append(self._leave)
        self._push(items)

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef, ann: int, exc: tuple[str, ...]) -> None:
        def define() -> None:
            self._declare_globals(node)
            self._bind_definition(node, FunctionDefinition(node.name, node))

        type_params = getattr(node, "type_params", None)
        if not node.decorator_list and not type_params:
            # Nothing to handle before the signature: run it now, its items above ``define``
            # (one work item per function instead of three).
            self.stack.append(define)
            self._lambda(node, NO_ANNOTATION, exc)
            return
        items: list[Any] = [(d, node, NO_ANNOTATION, exc) for d in node.decorator_list]
        items.extend(self._type_params(node, exc))
        items.append(lambda: self._lambda(node, NO_ANNOTATION, exc))
        if type_params:
            items.append(self._leave)
        items.append(define)
        self._push(items)

    def _declare_globals(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        """Bind the names the body declares ``global`` in the module, as ruff does."""
        if not node.body:
            return
        lines = self.global_lines
        if lines is None and self.global_text is not None:
            lines = self.global_lines = _word_lines(self.global_text, "global")
        if lines is not None:
            at = bisect.bisect_left(lines, node.lineno)
            if at == len(lines) or lines[at] > (node.end_lineno or node.lineno):
                return
        module = self.scope_stack[0]
        for statement in _global_statements(node.body):
            self.parents.setdefault(statement, node)
            for name in statement.names:
                if name not in module:
                    module[name] = GlobalDeclaration(name, statement)

    def _bind_definition(self, node: ast.AST, binding: Binding) -> None:
        self.model.bindings[node] = binding
        self.add_binding(node, binding)

    def _type_params(self, node: ast.AST, exc: tuple[str, ...]) -> list[Any]:
        params = getattr(node, "type_params", None)
        if not params:
            return []
        items: list[Any] = [self._enter(TYPE_PARAMS, node)]
        items.extend((p, node, NO_ANNOTATION, exc) for p in params)
        return items

    def _lambda(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda, ann: int, exc: tuple[str, ...]
    ) -> None:
        a = node.args
        parents = self.parents
        parents[a] = node
        items: list[Any] = []
        arguments = [arg for arg in (*a.posonlyargs, *a.args, a.vararg, *a.kwonlyargs, a.kwarg) if arg]
        # Each item's parent is the true one (``arg``, ``arguments``): rules read ancestors.
        for arg in arguments:
            parents[arg] = a
            if arg.annotation is not None:
                items.extend(self._annotation(arg.annotation, arg, exc))
        if not isinstance(node, ast.Lambda):
            items.extend(self._annotation(node.returns, node, exc))
        items.extend((d, a, NO_ANNOTATION, exc) for d in (*a.defaults, *a.kw_defaults) if d is not None)
        self._push(items)
        if not isinstance(node, ast.Lambda) and not node.body:
            # No parser makes an empty body: it is the incremental outline's mark for a
            # body analysed separately (ems.core.incremental), so there is nothing to run.
            return
        self._defer(lambda: self._run_function(node, arguments))

    def _run_function(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda, arguments: list[ast.arg]
    ) -> None:
        """A deferred body: runs from an empty work stack, so the scope is entered and the
        ``arguments`` bound right here, before the body's items (no work item for each)."""
        self.scope_stack.append(Scope(FUNCTION, node))
        # (each argument's parent was set by ``_lambda``)
        bindings = self.model.bindings
        add_binding = self.add_binding
        for arg in arguments:
            binding = bindings[arg] = Argument(arg.arg, arg)
            add_binding(arg, binding)
        stack = self.stack
        stack.append(self._leave)
        body = node.body
        if isinstance(body, list):
            stack.extend([(stmt, node, NO_ANNOTATION, ()) for stmt in reversed(body)])
        else:
            stack.append((body, node, NO_ANNOTATION, ()))

    def _class(self, node: ast.ClassDef, ann: int, exc: tuple[str, ...]) -> None:
        items: list[Any] = [(d, node, NO_ANNOTATION, exc) for d in node.decorator_list]
        items.extend(self._type_params(node, exc))
        items.extend((b, node, NO_ANNOTATION, exc) for b in node.bases)
        items.extend((k, node, NO_ANNOTATION, exc) for k in node.keywords)
        items.append(self._enter(CLASS, node))
        items.extend((s, node, NO_ANNOTATION, exc) for s in node.body)
        items.append(self._leave)
        if getattr(node, "type_params", None):
            items.append(self._leave)
        items.append(lambda: self._bind_definition(node, ClassDefinition(node.name, node)))
        self._push(items)

    def _assign(self, node: ast.Assign | ast.NamedExpr, ann: int, exc: tuple[str, ...]) -> None:
        stack = self.stack
        value = node.value
        if isinstance(node, ast.Assign):
            targets = node.targets
            if len(targets) == 1:
                target = targets[0]
                if (value.__class__ is ast.Constant and not ann) or self._handled_now(value, node, ann, exc):
                    if (
                        target.__class__ is ast.Name
                        and self.inline_name is not None  # (else the rules collect names)
                        and target.ctx.__class__ is ast.Store
                    ):
                        # ``name = <a name or attribute chain>``: the store is the very next
                        # item, handled at once
                        self.parents[target] = node
                        self.handle_store(target, target.id)
                    else:
                        stack.append((target, node, ann, exc))
                    return
                stack.append((target, node, ann, exc))
            else:
                stack.extend([(t, node, ann, exc) for t in reversed(targets)])
        else:
            stack.append((node.target, node, ann, exc))
        if not self._handled_now(value, node, ann, exc) and (ann or value.__class__ is not ast.Constant):
            stack.append((value, node, ann, exc))  # (a plain constant reads nothing)

    def _augassign(self, node: ast.AugAssign, ann: int, exc: tuple[str, ...]) -> None:
        target = node.target
        self.parents[target] = node
        if isinstance(target, ast.Name):
            self.handle_load(target, target.id, ann, exc)
        self._push([(node.value, node, ann, exc), (target, node, ann, exc)])

    def _annassign(self, node: ast.AnnAssign, ann: int, exc: tuple[str, ...]) -> None:
        items = self._annotation(node.annotation, node, exc)
        if node.value is not None:
            if self._is_typing(node.annotation, "TypeAlias"):
                items.append((node.value, node, BARE_ANNOTATION, exc))
            else:
                items.append((node.value, node, ann, exc))
        items.append((node.target, node, ann, exc))
        self._push(items)

    def _type_alias(self, node: Any, ann: int, exc: tuple[str, ...]) -> None:
        items: list[Any] = self._type_params(node, exc)
        items.append(lambda: self._defer(lambda: self.stack.append((node.value, node, BARE_ANNOTATION, ()))))
        if node.type_params:
            items.append(self._leave)
        items.append((node.name, node, ann, exc))
        self._push(items)

    def _type_var(self, node: Any, ann: int, exc: tuple[str, ...]) -> None:
        self.handle_store(node, node.name)
        if getattr(node, "bound", None) is not None:
            bound = node.bound
            self._defer(lambda: self.stack.append((bound, node, BARE_ANNOTATION, ())))

    def _type_var_store(self, node: Any, ann: int, exc: tuple[str, ...]) -> None:
        self.handle_store(node, node.name)

    def _import(self, node: ast.Import, ann: int, exc: tuple[str, ...]) -> None:
        for alias in node.names:
            self.parents[alias] = node
            binding: Importation
            if "." in alias.name and not alias.asname:
                binding = SubmoduleImportation(alias.name, node, alias)
            else:
                binding = Importation(alias.asname or alias.name, node, alias.name, alias)
            self.model.bindings[alias] = binding
            self.add_binding(node, binding)

    def _importfrom(self, node: ast.ImportFrom, ann: int, exc: tuple[str, ...]) -> None:
        self.model.import_froms.append(node)
        module = "." * node.level + (node.module or "")
        for alias in node.names:
            self.parents[alias] = node
            name = alias.asname or alias.name
            binding: Importation
            if node.module == "__future__":
                binding = FutureImportation(name, node, alias)
                if alias.name == "annotations":
                    self.annotations_future = True
            elif alias.name == "*":
                if self.scope.kind != MODULE:
                    continue
                self.scope.star_imported = True
                binding = StarImportation(module, node, alias)
                self.star_imports.append(binding)
            else:
                binding = ImportationFrom(name, node, module, alias.name, alias)
            self.model.bindings[alias] = binding
            self.add_binding(node, binding)

    def _try(self, node: ast.Try, ann: int, exc: tuple[str, ...]) -> None:
        names: list[str] = []
        for handler in node.handlers:
            if isinstance(handler.type, ast.Tuple):
                names.extend(_node_name(t) for t in handler.type.elts)
            elif handler.type is not None:
                names.append(_node_name(handler.type))
        guarded = tuple(names)
        items: list[Any] = [(s, node, ann, guarded) for s in node.body]
        items.extend(self._children(node, ann, exc, ("body",)))
        self._push(items)

    def _excepthandler(self, node: ast.ExceptHandler, ann: int, exc: tuple[str, ...]) -> None:
        name = node.name
        if name is None:
            self._push_children(node, ann, exc)
            return
        scope = self.scope
        if name in scope:
            self._store_handler(node, name)
        previous = scope.pop(name, None)
        own = self._store_handler(node, name)
        self.model.bindings[node] = own
        self.except_handlers.append(node)

        def leave() -> None:
            scope.pop(name, None)
            if previous is not None:
                scope[name] = previous
            else:
                scope[name] = Unbound(name, node, own)

        items = self._children(node, ann, exc)
        items.append(leave)
        self._push(items)

    def _store_handler(self, node: ast.ExceptHandler, name: str) -> Binding:
        binding = ExceptHandlerBinding(name, node)
        self.add_binding(node, binding)
        return binding

    def _match_target(self, node: ast.AST, ann: int, exc: tuple[str, ...]) -> None:
        name = getattr(node, "name", None) if not isinstance(node, ast.MatchMapping) else node.rest
        if name:
            self.handle_store(node, name)
        self._push_children(node, ann, exc)

    # -- end of module -----------------------------------------------------------

    def _check_dead_scopes(self) -> None:
        model = self.model
        for node in self.except_handlers:
            binding = model.bindings[node]
            if not binding.used and not DUMMY.match(node.name or "_"):
                model.unused_variables.append(UnusedVariable(node.name or "", node, binding, node))
        for scope in self.dead_scopes:
            if scope.kind == CLASS:
                continue
            if scope.kind == FUNCTION and not scope.uses_locals:
                for name, binding in scope.items():
                    if (
                        not binding.used
                        and isinstance(binding, Assignment)
                        and not isinstance(binding, GlobalBinding)
                        and name not in ALWAYS_USED
                        and not DUMMY.match(name)
                        and binding.source is not None
                    ):
                        model.unused_variables.append(
                            UnusedVariable(name, binding.source, binding, self.get_parent(binding.source))
                        )
            all_binding = scope.get("__all__")
            all_names = set(all_binding.names) if isinstance(all_binding, ExportBinding) else set()
            if scope.kind == MODULE:
                model.all_names = frozenset(all_names)
                if scope.star_imported and any(n not in scope for n in all_names):
                    for binding in scope.values():
                        if isinstance(binding, StarImportation):
                            binding.used = True
            for value in scope.values():
                if value.__class__ not in _REPORTED_IMPORTS:
                    continue
                binding = cast(Importation, value)
                if binding.used or binding.name in all_names or binding.is_explicit_reexport:
                    continue
                model.unused_imports.append(UnusedImport(binding, scope.kind))
                for where, new in binding.redefined:
                    model.redefinitions.append(Redefinition(binding.name, where, new, binding))
        model.unused_imports.sort(key=lambda u: _position(u.binding.alias or u.binding.source))
        model.unused_variables.sort(key=lambda u: _position(u.node))
        model.redefinitions.sort(key=lambda r: _position(r.node))


@functools.lru_cache(maxsize=32)
def _dispatch_table(
    visit: frozenset[type[ast.AST]],
    outside_functions: frozenset[type[ast.AST]],
    attribute_names: frozenset[str] | None = None,
    values: tuple[tuple[type[ast.AST], frozenset[type[ast.AST]]], ...] = (),
    split: frozenset[type[ast.AST]] = frozenset(),
) -> dict[type[ast.AST], Any]:
    """What the work loop does per node class: a handler (unbound: the loop passes the
    checker), or one of the loop's own cases (``_NAME``, ``_CALL``, ``_COLLECT``,
    ``_COLLECT_OUTSIDE_FUNCTIONS``, ``_COLLECT_VALUES``, ``_COLLECT_SPLIT``); a class not here is
    only walked.
    (A class with a handler is collected everywhere, or by its value.) Once per rule
    selection, not per file: never changed."""
    dispatch: dict[type[ast.AST], Any] = {}
    by_value = dict(values)
    for cls, handler in _Checker._handlers().items():
        if cls not in visit:
            dispatch[cls] = handler
        elif cls is ast.Attribute and attribute_names is not None:
            dispatch[cls] = _collecting_named(handler, attribute_names)
        elif cls in by_value:
            dispatch[cls] = _collecting_by_value(handler, by_value[cls])
        else:
            dispatch[cls] = _collecting(handler)
    if ast.Name not in visit:
        dispatch[ast.Name] = _NAME
    dispatch[ast.Call] = _CALL
    for cls in visit:
        kind = (
            _COLLECT_VALUES
            if cls in by_value
            else _COLLECT_OUTSIDE_FUNCTIONS
            if cls in outside_functions
            else _COLLECT_SPLIT
            if cls in split
            else _COLLECT
        )
        dispatch.setdefault(cls, kind)
    return dispatch


def _collecting(handler: Callable[..., None]) -> Callable[..., None]:
    """``handler``, recording its node first: how the pass collects the rules' node types
    that have a handler of their own."""

    def handle(checker: _Checker, node: Any, ann: int, exc: tuple[str, ...]) -> None:
        checker.model.visited.append(node)
        handler(checker, node, ann, exc)

    return handle


def _collecting_by_value(
    handler: Callable[..., None], classes: frozenset[type[ast.AST]]
) -> Callable[..., None]:
    """``_collecting`` for a type whose rules report only some values (``Rule.visit_values``)."""

    def handle(checker: _Checker, node: Any, ann: int, exc: tuple[str, ...]) -> None:
        if node.value.__class__ in classes:
            checker.model.visited.append(node)
        handler(checker, node, ann, exc)

    return handle


def _collecting_named(handler: Callable[..., None], names: frozenset[str]) -> Callable[..., None]:
    """``_collecting`` for attributes: only those whose ``attr`` is one of ``names``."""

    def handle(checker: _Checker, node: Any, ann: int, exc: tuple[str, ...]) -> None:
        if node.attr in names:
            checker.model.visited.append(node)
        handler(checker, node, ann, exc)

    return handle


def shadows(new: Binding, old: Binding) -> bool:
    """Whether binding ``new`` counts as redefining ``old`` for F811 (ruff's rules).

    Functions, classes, imports and plain assignments can be redefined, the last only by
    something other than another assignment (``Enum = None`` then ``class Enum``); a
    submodule import
    (``import a.b``) only by the same submodule; annotations, ``__future__`` imports
    and plain re-assignments never redefine; loop variables are F402's business.
    """
    if isinstance(new, (Annotation, FutureImportation, Builtin, StarImportation)):
        return False
    if (isinstance(new, Importation) and isinstance(old, SubmoduleImportation)) or (
        isinstance(new, SubmoduleImportation) and isinstance(old, Importation)
    ):
        return new.full_name == old.full_name
    if isinstance(old, SubmoduleImportation):
        return False
    if isinstance(old, GlobalDeclaration):
        return isinstance(new, (FunctionDefinition, ClassDefinition, Importation)) and new.name == old.name
    if type(old) is Assignment:
        # an unpacking target or another assignment is just a new value, not a redefinition
        plain = type(new) in (Binding, Assignment, NamedExprAssignment, GlobalBinding)
        return not plain and not isinstance(new, ExceptHandlerBinding) and new.name == old.name
    if isinstance(old, (FutureImportation, StarImportation)):
        return False
    return isinstance(old, (ClassDefinition, FunctionDefinition, Importation)) and new.name == old.name


def _global_statements(body: list[ast.stmt]) -> Iterable[ast.Global]:
    """``global`` statements of a function body, not looking into nested scopes."""
    stack = list(reversed(body))
    while stack:
        statement = stack.pop()
        if isinstance(statement, ast.Global):
            yield statement
        elif not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for name in ("body", "orelse", "finalbody", "handlers", "cases"):
                block = getattr(statement, name, None)
                if block:
                    stack.extend(reversed(block))


def _position(node: ast.AST | None) -> tuple[int, int]:
    return (getattr(node, "lineno", 0), getattr(node, "col_offset", 0))


# ``__all__.<method>(...)``: the calls ``_all_mutation`` reads.
_ALL_METHODS = frozenset({"extend", "append", "remove"})
_TYPING_CALLS: dict[str, tuple[Callable[[int], bool], frozenset[str]]] = {
    "cast": (lambda i: i == 0, frozenset({"typ"})),
    "TypeVar": (lambda i: i >= 1, frozenset({"bound", "default"})),
    "ParamSpec": (lambda i: False, frozenset({"bound", "default"})),
    "TypeVarTuple": (lambda i: False, frozenset({"bound", "default"})),
    "NewType": (lambda i: i >= 1, frozenset({"tp"})),
}


def _alternatives(node: ast.AST) -> list[list[ast.AST]] | None:
    if isinstance(node, ast.If):
        return [node.body]  # type: ignore[list-item]
    if isinstance(node, _TRY_TYPES):
        return [node.body + node.orelse] + [[h] for h in node.handlers]  # type: ignore[attr-defined]
    if isinstance(node, ast.Match):
        return [case.body for case in node.cases]  # type: ignore[misc]
    return None


def _is_literal_tuple_unpacking(node: ast.AST | None) -> bool:
    if isinstance(node, ast.Assign):
        return all(hasattr(child, "elts") for child in (*node.targets, node.value))
    return False


def _is_name_or_attr(node: ast.AST, name: str) -> bool:
    return (isinstance(node, ast.Name) and node.id == name) or (
        isinstance(node, ast.Attribute) and node.attr == name
    )


def _node_name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    return getattr(node, "name", None) or ""


def iter_names(node: ast.AST) -> Iterable[ast.Name]:
    """Every ``Name`` below ``node``, iteratively (no ``ast.iter_child_nodes`` generator
    per node)."""
    stack = [node]
    node_base = ast.AST
    while stack:
        current = stack.pop()
        if current.__class__ is ast.Name:
            yield current
            continue
        for name in current._fields:
            value = getattr(current, name, None)
            if value.__class__ is list:
                stack.extend(item for item in value if isinstance(item, node_base))
            elif isinstance(value, node_base):
                stack.append(value)


_WORD_END = rb"(?![A-Za-z0-9_\x80-\xff])"  # \b is ASCII-only on bytes
_NAME_AFTER = {
    ast.FunctionDef: rb"def\s+",
    ast.AsyncFunctionDef: rb"async\s+def\s+",
    ast.ClassDef: rb"class\s+",
}


def identifier_node(lines: list[str], node: ast.AST) -> ast.AST:
    """A node spanning just the name a ``def``/``class``/``except ... as`` binds.

    ``ast`` gives no position for these identifiers; findings should point at the name,
    not the whole statement. ``lines`` are the document's lines; falls back to ``node``.
    """
    if isinstance(node, (ast.MatchAs, ast.MatchStar, ast.MatchMapping)):
        return _pattern_name_node(lines, node)
    name = getattr(node, "name", None)
    lineno = getattr(node, "lineno", 0)
    if not isinstance(name, str) or not 0 < lineno <= len(lines):
        return node
    data = lines[lineno - 1].encode("utf-8")
    ident = re.escape(name.encode("utf-8"))
    if isinstance(node, ast.ExceptHandler):
        start = node.col_offset
        if node.type is not None and node.type.end_lineno == lineno:
            start = node.type.end_col_offset or start
        match = re.compile(rb"\bas\s+(" + ident + rb")" + _WORD_END).search(data, start)
    else:
        prefix = _NAME_AFTER.get(type(node))
        if prefix is None:
            return node
        match = re.compile(prefix + b"(" + ident + b")" + _WORD_END).match(data, node.col_offset)  # type: ignore[attr-defined]
    if match is None:
        return node
    return ast.Name(
        id=name, lineno=lineno, col_offset=match.start(1), end_lineno=lineno, end_col_offset=match.end(1)
    )


def _pattern_name_node(lines: list[str], node: ast.MatchAs | ast.MatchStar | ast.MatchMapping) -> ast.AST:
    """The capture name of ``case [*rest]``, ``case P() as whole``, ``case {**others}``."""
    name = node.rest if isinstance(node, ast.MatchMapping) else node.name
    line = node.end_lineno or node.lineno
    if not name or not 0 < line <= len(lines) or node.end_col_offset is None:
        return node
    data = lines[line - 1].encode("utf-8")[: node.end_col_offset]
    ident = re.escape(name.encode("utf-8"))
    pattern = rb"\*\*\s*(" + ident + rb")" if isinstance(node, ast.MatchMapping) else b"(" + ident + b")$"
    matches = list(re.finditer(pattern, data))
    if not matches:
        return node
    match = matches[-1]
    return ast.Name(
        id=name, lineno=line, col_offset=match.start(1), end_lineno=line, end_col_offset=match.end(1)
    )
