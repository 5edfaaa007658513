"""What a rule's ``fix`` gets: the document, parsed by libcst lazily and only once.

libcst positions count code points with 1-based lines and 0-based columns, exactly the
convention of ``ems.core.model``, so a finding's range finds its node directly.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, TypeVar

from ems.core.model import Finding, Fix, Range, Safety, TextEdit
from ems.core.source import SourceText
from ems.fixes.lazy import cst

if TYPE_CHECKING:  # libcst is imported when the first fix runs, not with the rules
    from libcst.metadata import CodeRange, MetadataWrapper

N = TypeVar("N", bound="cst.CSTNode")


class FixContext:
    def __init__(self, text: str, path: str = "<stdin>") -> None:
        self.text = text
        self.path = path
        self.source = SourceText(text)

    @cached_property
    def wrapper(self) -> MetadataWrapper:
        from libcst.metadata import MetadataWrapper

        return MetadataWrapper(cst.parse_module(self.text), unsafe_skip_copy=True)

    @property
    def module(self) -> cst.Module:
        return self.wrapper.module

    @cached_property
    def positions(self) -> dict[cst.CSTNode, CodeRange]:
        from libcst.metadata import PositionProvider

        return dict(self.wrapper.resolve(PositionProvider))

    @cached_property
    def parents(self) -> dict[cst.CSTNode, cst.CSTNode]:
        from libcst.metadata import ParentNodeProvider

        return dict(self.wrapper.resolve(ParentNodeProvider))

    def range_of(self, node: cst.CSTNode) -> Range:
        pos = self.positions[node]
        return Range.of(pos.start.line, pos.start.column, pos.end.line, pos.end.column)

    def find(
        self,
        node_type: type[N] | tuple[type[N], ...],
        at: Range,
        *,
        exact_end: bool = False,
        where: Callable[[N], bool] | None = None,
    ) -> N | None:
        """The outermost node of ``node_type`` starting where the finding starts."""
        best: N | None = None
        for node, pos in self.positions.items():
            if not isinstance(node, node_type):
                continue
            if (pos.start.line, pos.start.column) != (at.start.line, at.start.column):
                continue
            if exact_end and (pos.end.line, pos.end.column) != (at.end.line, at.end.column):
                continue
            if where is not None and not where(node):  # type: ignore[arg-type]
                continue
            if best is None or self._size(node) > self._size(best):
                best = node  # type: ignore[assignment]
        return best

    def enclosing(self, node: cst.CSTNode, node_type: type[N] | tuple[type[N], ...]) -> N | None:
        current = self.parents.get(node)
        while current is not None:
            if isinstance(current, node_type):
                return current  # type: ignore[return-value]
            current = self.parents.get(current)
        return None

    def _size(self, node: cst.CSTNode) -> tuple[int, int]:
        pos = self.positions[node]
        return (pos.end.line - pos.start.line, pos.end.column - pos.start.column)

    def code_for(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)

    def replace(
        self,
        old: cst.CSTNode,
        new: cst.CSTNode | cst.RemovalSentinel | cst.FlattenSentinel,
        title: str,
        safety: Safety,
        finding: Finding,
    ) -> Fix:
        """A fix that swaps one node for another in the module."""
        new_module = self.module.deep_replace(old, new)  # type: ignore[arg-type]
        assert isinstance(new_module, cst.Module)
        return self.fix_from_text(new_module.code + self._lost_tail, title, safety, finding)

    @cached_property
    def _lost_tail(self) -> str:
        """What libcst's round trip drops from the end (a final lone "\r"), to put back."""
        original = self.module.code
        if original != self.text and self.text.startswith(original):
            return self.text[len(original) :]
        return ""

    def fix_from_text(self, new_text: str, title: str, safety: Safety, finding: Finding) -> Fix:
        return Fix(title, safety, (minimal_edit(self.source, new_text),), finding.code)


def minimal_edit(source: SourceText, new_text: str) -> TextEdit:
    """One edit replacing only the span that differs between the two texts."""
    old = source.text
    limit = min(len(old), len(new_text))
    prefix = 0
    while prefix < limit and old[prefix] == new_text[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and old[-1 - suffix] == new_text[-1 - suffix]:
        suffix += 1
    start = source.position(prefix)
    end = source.position(len(old) - suffix)
    return TextEdit(Range.of(start[0], start[1], end[0], end[1]), new_text[prefix : len(new_text) - suffix])
