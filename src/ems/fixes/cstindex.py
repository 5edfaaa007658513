"""One code-generation pass over a libcst module: every node's parent, syntactic span and
whitespace-inclusive span, as character offsets; and replacing a node by regenerating
only the statements it touches.

Why: libcst's ``PositionProvider`` and ``ParentNodeProvider`` are two full passes (the
first splits every token with a regular expression), and ``Module.deep_replace`` followed
by ``Module.code`` walks and regenerates the whole file for each fix. On a large module
that made judging a few fixes cost seconds. The spans here are recorded exactly as
``PositionProvider`` records them (same start/end nodes, same first-record-wins order),
only as offsets into the generated code; lines and columns are derived on demand.

Imported only when a fix runs (it imports libcst).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from types import TracebackType
from typing import Any

import libcst as cst
from libcst._nodes.internal import CodegenState

_NEWLINE = re.compile(r"\r\n?|\n")  # libcst's own line-break rule (position_provider)

Span = tuple[int, int]


class _Record:
    """``record_syntactic_position`` as a plain context manager (libcst's is a generator)."""

    __slots__ = ("end_node", "node", "start", "start_node", "state")

    def __init__(self, state: _IndexingState, node: Any, start_node: Any, end_node: Any) -> None:
        self.state = state
        self.node = node
        self.start_node = start_node
        self.end_node = end_node
        self.start = 0

    def __enter__(self) -> None:
        self.start = self.state.offset

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        state = self.state
        spans = state.syntactic
        start = spans[self.start_node][0] if self.start_node is not None else self.start
        end = spans[self.end_node][1] if self.end_node is not None else state.offset
        spans[self.node] = (start, end)


class _IndexingState(CodegenState):
    """Generates the module's code while recording parents and spans."""

    def __init__(self, default_indent: str, default_newline: str) -> None:
        super().__init__(default_indent, default_newline)
        self.offset = 0
        self.stack: list[Any] = []
        self.starts: list[int] = []
        self.parents: dict[Any, Any] = {}
        self.whole: dict[Any, Span] = {}  # whitespace-inclusive
        self.syntactic: dict[Any, Span] = {}  # PositionProvider's spans, in its order
        self.popped = ""  # the module's last newline, generated then dropped

    def pop_trailing_newline(self) -> None:
        if self.tokens:
            self.popped = self.tokens.pop()  # spans were counted with it: lines too

    def add_token(self, value: str) -> None:
        self.tokens.append(value)
        self.offset += len(value)

    def add_indent_tokens(self) -> None:
        self.tokens.extend(self.indent_tokens)
        for token in self.indent_tokens:
            self.offset += len(token)

    def before_codegen(self, node: Any) -> None:
        if self.stack:
            self.parents[node] = self.stack[-1]
        self.stack.append(node)
        self.starts.append(self.offset)

    def after_codegen(self, node: Any) -> None:
        self.stack.pop()
        start = self.starts.pop()
        if node not in self.whole:
            self.whole[node] = (start, self.offset)
        if node not in self.syntactic:
            self.syntactic[node] = (start, self.offset)

    def record_syntactic_position(  # type: ignore[override]
        self, node: Any, *, start_node: Any = None, end_node: Any = None
    ) -> _Record:
        return _Record(self, node, start_node, end_node)


class ModuleIndex:
    """Parents and spans of every node of ``module``, from one code-generation pass."""

    def __init__(self, module: cst.Module) -> None:
        state = _IndexingState(module.default_indent, module.default_newline)
        module._codegen(state)
        self.module = module
        self.code = "".join(state.tokens)
        self.parents: dict[cst.CSTNode, cst.CSTNode] = state.parents
        self.whole: dict[cst.CSTNode, Span] = state.whole
        self.syntactic: dict[cst.CSTNode, Span] = state.syntactic
        self.line_starts = [0, *(m.end() for m in _NEWLINE.finditer(self.code + state.popped))]
        self._by_start: dict[int, list[cst.CSTNode]] | None = None

    def position(self, offset: int) -> tuple[int, int]:
        index = bisect.bisect_right(self.line_starts, offset) - 1
        return index + 1, offset - self.line_starts[index]

    def range_of(self, node: cst.CSTNode) -> tuple[tuple[int, int], tuple[int, int]]:
        start, end = self.syntactic[node]
        return self.position(start), self.position(end)

    def starting_at(self, line: int, column: int) -> list[cst.CSTNode]:
        """Nodes whose syntactic span starts at (line, column), in ``PositionProvider``'s
        order."""
        if not 0 < line <= len(self.line_starts):
            return []
        offset = self.line_starts[line - 1] + column
        if self._by_start is None:
            by_start: dict[int, list[cst.CSTNode]] = {}
            for node, (start, _) in self.syntactic.items():
                by_start.setdefault(start, []).append(node)
            self._by_start = by_start
        nodes = self._by_start.get(offset, [])
        return [n for n in nodes if self.position(offset) == (line, column)]

    # -- local replacement ---------------------------------------------------------------

    def local_replacement(
        self,
        old: cst.CSTNode,
        new: cst.CSTNode | cst.RemovalSentinel | cst.FlattenSentinel[Any],
    ) -> tuple[int, int, str] | None:
        """``(start, end, text)``: the span of the original code that changes when ``old``
        is replaced by ``new``, and its new text, such that
        ``code[:start] + text + code[end:]`` is exactly ``module.deep_replace(old,
        new).code``. None when that cannot be had locally (the caller regenerates the
        module)."""
        if not self.module.has_trailing_newline:
            return None  # the module drops its last newline token: context-dependent
        if isinstance(old, (cst.Module, cst.IndentedBlock)) and type(new) is type(old):
            change = _block_change(old, new)
            if change is not None:
                first, last, statements = change
                return self._statements(old, first, last, statements)
            if isinstance(old, cst.Module):
                return None
        if isinstance(old, cst.BaseExpression) and type(new) is type(old):
            # An expression for one of its own kind: its parent generates the same code
            # around it, so only its span changes (a loop target renamed no longer
            # regenerates the whole loop). Multi-line brackets indent by the block.
            anchor = self._statement_above(old)
            if anchor is None or old not in self.whole:
                return None
            state = CodegenState(self.module.default_indent, self.module.default_newline)
            state.indent_tokens = self._indents(anchor[0])
            new._codegen(state)
            start, end = self.whole[old]
            return start, end, "".join(state.tokens)
        parent = self.parents.get(old)
        if isinstance(parent, (cst.Module, cst.IndentedBlock)) and _index_in(parent.body, old) is not None:
            if isinstance(new, cst.RemovalSentinel):
                replacements: list[cst.CSTNode] = []
            elif isinstance(new, cst.FlattenSentinel):
                replacements = list(new.nodes)
            else:
                replacements = [new]
            index = _index_in(parent.body, old)
            assert index is not None
            if replacements or len(parent.body) > 1:
                return self._statements(parent, index, index + 1, replacements)
        elif isinstance(new, (cst.RemovalSentinel, cst.FlattenSentinel)):
            pass  # removed from inside a statement: that statement is regenerated below
        anchor = self._statement_above(old)
        if anchor is None:
            return None
        block, index = anchor
        statement = block.body[index]
        rebuilt = statement.deep_replace(old, new)  # type: ignore[type-var]
        if not isinstance(rebuilt, cst.CSTNode):
            return None
        return self._statements(block, index, index + 1, [rebuilt])

    def _statement_above(self, node: cst.CSTNode) -> tuple[cst.Module | cst.IndentedBlock, int] | None:
        """The statement of a block's body that strictly contains ``node``, with its block."""
        current = node
        parent = self.parents.get(current)
        while parent is not None:
            grand = self.parents.get(parent)
            if isinstance(grand, (cst.Module, cst.IndentedBlock)):
                index = _index_in(grand.body, parent)
                if index is not None:
                    return grand, index
            current, parent = parent, grand
        return None

    def _statements(
        self,
        block: cst.Module | cst.IndentedBlock,
        first: int,
        last: int,
        statements: Sequence[cst.CSTNode],
    ) -> tuple[int, int, str] | None:
        """Replace ``block.body[first:last]`` (non-empty) by ``statements``."""
        if first >= last or (not statements and len(block.body) == last - first):
            return None
        start = self.whole[block.body[first]][0]
        end = self.whole[block.body[last - 1]][1]
        state = CodegenState(self.module.default_indent, self.module.default_newline)
        state.indent_tokens = self._indents(block)
        for statement in statements:
            statement._codegen(state)
        return start, end, "".join(state.tokens)

    def _indents(self, block: cst.Module | cst.IndentedBlock) -> list[str]:
        """The indentation a statement of ``block``'s body is generated with."""
        indents: list[str] = []
        current: cst.CSTNode | None = block
        while current is not None:
            if isinstance(current, cst.IndentedBlock):
                indents.append(self.module.default_indent if current.indent is None else current.indent)
            current = self.parents.get(current)
        indents.reverse()
        return indents


def _index_in(body: Sequence[cst.CSTNode], node: cst.CSTNode) -> int | None:
    for index, item in enumerate(body):
        if item is node:
            return index
    return None


_MODULE_FIELDS = ("header", "footer", "encoding", "default_indent", "default_newline", "has_trailing_newline")
_BLOCK_FIELDS = ("header", "footer", "indent")


def _block_change(
    old: cst.Module | cst.IndentedBlock, new: cst.Module | cst.IndentedBlock
) -> tuple[int, int, list[cst.CSTNode]] | None:
    """When only ``body`` differs: the changed range of the old body and what replaces it
    (statements compared by identity)."""
    fields = _MODULE_FIELDS if isinstance(old, cst.Module) else _BLOCK_FIELDS
    for name in fields:
        before, after = getattr(old, name), getattr(new, name)
        if before is not after and before != after:
            return None
    old_body, new_body = list(old.body), list(new.body)
    if not new_body:
        return None
    head = 0
    limit = min(len(old_body), len(new_body))
    while head < limit and old_body[head] is new_body[head]:
        head += 1
    tail = 0
    while tail < limit - head and old_body[-1 - tail] is new_body[-1 - tail]:
        tail += 1
    if head == len(old_body) - tail:
        return None  # a pure insertion: no old statement to anchor the span on
    changed: list[cst.CSTNode] = list(new_body[head : len(new_body) - tail])
    return head, len(old_body) - tail, changed
