"""Stable identities for findings.

A fingerprint is rule code + path + a hash of the whitespace-normalised source line
+ the enclosing definition's qualified name, plus an occurrence index among identical
keys. It survives edits elsewhere in the file and moving a function around, so the
store and history can follow a finding when its line number changes.
"""

from __future__ import annotations

import ast
import bisect
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DefinitionSpan:
    start: int
    end: int
    qualname: str


_BLOCK_FIELDS = frozenset({"body", "orelse", "handlers", "finalbody", "cases"})
_BLOCKS_OF: dict[type, tuple[str, ...]] = {}
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_STATEMENTS = (ast.stmt, ast.excepthandler, ast.match_case)


def definition_spans(tree: ast.Module, lines: Sequence[int] | None = None) -> list[DefinitionSpan]:
    """Every def/class with its line span and dotted name, iteratively (no recursion).

    Definitions only occur in statement lists, so only the statement-list fields
    (``body``, ``orelse``, ``handlers``, ``finalbody``, ``cases``) are followed, in
    ``_fields`` order as ``ast.iter_child_nodes`` would: the same spans, without visiting
    a single expression (this ran for every file with a finding and showed in profiles).

    With ``lines`` (sorted), a statement that spans none of them is not entered: the spans
    found are exactly those containing one of ``lines``, all ``enclosing_definition``
    needs to answer for them (a nested statement lies within the lines of its parent).
    """
    spans: list[DefinitionSpan] = []
    stack: list[tuple[ast.AST, str]] = [(tree, "")]
    blocks_of = _BLOCKS_OF
    while stack:
        node, prefix = stack.pop()
        cls = type(node)
        fields = blocks_of.get(cls)
        if fields is None:
            fields = blocks_of[cls] = tuple(f for f in cls._fields if f in _BLOCK_FIELDS)
        for field in fields:
            children = getattr(node, field, None)
            if children.__class__ is not list:
                continue
            for child in children:
                if lines is not None and not _spans_any(child, lines):
                    continue
                if isinstance(child, _DEFINITIONS):
                    name = f"{prefix}.{child.name}" if prefix else child.name
                    spans.append(DefinitionSpan(child.lineno, child.end_lineno or child.lineno, name))
                    stack.append((child, name))
                elif isinstance(child, _STATEMENTS):
                    stack.append((child, prefix))
    spans.sort(key=lambda s: (s.start, -s.end))
    return spans


def _spans_any(node: ast.AST, lines: Sequence[int]) -> bool:
    """Whether one of the sorted ``lines`` lies in ``node``'s (a ``match_case`` has none)."""
    start = getattr(node, "lineno", None)
    if start is None:
        return True
    index = bisect.bisect_left(lines, start)
    return index < len(lines) and lines[index] <= (node.end_lineno or start)  # type: ignore[attr-defined]


def span_parents(spans: Sequence[DefinitionSpan]) -> list[int]:
    """For each span (sorted as ``definition_spans`` sorts them), the index of the span
    directly enclosing it, or -1: one pass with a stack (definitions nest properly)."""
    parents: list[int] = []
    open_spans: list[int] = []
    for index, span in enumerate(spans):
        while open_spans and spans[open_spans[-1]].end < span.start:
            open_spans.pop()
        parents.append(open_spans[-1] if open_spans else -1)
        open_spans.append(index)
    return parents


def enclosing_definition(
    spans: Sequence[DefinitionSpan], starts: Sequence[int], line: int, parents: Sequence[int] | None = None
) -> str:
    """The innermost definition containing ``line`` ('' at module level).

    Definitions nest properly, so the answer is the last span starting at or before the
    line if it contains it, else the nearest of that span's ancestors that does: with
    ``parents`` (``span_parents``) a walk up the nesting, not back over every earlier
    definition (which made a file of 28,500 functions quadratic). Without ``parents``,
    the walk back stops at the first span containing the line (the innermost one).
    """
    index = bisect.bisect_right(starts, line) - 1
    if parents is not None:
        while index >= 0 and spans[index].end < line:
            index = parents[index]
        return spans[index].qualname if index >= 0 else ""
    while index >= 0:
        span = spans[index]
        if span.start <= line <= span.end:
            return span.qualname
        index -= 1
    return ""


def normalise(line: str) -> str:
    return " ".join(line.split())


def fingerprints(
    keys: Iterable[tuple[str, str, str, str]],
) -> list[str]:
    """One fingerprint per (code, path, line text, enclosing name) key, in order.

    The hashed text is the key's parts (the line whitespace-normalised) and the key's
    occurrence index, joined by ``\x1f``."""
    seen: dict[tuple[str, str, str, str], int] = {}
    result: list[str] = []
    append = result.append
    blake2b = hashlib.blake2b
    for code, path, line_text, enclosing in keys:
        line = " ".join(line_text.split())  # ``normalise``, inlined: once per finding
        key = (code, path, line, enclosing)
        index = seen.get(key, 0)
        seen[key] = index + 1
        text = f"{code}\x1f{path}\x1f{line}\x1f{enclosing}\x1f{index}"
        append(blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest())
    return result
