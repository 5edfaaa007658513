"""F841: a local variable is assigned but its value is never read."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from ems.core.model import Finding, Fix, Safety, Severity, Tag
from ems.core.rule import AnalysisContext, Hit, Invalid, Rule, Valid
from ems.fixes import textedit
from ems.fixes.context import FixContext
from ems.fixes.imports import remove_statement
from ems.fixes.lazy import cst  # libcst, imported when a fix first runs

if TYPE_CHECKING:
    from ems.core.scope import ScopeModel


class UnusedVariable(Rule):
    code = "F841"
    uses_scopes = True
    name = "unused-variable"
    severity = Severity.WARNING
    summary = "local variable is assigned to but never used"
    explanation = (
        "A value stored in a local variable that nothing reads is wasted work, and often a bug: "
        "the result was meant to be returned or passed on, or a later line reads a "
        "differently-spelled name. Only function scopes are checked (module and class "
        "attributes are public); tuple unpacking, names starting with `_`, functions calling "
        "`locals()` and augmented assignments (`x += 1` reads `x`) are not reported. The fix "
        "(unsafe, since it deletes code) keeps a call on the right-hand side for its side "
        "effects, drops `as name` from `with` and `except`, and removes the rest. A name assigned "
        "twice and never read (`f = make()` then `f = None`) is reported at its last assignment "
        "with no fix: removing it would only bring the report back on the first."
    )
    tags = frozenset({Tag.UNNECESSARY})
    fix_safety = Safety.UNSAFE
    fix_title = "Remove assignment to unused variable"
    local_fix = True
    valid = (
        Valid("def f():\n    x = 1\n    return x\n"),
        Valid("def f():\n    a, b = pair()\n    return a\n"),
        Valid("def f():\n    _ignored = compute()\n"),
        Valid("def f():\n    x = 1\n    return locals()\n"),
        Valid("def f():\n    total = 0\n    total += 1\n"),
        Valid("def f():\n    x = 1\n\n    def g():\n        return x\n\n    return g\n"),
        Valid("x = 1  # module level: a public attribute\n"),
        Valid("def f():\n    global x\n    x = 1\n"),
    )
    invalid = (
        Invalid(
            "def f():\n    x = compute()\n",
            fixed="def f():\n    compute()\n",
            unsafe=True,
            at="2:4-2:5",
            message="local variable `x` is assigned to but never used",
        ),
        Invalid(
            "def f():\n    x = 1\n    return 2\n",
            fixed="def f():\n    return 2\n",
            unsafe=True,
            at="2:4-2:5",
            message="local variable `x` is assigned to but never used",
        ),
        Invalid(
            "def f():\n    x = 1\n",
            fixed="def f():\n    pass\n",
            unsafe=True,
            at="2:4-2:5",
            message="local variable `x` is assigned to but never used",
        ),
        Invalid(
            "def f():\n    with open('p') as handle:\n        pass\n",
            fixed="def f():\n    with open('p'):\n        pass\n",
            unsafe=True,
            at="2:22-2:28",
            message="local variable `handle` is assigned to but never used",
        ),
        Invalid(
            "def f():\n    try:\n        pass\n    except ValueError as exc:\n        pass\n",
            fixed="def f():\n    try:\n        pass\n    except ValueError:\n        pass\n",
            unsafe=True,
            at="4:25-4:28",
            message="local variable `exc` is assigned to but never used",
        ),
        Invalid(
            "def f():\n    x = y = make()\n    return y\n",
            fixed="def f():\n    y = make()\n    return y\n",
            unsafe=True,
            at="2:4-2:5",
            message="local variable `x` is assigned to but never used",
        ),
        Invalid(
            "def f():\n    size: int = 3  # comment\n    return 1\n",
            fixed="def f():\n    return 1\n",
            unsafe=True,
            at="2:4-2:8",
            message="local variable `size` is assigned to but never used",
        ),
        Invalid(  # removing `f = None` would bring back the unused `f = make()`: no fix
            "def f(make):\n    f = make()\n    f = None\n",
            at="3:4-3:5",
            message="local variable `f` is assigned to but never used",
        ),
        Invalid(  # the loop target would be the last binding: the fix works
            "def f(make, items):\n    x = make()\n    for x in items:\n        pass\n    x = None\n",
            fixed="def f(make, items):\n    x = make()\n    for x in items:\n        pass\n",
            unsafe=True,
            at="5:4-5:5",
            message="local variable `x` is assigned to but never used",
        ),
        Invalid(
            "async def f():\n    if (n := await g()):\n        pass\n",
            at="2:8-2:9",
            message="local variable `n` is assigned to but never used",
        ),
    )

    def check(self, ctx: AnalysisContext) -> Iterator[Hit]:
        from ems.core.scope import identifier_node  # on first use: not needed by a warm run

        model: ScopeModel = ctx.scopes
        walked: dict[int, _Rebinding] = {}
        for unused in model.unused_variables:
            node = unused.node
            kind = _kind(node, model)
            if kind and _another_unused_binding(unused.name, node, model, walked):
                kind = ""  # removing this binding would bring that one's F841 back: no fix
            if isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar, ast.MatchMapping)):
                node = identifier_node(ctx.source.lines, node)
            yield ctx.hit(
                node,
                f"local variable `{unused.name}` is assigned to but never used",
                data=(("name", unused.name), ("kind", kind)),
            )

    @classmethod
    def is_fixable(cls, hit: Hit) -> bool:
        return dict(hit.data).get("kind", "") != ""

    def fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        name = ctx.find(
            cst.Name, finding.range, exact_end=True, where=lambda n: n.value == finding.datum("name")
        )
        if name is None:
            return None
        parent = ctx.parents.get(name)
        kind = finding.datum("kind")
        if kind == "except" and isinstance(parent, cst.AsName):
            handler = ctx.parents.get(parent)
            if isinstance(handler, cst.ExceptHandler):
                return ctx.replace(
                    handler, handler.with_changes(name=None), self.fix_title, self.fix_safety, finding
                )
        if kind == "with" and isinstance(parent, cst.AsName):
            item = ctx.parents.get(parent)
            if isinstance(item, cst.WithItem):
                return ctx.replace(
                    item, item.with_changes(asname=None), self.fix_title, self.fix_safety, finding
                )
        if kind == "assign" and isinstance(parent, cst.AssignTarget):
            assign = ctx.parents.get(parent)
            if not isinstance(assign, cst.Assign):
                return None
            if len(assign.targets) > 1:
                targets = [t for t in assign.targets if t is not parent]
                return ctx.replace(
                    assign, assign.with_changes(targets=targets), self.fix_title, self.fix_safety, finding
                )
            return self._drop(assign, assign.value, ctx, finding)
        if kind == "annassign" and isinstance(parent, cst.AnnAssign) and parent.value is not None:
            return self._drop(parent, parent.value, ctx, finding)
        return None

    def _drop(
        self, statement: cst.BaseSmallStatement, value: cst.BaseExpression, ctx: FixContext, finding: Finding
    ) -> Fix | None:
        """Keep the right-hand side when evaluating it may do something; else delete it all."""
        if _has_effect(value):
            expr = cst.Expr(value=value, semicolon=getattr(statement, "semicolon", cst.MaybeSentinel.DEFAULT))
            return ctx.replace(statement, expr, self.fix_title, self.fix_safety, finding)
        return remove_statement(ctx, statement, finding, self.fix_title, self.fix_safety)

    def text_fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        """``fix`` as a text edit (``ems.fixes.textedit``): ``as name`` dropped from a
        one-line ``except``/``with``; a one-target assignment (annotated or not) removed,
        or only its ``x =`` / ``x: T =`` when the value may do something. Other shapes
        raise ``CstNeeded``."""
        source, text = ctx.source, ctx.text
        start, end = textedit.offsets(source, finding.range)
        if text[start:end] != finding.datum("name"):
            raise textedit.CstNeeded
        kind = finding.datum("kind")
        if kind in ("except", "with"):
            line_start = source.offset(finding.line, 0)
            match = _AS_BEFORE.search(text, line_start, start)
            if (
                match is None
                or not text[line_start : match.start()].strip()  # `as` opens a continuation line
                or not _CLAUSE_END.match(text, end)
                or _EXCEPT_STAR.match(text, line_start)
            ):
                raise textedit.CstNeeded  # (libcst's fix leaves `except*` alone)
            return textedit.replacement(
                source, match.start(), end, "", self.fix_title, self.fix_safety, finding
            )
        if kind == "annassign":
            return self._text_annassign(finding, ctx, start)
        if kind != "assign":
            raise textedit.CstNeeded
        equals = _EQUALS.match(text, end)
        line_start = source.offset(finding.line, 0)
        if not textedit.blank(text[line_start:start]):
            # not where a statement starts: a later target of `a = b = value` (its `b =` goes)
            if equals is None or not _TARGET_BEFORE.search(text, line_start, start):
                raise textedit.CstNeeded
            return textedit.replacement(
                source, start, equals.end(), "", self.fix_title, self.fix_safety, finding
            )
        node = textedit.statement_starting(source, finding.line, finding.range.start.column)
        if not (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)):
            raise textedit.CstNeeded
        if len(node.targets) == 1 and not _ast_effect(node.value):
            place = ctx.statements.at(finding.line, finding.range.start.column)  # its siblings
            if place is None:
                raise textedit.CstNeeded
            return textedit.remove_statement(source, place, self.fix_title, self.fix_safety, finding)
        if equals is None:
            raise textedit.CstNeeded
        # the target and its `=` go (one of several targets, or the value is kept)
        return textedit.replacement(source, start, equals.end(), "", self.fix_title, self.fix_safety, finding)

    def _text_annassign(self, finding: Finding, ctx: FixContext, start: int) -> Fix:
        """``x: T = value`` starting its line: removed (``pass`` if alone in its block),
        or only its ``x: T =`` when the value may do something (libcst's ``Expr``). The
        annotation without brackets of its own around it, comments or backslashes."""
        source, text = ctx.source, ctx.text
        node = textedit.statement_starting(source, finding.line, finding.range.start.column)
        if not (isinstance(node, ast.AnnAssign) and node.simple and node.value is not None):
            raise textedit.CstNeeded
        if not _ast_effect(node.value):
            place = ctx.statements.at(finding.line, finding.range.start.column)
            if place is None:
                raise textedit.CstNeeded
            return textedit.remove_statement(source, place, self.fix_title, self.fix_safety, finding)
        _, annotation_end = textedit.node_range(source, node.annotation)
        equals = _EQUALS.match(text, annotation_end)
        if equals is None:
            raise textedit.CstNeeded  # brackets around the annotation
        removed = text[start : equals.end()]
        if "#" in removed or "\\" in removed or "\r" in removed:
            raise textedit.CstNeeded  # a comment or a backslash
        return textedit.replacement(source, start, equals.end(), "", self.fix_title, self.fix_safety, finding)


# `as` before the name of an `except ... as e` / `with ... as f` (spaces only)
_AS_BEFORE = re.compile(r"[ \t]*\bas[ \t]+$")
_CLAUSE_END = re.compile(r"[ \t]*[:,)]")
_EXCEPT_STAR = re.compile(r"[ \t]*except[ \t]*\*")
# `=` after an assignment's target, up to its value (which must start on the line)
_EQUALS = re.compile(r"[ \t]*=(?!=)[ \t]*(?=[^ \t\\\r\n#])")
# what precedes a later target on its line: an earlier target's `=`
_TARGET_BEFORE = re.compile(r"[^=!<>]=[ \t]*$")
_EFFECTS = (ast.Call, ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr)


def _ast_effect(value: ast.AST) -> bool:
    """``_has_effect`` on the ``ast`` of the value (the same node kinds)."""
    return any(isinstance(node, _EFFECTS) for node in ast.walk(value))


def _kind(node: ast.AST, model: ScopeModel) -> str:
    """Which fix applies: the shape of the statement that binds the name."""
    if isinstance(node, ast.ExceptHandler):
        return "except"
    parent = model.parents.get(node)
    if isinstance(parent, ast.Assign) and isinstance(node, ast.Name):
        return "assign"
    if isinstance(parent, ast.AnnAssign) and parent.simple and parent.value is not None:
        return "annassign"
    if isinstance(parent, ast.withitem):
        return "with"
    return ""


# Sets of exact classes (the walk tests ``node.__class__``; ``ast`` node classes are not
# subclassed by the parser).
_NESTED = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef})
_COMPREHENSIONS = frozenset({ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp})
_DECLARING = frozenset(
    {
        ast.Global,
        ast.Nonlocal,
        ast.alias,
        ast.ExceptHandler,
        ast.MatchAs,
        ast.MatchStar,
        ast.MatchMapping,
    }
)


@dataclass(frozen=True)
class _Rebinding:
    """What one walk of a function says about each name it binds, for every F841 in it."""

    blocked: frozenset[str]  # bound some way a fix cannot see past (del, def, import, ``:=``, …)
    plain: dict[str, list[ast.Name]]  # bindings by a plain assignment nothing reads
    other: dict[str, list[ast.Name]]  # any other store or delete of the name


def _rebinding(function: ast.FunctionDef | ast.AsyncFunctionDef, model: ScopeModel) -> _Rebinding:
    from ems.core.scope import Assignment  # with the rule's scope model: never on a warm run

    blocked: set[str] = set()
    plain: dict[str, list[ast.Name]] = {}
    other: dict[str, list[ast.Name]] = {}
    stack: list[ast.AST] = list(function.body)
    node_class = ast.AST
    # (the order nodes are met in does not matter: sets, and lists only searched)
    while stack:
        current = stack.pop()
        cls = current.__class__
        if cls in _NESTED:
            if cls is not ast.Lambda:
                blocked.add(current.name)  # type: ignore[attr-defined]
            continue  # its own scope
        if cls in _COMPREHENSIONS:
            # ``(name := ...)`` binds in the function
            blocked.update(n.target.id for n in ast.walk(current) if isinstance(n, ast.NamedExpr))
            continue
        if cls in _DECLARING:
            blocked.update(_names(current))
        elif cls is ast.Name:
            name = cast(ast.Name, current)
            ctx = name.ctx.__class__
            if ctx is not ast.Load:
                binding = model.bindings.get(name)
                unread = ctx is ast.Store and type(binding) is Assignment and not binding.used
                (plain if unread else other).setdefault(name.id, []).append(name)
            continue  # a name has no child node but its context
        # the children, as ``ast.iter_child_nodes`` gives them (a generator per node cost
        # more than the rest of this walk)
        for field_name in cls._fields:
            value = getattr(current, field_name, None)
            if value.__class__ is list:
                stack.extend([child for child in value if isinstance(child, node_class)])
            elif isinstance(value, node_class):
                stack.append(value)
    return _Rebinding(frozenset(blocked), plain, other)


def _another_unused_binding(
    name: str, node: ast.AST, model: ScopeModel, walked: dict[int, _Rebinding]
) -> bool:
    """Whether removing the binding of ``name`` at ``node`` would only bring another F841
    on the same name back, so that the fix can never verify: F841 reports a name's last
    binding, and ``f = make()`` ... ``f = None`` with ``f`` never read has two. True only
    when every other binding of the name in the function is a plain assignment nothing
    reads; anything else (a ``del``, a loop target, a def, an import, a ``:=`` in a
    comprehension, a ``global``) answers False and leaves the fix to verification.

    ``walked`` keeps each function's walk for the other findings in it: a function with
    hundreds of unused names (``a1 = a2 = … = 0``) is walked once, not once per name."""
    function = model.parents.get(node)
    while function is not None and not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
        function = model.parents.get(function)
    if function is None:
        return False
    facts = walked.get(id(function))
    if facts is None:
        facts = walked[id(function)] = _rebinding(function, model)
    if name in facts.blocked or any(n is not node for n in facts.other.get(name, ())):
        return False
    return any(n is not node for n in facts.plain.get(name, ()))


def _names(node: ast.AST) -> tuple[str, ...]:
    """The names a ``_DECLARING`` node binds or declares."""
    if isinstance(node, (ast.Global, ast.Nonlocal)):
        return tuple(node.names)
    if isinstance(node, ast.alias):
        return ((node.asname or node.name).split(".")[0],)
    if isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)):
        return (node.name,) if node.name else ()
    if isinstance(node, ast.MatchMapping):
        return (node.rest,) if node.rest else ()
    return ()


def _has_effect(value: cst.CSTNode) -> bool:
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, (cst.Call, cst.Await, cst.Yield, cst.NamedExpr)):
            return True
        stack.extend(node.children)
    return False
