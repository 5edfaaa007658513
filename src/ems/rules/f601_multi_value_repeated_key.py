"""F601: a dictionary key repeated with different values."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass

from ems.core.model import Finding, Fix, Safety, Severity
from ems.core.rule import AnalysisContext, Hit, Invalid, Rule, Valid
from ems.fixes import textedit
from ems.fixes.context import FixContext
from ems.fixes.lazy import cst  # libcst, imported when a fix first runs


@dataclass(frozen=True)
class _Variable:
    """A key that is a plain name: equal to another key only by the same name."""

    name: str


class _Unhandled:
    """A key or value ems cannot compare: equal only to itself (as pyflakes does)."""


class MultiValueRepeatedKey(Rule):
    """Detection follows pyflakes: keys are compared as constants (so `1`, `1.0` and `True`
    are the same key, as they are for `dict`) or as same-name variables, and a repeated key
    is reported when the values for it are not all equal. ems reports each *later*
    occurrence (the earlier value is the one silently lost). Beyond pyflakes (like ruff),
    an entry that exactly repeats the previous entry for its key is reported too, as
    removable: otherwise the fix could never apply, since repeats with differing values
    always need a human choice."""

    code = "F601"
    name = "multi-value-repeated-key"
    severity = Severity.WARNING
    summary = "dictionary key repeated with different values"
    explanation = (
        "In a dict display, a later entry for the same key silently overwrites the earlier "
        "one, so one of the values is dead. That is nearly always a copy-paste slip or a "
        "merge mistake. An entry that exactly repeats the previous entry for its key is "
        "reported too; the fix removes it (unsafe: evaluation of the removed expressions, "
        "e.g. a name that might be undefined, no longer happens). Other cases need a human "
        "to choose the value."
    )
    fix_safety = Safety.UNSAFE
    fix_title = "Remove the repeated entry"
    local_fix = True
    node_types = (ast.Dict,)
    valid = (
        Valid("d = {'a': 1, 'b': 2}\n"),
        Valid("d = {'a': f(), 'b': f()}\n"),
        Valid("d = {a: 1, b: 1, a.x: 2, a.x: 3}\n"),
        Valid("d = {**base, 'a': 1}\n"),
    )
    invalid = (
        Invalid(
            "d = {'a': 1, 'a': 2}\n",
            at="1:13-1:16",
            message="dictionary key `'a'` repeated with different values",
        ),
        Invalid(
            "d = {'a': x, 'b': 2, 'a': x}  # c\n",
            fixed="d = {'a': x, 'b': 2}  # c\n",
            unsafe=True,
            at="1:21-1:24",
            message="dictionary key `'a'` repeated with the same value",
        ),
        Invalid(
            "d = {x: 1, 'b': 2, x: 3}\n",
            at="1:19-1:20",
            message="dictionary key `x` repeated with different values",
        ),
        Invalid(
            "d = {\n    'k': (1, 'one'),  # first\n    'k': (1, 'one'),  # again\n    'z': 2,\n}\n",
            fixed="d = {\n    'k': (1, 'one'),  # first\n    # again\n    'z': 2,\n}\n",
            unsafe=True,
            at="3:4-3:7",
            message="dictionary key `'k'` repeated with the same value",
        ),
    )

    def visit(self, node: ast.AST, ctx: AnalysisContext) -> Iterator[Hit]:
        assert isinstance(node, ast.Dict)
        keys = [_comparable(k) if k is not None else _Unhandled() for k in node.keys]
        groups: dict[object, list[int]] = {}
        for index, key in enumerate(keys):
            try:
                groups.setdefault(key, []).append(index)
            except TypeError:  # unhashable: cannot be repeated meaningfully
                continue
        for key, indices in groups.items():
            if len(indices) < 2:
                continue
            values = [_comparable(node.values[i]) for i in indices]
            differ = _differ(values)
            for position in range(1, len(indices)):
                index, previous = indices[position], indices[position - 1]
                same = _identical(node.values[index], node.values[previous]) and not any(
                    k is None
                    for k in node.keys[previous:index]  # a `**spread` between may set it
                )
                if not (differ or same):
                    continue
                key_node = node.keys[index]
                assert key_node is not None
                shown = key.name if isinstance(key, _Variable) else ast.unparse(key_node)
                what = "different values" if differ else "the same value"
                yield ctx.hit(
                    key_node,
                    f"dictionary key `{shown}` repeated with {what}",
                    data=(("removable", "1" if same else "0"),),
                )

    @classmethod
    def is_fixable(cls, hit: Hit) -> bool:
        return dict(hit.data).get("removable") == "1"

    def fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        element = ctx.find(cst.DictElement, finding.range)
        mapping = ctx.parents.get(element) if element is not None else None
        if element is None or not isinstance(mapping, cst.Dict):
            return None
        elements = list(mapping.elements)
        index = next(i for i, e in enumerate(elements) if e is element)
        previous = elements[index - 1] if index else None
        if previous is None or not isinstance(previous.comma, cst.Comma):
            return None
        last = index == len(elements) - 1
        new_dict = mapping
        between = previous.comma.whitespace_after
        follow = element.comma.whitespace_after if isinstance(element.comma, cst.Comma) else None
        if not isinstance(between, cst.ParenthesizedWhitespace):
            # Same line as the previous entry: what followed the removed entry now follows it.
            if last:
                elements[index - 1] = previous.with_changes(comma=element.comma)
            else:
                assert follow is not None
                elements[index - 1] = previous.with_changes(
                    comma=previous.comma.with_changes(whitespace_after=follow)
                )
        else:
            # Own line: keep every comment, as stand-alone lines where the entry was.
            lines = [*between.empty_lines, *_comment_lines(follow, between)]
            end = follow
            if last:
                closing = mapping.rbrace.whitespace_before
                lines.extend(_comment_lines(closing, between))
                end = closing
                new_dict = mapping.with_changes(
                    rbrace=mapping.rbrace.with_changes(whitespace_before=cst.SimpleWhitespace(""))
                )
            if isinstance(end, cst.ParenthesizedWhitespace):
                after = between.with_changes(empty_lines=lines, indent=end.indent, last_line=end.last_line)
            elif last:
                after = between.with_changes(empty_lines=lines, last_line=cst.SimpleWhitespace(""))
            else:
                after = between.with_changes(empty_lines=lines)
            elements[index - 1] = previous.with_changes(
                comma=previous.comma.with_changes(whitespace_after=after)
            )
        del elements[index]
        new_dict = new_dict.with_changes(elements=elements)
        return ctx.replace(mapping, new_dict, self.fix_title, Safety.UNSAFE, finding)

    def text_fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        """``fix`` as a text edit (``ems.fixes.textedit``) for a one-line dictionary
        without ``**`` entries: the entry goes with the comma before it (the last entry)
        or with its own comma."""
        source, text = ctx.source, ctx.text
        mapping = textedit.dict_with_key(ctx.statements, source, finding.range)
        if mapping.lineno != mapping.end_lineno or any(k is None for k in mapping.keys):
            raise textedit.CstNeeded
        keys = [textedit.node_range(source, k) for k in mapping.keys]  # type: ignore[arg-type]
        values = [textedit.node_range(source, v) for v in mapping.values]
        at = source.offset(finding.range.start.line, finding.range.start.column)
        index = next((i for i, (low, _) in enumerate(keys) if low == at), 0)
        if not index:
            raise textedit.CstNeeded
        comma = textedit.comma_after(text, values[index - 1][1])
        if index == len(keys) - 1:
            end = values[index][1]
            while text[end : end + 1] in (" ", "\t"):
                end += 1
            if text[end : end + 1] not in (",", "}"):
                raise textedit.CstNeeded  # a bracketed value: its `)` is not the node's
            cut = values[index - 1][1], values[index][1]
        else:
            cut = comma + 1, textedit.comma_after(text, values[index][1]) + 1
        return textedit.replacement(source, cut[0], cut[1], "", self.fix_title, Safety.UNSAFE, finding)


def _comparable(node: ast.expr) -> object:
    """pyflakes's `convert_to_value`: constants by value, tuples of them, names by name."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Tuple):
        return tuple(_comparable(e) for e in node.elts)
    if isinstance(node, ast.Name):
        return _Variable(node.id)
    return _Unhandled()


def _differ(values: list[object]) -> bool:
    """pyflakes's test: some value occurs exactly once among the repeated key's values."""
    counts: list[tuple[object, int]] = []
    for value in values:
        for i, (seen, count) in enumerate(counts):
            if _equal(seen, value):
                counts[i] = (seen, count + 1)
                break
        else:
            counts.append((value, 1))
    return any(count == 1 for _, count in counts)


def _equal(a: object, b: object) -> bool:
    try:
        return bool(a == b)
    except Exception:  # pragma: no cover - constants always compare
        return a is b


def _identical(a: ast.expr, b: ast.expr) -> bool:
    """Same value *and* type (`1` and `True` are equal keys but not interchangeable values)."""
    return _pure(a) and _pure(b) and ast.dump(a) == ast.dump(b)


def _pure(node: ast.expr) -> bool:
    return all(isinstance(n, (ast.Constant, ast.Name, ast.Tuple, ast.Load)) for n in ast.walk(node))


def _comment_lines(
    whitespace: cst.BaseParenthesizableWhitespace | None, indent_like: cst.ParenthesizedWhitespace
) -> list[cst.EmptyLine]:
    """The comments in ``whitespace`` as stand-alone lines indented like ``indent_like``."""
    if not isinstance(whitespace, cst.ParenthesizedWhitespace):
        return []
    lines = list(whitespace.empty_lines)
    comment = whitespace.first_line.comment
    if comment is not None:
        lines.insert(
            0, cst.EmptyLine(indent=indent_like.indent, whitespace=indent_like.last_line, comment=comment)
        )
    return lines
