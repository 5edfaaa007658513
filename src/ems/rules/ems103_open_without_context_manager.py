"""EMS103: `open()` whose file is not closed by a `with` block."""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Iterator

from ems.core.model import Severity
from ems.core.rule import AnalysisContext, Hit, Invalid, Rule, Valid
from ems.rules._helpers import NO_HITS


class OpenWithoutContextManager(Rule):
    code = "EMS103"
    name = "open-without-context-manager"
    severity = Severity.WARNING
    summary = "`open()` outside a `with` statement: the file may never be closed"
    explanation = (
        "A file opened without `with` is closed only when the garbage collector gets to it: "
        "never on PyPy until a collection, not at all if an exception keeps a reference, and "
        "with a `ResourceWarning` on CPython. Buffered writes can be lost. Use "
        "`with open(...) as f:` (or `pathlib.Path.read_text()`). Returning the file, storing "
        "it on an object, or handing it to `ExitStack.enter_context` passes on ownership and "
        "is not reported; nor is `f = open(...)` closed by a later `with f:` or by "
        "`f.close()` in a `finally:` block, nor `open(p, 'w').close()` (closed at once). No automatic fix: the `with` block's extent is a decision."
    )
    node_types = (ast.Call,)
    visit_names = frozenset({"open"})  # `open(...)` and `io.open(...)` only
    watched_names = frozenset({"open"})  # a module with its own `open` is left alone
    valid = (
        Valid("with open(path) as f:\n    data = f.read()\n"),
        Valid("f = open(path)\ntry:\n    data = f.read()\nfinally:\n    f.close()\n"),
        Valid("def opener(path):\n    return open(path, 'rb')\n"),
        Valid("with ExitStack() as stack:\n    f = stack.enter_context(open(path))\n"),
        Valid("open(path, 'w').close()  # create or truncate the file\n"),
    )
    invalid = (
        Invalid(
            "data = open(path).read()\n",
            at="1:7-1:17",
            message="`open()` outside a `with` statement: the file may never be closed",
        ),
        Invalid(
            "f = open('é.txt')\nf.write('中')\nf.close()\n",
            at="1:4-1:17",
            message="`open()` outside a `with` statement: the file may never be closed",
        ),
        Invalid(
            "config = json.load(open(path))\n",
            at="1:19-1:29",
            message="`open()` outside a `with` statement: the file may never be closed",
        ),
        Invalid(
            "open(path, 'w').write(text)\n",
            at="1:0-1:15",
            message="`open()` outside a `with` statement: the file may never be closed",
        ),
    )

    def visit(self, node: ast.AST, ctx: AnalysisContext) -> Iterator[Hit]:
        # Called for every call in the module: the name test first, without a generator.
        func = node.func  # type: ignore[attr-defined]
        builtin = isinstance(func, ast.Name)
        if builtin:
            if func.id != "open":
                return NO_HITS
        elif not isinstance(func, ast.Attribute) or func.attr != "open" or not _is_io(func.value):
            return NO_HITS
        return self._visit_open(node, builtin, ctx)  # type: ignore[arg-type]

    def _visit_open(self, node: ast.Call, builtin: bool, ctx: AnalysisContext) -> Iterator[Hit]:
        parent = ctx.ancestors[-1] if ctx.ancestors else None
        if isinstance(parent, ast.withitem) and parent.context_expr is node:
            return
        if isinstance(parent, (ast.Return, ast.Yield, ast.Lambda)):
            return
        if (  # `open(p, "w").close()`: created (or truncated) and closed at once
            isinstance(parent, ast.Attribute)
            and parent.attr == "close"
            and len(ctx.ancestors) > 1
            and isinstance(ctx.ancestors[-2], ast.Call)
            and ctx.ancestors[-2].func is parent
        ):
            return
        if (
            isinstance(parent, ast.Call)
            and isinstance(parent.func, ast.Attribute)
            and parent.func.attr in ("enter_context", "enter_async_context", "callback", "closing")
        ) or (
            isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name) and parent.func.id == "closing"
        ):
            return
        # Whether `open` is rebound in the module is asked only now, for a call that would
        # be reported: most modules never need the answer (and its walk).
        if builtin and "open" in _rebound(ctx):
            return
        if isinstance(parent, (ast.Assign, ast.AnnAssign)) and parent.value is node:
            targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
            if all(isinstance(t, (ast.Attribute, ast.Subscript)) for t in targets):
                return
            if (
                len(targets) == 1
                and isinstance(targets[0], ast.Name)
                and _closed_later(targets[0].id, ctx, node)
            ):
                return
        yield ctx.hit(node, "`open()` outside a `with` statement: the file may never be closed")


def _is_io(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id == "io"


def _closed_later(name: str, ctx: AnalysisContext, node: ast.Call) -> bool:
    """Whether the enclosing scope later manages the file bound to ``name``: `with name`,
    `with closing(name)`, `name.close()` in a `finally:` block, or `return name`.

    Outside every function the scope is the whole module: the answer then depends on other
    top-level statements, and is asked as a fact about them (``statements_fact``), so that
    the incremental analysis and fix judging, which re-check a statement or a body alone,
    see the whole module's answer."""
    for ancestor in reversed(ctx.ancestors):
        if isinstance(ancestor, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return _manages(ancestor, name)
    return bool(
        ctx.statements_fact(
            ("ems103.closed", name),
            name,
            lambda text: _manages_in_text(text, name),
            lambda tree: _manages(tree, name),
            at=node,
        )
    )


def _manages_in_text(text: str, name: str) -> bool:
    """``_manages`` over the module parsed from ``text`` (False if it does not parse: a
    whole-module analysis of it then reports nothing but the syntax error)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return _manages(tree, name)


def _manages(scope: ast.AST, name: str) -> bool:
    """Whether ``scope`` (anywhere in it) manages the file bound to ``name``. Every node
    that can make it so spells ``name``: only the top-level statements whose text holds the
    name can change the answer for the module (``statements_fact``'s contract)."""

    def is_name(node: ast.AST | None) -> bool:
        if isinstance(node, ast.Call) and node.args and _called(node, "closing"):
            node = node.args[0]
        return isinstance(node, ast.Name) and node.id == name

    for node in ast.walk(scope):
        if isinstance(node, ast.withitem) and is_name(node.context_expr):
            return True
        if isinstance(node, ast.Return) and is_name(node.value):
            return True
        if isinstance(node, (ast.Try, ast.TryStar)):
            for inner in (n for stmt in node.finalbody for n in ast.walk(stmt)):
                if (
                    isinstance(inner, ast.Call)
                    and isinstance(inner.func, ast.Attribute)
                    and inner.func.attr == "close"
                    and is_name(inner.func.value)
                ):
                    return True
    return False


def _called(call: ast.Call, name: str) -> bool:
    func = call.func
    return (isinstance(func, ast.Name) and func.id == name) or (
        isinstance(func, ast.Attribute) and func.attr == name
    )


# Every way source can bind the name `open` (def, class, import, `as`, assignment,
# annotation, walrus, loop target, unpacking) shows in the text right around the word;
# false positives only cost the exact walk below.
_OPEN_WORD = re.compile(r"\bopen\b")
_BINDS_BEFORE = re.compile(r"\b(?:def|class|as|for|import|lambda|case)\b")
_BINDS_AFTER = re.compile(r"^\s*(?::|=(?!=)|[,)\]])")


def _may_rebind_open(text: str) -> bool:
    for match in _OPEN_WORD.finditer(text):
        line_start = text.rfind("\n", 0, match.start()) + 1
        line_end = text.find("\n", match.end())
        before = text[line_start : match.start()]
        after = text[match.end() : line_end if line_end >= 0 else len(text)]
        if _BINDS_BEFORE.search(before) or _BINDS_AFTER.match(after):
            return True
    return False


def _rebound(ctx: AnalysisContext) -> frozenset[str]:
    """Whether the module defines or imports its own `open` (then it is not the builtin)."""
    if not ctx.module_fact(("ems103.may-rebind-open",), "open", _may_rebind_open):
        return frozenset()  # no spelling that could bind `open`: skip the walk
    return frozenset({"open"}) if ctx.binds_anywhere("open") else frozenset()
