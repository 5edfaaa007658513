"""Which of a few names a piece of code binds, anywhere in it.

Shared by the whole-module analysis (one walk of the tree, when a rule asks) and the
incremental one (each top-level statement's answer kept with it), so both judge the same
way: ``AnalysisContext.binds_anywhere`` and ``Rule.watched_names``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable

_BINDERS = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.Import,
    ast.ImportFrom,
    ast.Name,
    ast.ExceptHandler,
    ast.MatchAs,
    ast.MatchStar,
)


def names_bound(roots: Iterable[ast.AST], names: frozenset[str], text: str) -> frozenset[str]:
    """The ``names`` that a def, class, import or assignment target under ``roots`` binds.

    Parameters do not count (they bind only inside their function). ``text`` is the roots'
    source: a name that is not a word of it cannot be bound, and then nothing is walked.
    """
    wanted = frozenset(n for n in names if is_word(n, text))
    if not wanted:
        return frozenset()
    return every_name_bound(roots) & wanted


def is_word(name: str, text: str) -> bool:
    """Whether ``name`` occurs in ``text`` with no word character just before or after it:
    ``re.search(rf"\\b{re.escape(name)}\\b", text)``, by ``str.find`` for an ASCII
    identifier (a pattern per name cost more than the walk it spares, on every fixed text
    verification checks). Its characters are all word characters (``\\w`` is ``str.isalnum``
    or ``_``), so an occurrence that starts inside another has one just before it."""
    if not (name.isascii() and name.isidentifier()):
        return re.search(rf"\b{re.escape(name)}\b", text) is not None
    size = len(name)
    start = text.find(name)
    while start >= 0:
        end = start + size
        before = text[start - 1] if start else " "
        after = text[end] if end < len(text) else " "
        if not (before.isalnum() or before == "_") and not (after.isalnum() or after == "_"):
            return True
        start = text.find(name, end)
    return False


def every_name_bound(roots: Iterable[ast.AST]) -> frozenset[str]:
    """Every name a def, class, import or assignment target under ``roots`` binds (as
    ``names_bound`` judges, for all names at once: one walk instead of one per name)."""
    found: set[str] = set()
    stack: list[ast.AST] = list(roots)
    node_base = ast.AST
    while stack:
        node = stack.pop()
        if isinstance(node, _BINDERS):
            found.update(_bound_by(node))
        for field in node._fields:
            value = getattr(node, field, None)
            if value.__class__ is list:
                stack.extend(item for item in value if isinstance(item, node_base))
            elif isinstance(value, node_base):
                stack.append(value)
    return frozenset(found)


def _bound_by(node: ast.AST) -> tuple[str, ...]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return (node.name,)
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return tuple(a.asname or a.name for a in node.names)
    if isinstance(node, ast.Name):
        return (node.id,) if isinstance(node.ctx, ast.Store) else ()
    name = getattr(node, "name", None)
    return (name,) if name else ()
