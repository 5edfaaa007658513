"""What a rule's ``fix`` gets: the document, parsed by libcst lazily and only once.

libcst positions count code points with 1-based lines and 0-based columns, exactly the
convention of ``ems.core.model``, so a finding's range finds its node directly.
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Callable, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, TypeVar

from ems.core.model import Finding, Fix, Range, Safety, TextEdit
from ems.core.source import SourceText
from ems.fixes.lazy import cst

if TYPE_CHECKING:  # libcst is imported when the first fix runs, not with the rules
    from libcst.metadata import CodeRange, MetadataWrapper

    from ems.fixes.cstindex import ModuleIndex
    from ems.fixes.slices import Slice
    from ems.fixes.textedit import Statements

N = TypeVar("N", bound="cst.CSTNode")


class FixContext:
    """``text`` and ``source`` are always the whole file. With a ``part`` (``ems.fixes.
    slices``), libcst sees only the statements that hold the findings: nodes, spans and
    edits keep the file's lines and columns, and whatever could differ from a fix on the
    whole file raises ``WholeFileNeeded`` (the engine then uses a whole-file context)."""

    def __init__(self, text: str, path: str = "<stdin>", part: Slice | None = None) -> None:
        self.text = text
        self.path = path
        self.source = SourceText(text)
        self.part = part

    @cached_property
    def module(self) -> cst.Module:
        if self.part is None:
            return cst.parse_module(self.text)
        from ems.fixes.slices import WholeFileNeeded

        try:
            module = cst.parse_module(self.part.text)
        except cst.ParserSyntaxError:
            raise WholeFileNeeded from None  # the slice's indentation did not line up
        if module.default_indent != self.part.default_indent:
            raise WholeFileNeeded
        return module

    @cached_property
    def statements(self) -> Statements:
        """The file's statements from ``ast`` (the whole text, never the slice): what the
        rules' text fixes (``ems.fixes.textedit``) read instead of libcst's tree."""
        from ems.fixes.textedit import Statements

        return Statements(self.text, self.source)

    @cached_property
    def index(self) -> ModuleIndex:
        """Parents and spans of every node, from one code-generation pass (``cstindex``)."""
        from ems.fixes.cstindex import ModuleIndex

        return ModuleIndex(self.module)

    @cached_property
    def wrapper(self) -> MetadataWrapper:
        """libcst's metadata machinery, for a plug-in's fix that wants another provider."""
        from libcst.metadata import MetadataWrapper

        return MetadataWrapper(self.module, unsafe_skip_copy=True)

    @cached_property
    def positions(self) -> dict[cst.CSTNode, CodeRange]:
        """Every node's ``PositionProvider`` range (built from the index)."""
        from libcst.metadata import CodePosition, CodeRange

        index = self.index
        result: dict[cst.CSTNode, CodeRange] = {}
        for node, (start, end) in index.syntactic.items():
            result[node] = CodeRange(CodePosition(*index.position(start)), CodePosition(*index.position(end)))
        return result

    @property
    def parents(self) -> dict[cst.CSTNode, cst.CSTNode]:
        return self.index.parents

    @cached_property
    def reexported(self) -> frozenset[str]:
        """Names other modules of the package import from this one (``ems.fixes.reexports``)."""
        from ems.fixes.reexports import names_imported_from

        return names_imported_from(self.path)

    def range_of(self, node: cst.CSTNode) -> Range:
        (start_line, start_column), (end_line, end_column) = self.index.range_of(node)
        return Range.of(start_line, start_column, end_line, end_column)

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
        best_size = (0, 0)
        index = self.index
        for node in index.starting_at(at.start.line, at.start.column):
            if not isinstance(node, node_type):
                continue
            (start_line, start_column), (end_line, end_column) = index.range_of(node)
            if exact_end and (end_line, end_column) != (at.end.line, at.end.column):
                continue
            if where is not None and not where(node):
                continue
            size = (end_line - start_line, end_column - start_column)
            if best is None or size > best_size:
                best, best_size = node, size
        return best

    def enclosing(self, node: cst.CSTNode, node_type: type[N] | tuple[type[N], ...]) -> N | None:
        parents = self.parents
        current = parents.get(node)
        while current is not None:
            if isinstance(current, node_type):
                return current
            current = parents.get(current)
        return None

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
        """A fix that swaps one node for another in the module.

        Only the statements the swap touches are regenerated (``ModuleIndex.
        local_replacement``); the edit is the same as diffing the whole regenerated module
        against the text, which is what happens when the swap cannot be had locally.
        """
        index = self.index
        part = self.part
        if index.code == (self.text if part is None else part.text):
            local = index.local_replacement(old, new)
            if local is not None:
                start, end, text = local
                if part is not None:
                    start, end, text = self._in_file(start, end, text)
                edit = minimal_edit_between(self.source, start, end, text)
                return Fix(title, safety, (edit,), finding.code)
        if part is not None:
            from ems.fixes.slices import WholeFileNeeded

            raise WholeFileNeeded
        new_module = self.module.deep_replace(old, new)  # type: ignore[type-var]
        assert isinstance(new_module, cst.Module)
        new_text = new_module.code + self._lost_tail
        round_trip = index.code + self._lost_tail
        if round_trip != self.text:
            edits = changed_lines(self.source, round_trip, new_text)
            if edits:
                return Fix(title, safety, edits, finding.code)
        return self.fix_from_text(new_text, title, safety, finding)

    def _in_file(self, start: int, end: int, text: str) -> tuple[int, int, str]:
        """A replacement of the slice's code ``[start, end)`` as the same replacement of
        the file's text. The span is first narrowed to what changes: a statement's
        regenerated span starts with the emptied lines above it, which are not the file's."""
        from ems.fixes.slices import WholeFileNeeded

        assert self.part is not None
        code = self.index.code
        limit = min(end - start, len(text))
        head = 0
        while head < limit and code[start + head] == text[head]:
            head += 1
        tail = 0
        while tail < limit - head and code[end - 1 - tail] == text[len(text) - 1 - tail]:
            tail += 1
        start, end, text = start + head, end - tail, text[head : len(text) - tail]
        first, last = self.index.position(start), self.index.position(end)
        if not self.part.holds(first, last):
            raise WholeFileNeeded
        return self.source.offset(*first), self.source.offset(*last), text

    @cached_property
    def _lost_tail(self) -> str:
        """What libcst's round trip drops from the end (a final lone "\r"), to put back."""
        original = self.index.code
        if original != self.text and self.text.startswith(original):
            return self.text[len(original) :]
        return ""

    def fix_from_text(self, new_text: str, title: str, safety: Safety, finding: Finding) -> Fix:
        if self.part is not None:
            from ems.fixes.slices import WholeFileNeeded

            raise WholeFileNeeded  # a whole new text is the slice's, not the file's
        return Fix(title, safety, (minimal_edit(self.source, new_text),), finding.code)


def shared_ends(old: Sequence[object], new: Sequence[object]) -> tuple[int, int]:
    """How many items the two sequences (lists, strings) share at their start, then at
    their end (not overlapping the start).

    Compared a slice at a time, the slices growing while they match and shrinking to one
    item where they do not (C-speed comparisons): an item at a time, verification spent
    ~0.2 ms per fixed text of a 2,000-line file here."""
    limit = min(len(old), len(new))
    head = shared_run(old, new, limit, 0, 0, 1)
    n, m = len(old), len(new)
    tail = shared_run(old, new, limit - head, n, m, -1)
    return head, tail


def shared_run(old: Sequence[object], new: Sequence[object], limit: int, i: int, j: int, way: int) -> int:
    """How many items (at most ``limit``) ``old`` and ``new`` share from ``i`` and ``j``
    onwards (``way`` 1), or back from the ends ``i`` and ``j`` (``way`` -1)."""
    low, step = 0, 16
    while low < limit:
        high = min(limit, low + step)
        if way > 0:
            same = old[i + low : i + high] == new[j + low : j + high]
        else:
            same = old[i - high : i - low] == new[j - high : j - low]
        if same:
            low, step = high, step * 2
        elif step > 1:
            step //= 2
        else:
            break
    return low


def minimal_edit(source: SourceText, new_text: str) -> TextEdit:
    """One edit replacing only the span that differs between the two texts."""
    old = source.text
    prefix, suffix = shared_ends(old, new_text)
    start = source.position(prefix)
    end = source.position(len(old) - suffix)
    return TextEdit(Range.of(start[0], start[1], end[0], end[1]), new_text[prefix : len(new_text) - suffix])


def changed_lines(source: SourceText, round_trip: str, new_text: str) -> tuple[TextEdit, ...] | None:
    """The lines that differ between libcst's regeneration of the file (``round_trip``) and
    of the fixed file (``new_text``), as edits of the file's own lines.

    Why: libcst does not give every text back (``except (A, B) :`` comes back as
    ``except (A, B):``), so diffing its code against the file would also rewrite such lines
    far from the fix. None when the line counts do not match (nothing to map the lines by).
    """

    def lines(text: SourceText) -> list[str]:
        bounds = [*text.line_starts, len(text.text)]
        return [text.text[a:b] for a, b in itertools.pairwise(bounds)]

    ours, before, after = lines(source), lines(SourceText(round_trip)), lines(SourceText(new_text))
    if len(ours) != len(before):
        return None
    head, tail = shared_ends(before, after)
    matcher = difflib.SequenceMatcher(
        None, before[head : len(before) - tail], after[head : len(after) - tail], autojunk=False
    )
    starts = [*source.line_starts, len(source.text)]
    edits = [
        minimal_edit_between(
            source, starts[head + i1], starts[head + i2], "".join(after[head + j1 : head + j2])
        )
        for op, i1, i2, j1, j2 in matcher.get_opcodes()
        if op != "equal"
    ]
    return tuple(edits) or None


def minimal_edit_between(source: SourceText, start: int, end: int, text: str) -> TextEdit:
    """``minimal_edit(source, old[:start] + text + old[end:])``, without building or
    scanning the whole new text: the two texts agree outside ``[start, end)``, so only the
    changed span (and whatever the shared ends extend into) is compared."""
    old = source.text
    n_old = len(old)
    n_text = len(text)
    n_new = start + n_text + (n_old - end)

    def new_at(i: int) -> str:
        if i < start:
            return old[i]
        j = i - start
        return text[j] if j < n_text else old[end + j - n_text]

    limit = min(n_old, n_new)
    prefix = start
    while prefix < limit and old[prefix] == new_at(prefix):
        prefix += 1
    suffix = min(n_old - end, limit - prefix)
    while suffix < limit - prefix and old[-1 - suffix] == new_at(n_new - 1 - suffix):
        suffix += 1
    stop = n_new - suffix
    # new[prefix:stop], from the three pieces (text, start, end) of the new text, sliced
    # once each: slicing the old text's two parts whole cost a copy of the file per fix
    pieces = ((old, 0, start), (text, 0, n_text), (old, end, n_old))
    inserted: list[str] = []
    offset = 0
    for piece, base, end_of in pieces:
        size = end_of - base
        low, high = max(prefix - offset, 0), min(stop - offset, size)
        if low < high:
            inserted.append(piece[base + low : base + high])
        offset += size
    first = source.position(prefix)
    last = source.position(n_old - suffix)
    return TextEdit(Range.of(first[0], first[1], last[0], last[1]), "".join(inserted))
