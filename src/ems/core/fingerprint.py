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
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
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


def enclosing_definition(spans: list[DefinitionSpan], starts: list[int], line: int) -> str:
    """The innermost definition containing ``line`` ('' at module level)."""
    index = bisect.bisect_right(starts, line)
    best = ""
    best_size = None
    # Walk back over the definitions that start at or before the line.
    for span in reversed(spans[:index]):
        if span.start <= line <= span.end:
            size = span.end - span.start
            if best_size is None or size < best_size:
                best, best_size = span.qualname, size
    return best


def normalise(line: str) -> str:
    return " ".join(line.split())


def fingerprints(
    keys: Iterable[tuple[str, str, str, str]],
) -> list[str]:
    """One fingerprint per (code, path, line text, enclosing name) key, in order."""
    seen: Counter[tuple[str, str, str, str]] = Counter()
    result = []
    for code, path, line_text, enclosing in keys:
        key = (code, path, normalise(line_text), enclosing)
        index = seen[key]
        seen[key] += 1
        digest = hashlib.blake2b(
            "\x1f".join((*key, str(index))).encode("utf-8", "surrogatepass"), digest_size=8
        ).hexdigest()
        result.append(digest)
    return result
