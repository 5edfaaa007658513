"""EMS102: statements after `return`/`raise`/`continue`/`break` in the same block."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ems.core.model import Finding, Fix, Range, Safety, Severity, Tag
from ems.core.rule import AnalysisContext, Hit, Invalid, Rule, Valid
from ems.fixes import textedit
from ems.fixes.context import FixContext
from ems.fixes.lazy import cst  # libcst, imported when a fix first runs
from ems.rules._helpers import NO_HITS, SCOPE_NODES

_TERMINATORS = (ast.Return, ast.Raise, ast.Continue, ast.Break)
# Statements with a block of their own (which may end with comments: libcst's footer).
_COMPOUND = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.If,
    ast.With,
    ast.AsyncWith,
    ast.Try,
    ast.TryStar,
    ast.Match,
)
# Every node that holds statement lists (a ``match`` holds its cases, each case a block).
_OWNERS = (ast.Module, *(c for c in _COMPOUND if c is not ast.Match), ast.ExceptHandler, ast.match_case)
_ALL_BLOCKS = ("body", "orelse", "finalbody")
# The statement lists of each node that holds statements.
_BLOCKS: dict[type[ast.AST], tuple[str, ...]] = {
    owner: tuple(f for f in _ALL_BLOCKS if f in owner._fields) for owner in _OWNERS
}


class UnreachableCode(Rule):
    code = "EMS102"
    name = "unreachable-code"
    severity = Severity.WARNING
    summary = "unreachable code after `return`/`raise`/`continue`/`break`"
    explanation = (
        "Statements that follow a `return`, `raise`, `continue` or `break` in the same block "
        "can never run. They are dead weight at best, and often a sign of a mistake: a "
        "`return` indented one level too far, or debugging code left behind. The empty "
        "generator idiom (`return` followed by a lone `yield`) is not reported. The fix "
        "deletes the dead statements and keeps the comments just above them; it is unsafe "
        "because deleted code is gone for good (and is not offered when the dead code holds "
        "a `yield`, which makes the function a generator)."
    )
    tags = frozenset({Tag.UNNECESSARY})
    fix_safety = Safety.UNSAFE
    fix_title = "Delete the unreachable statements"
    local_fix = True
    fix_may_reveal = frozenset({"F401", "F811", "F841", "B007"})
    node_types = _TERMINATORS
    valid = (
        Valid("def f(x):\n    if x:\n        return 1\n    return 2\n"),
        Valid("def empty():\n    return\n    yield\n"),
        Valid("for x in y:\n    if x:\n        continue\n    print(x)\n"),
    )
    invalid = (
        Invalid(
            "def f():\n    return 1\n    # old way\n    x = 2\n    return x\n",
            fixed="def f():\n    return 1\n    # old way\n",
            unsafe=True,
            at="4:4-5:12",
            message="unreachable code after `return`",
        ),
        Invalid(
            "for x in y:\n    if x:\n        break; print(x)  # gone\n    print(x)\n",
            fixed="for x in y:\n    if x:\n        break  # gone\n    print(x)\n",
            unsafe=True,
            at="3:15-3:23",
            message="unreachable code after `break`",
        ),
        Invalid(
            "def f():\n    raise ValueError('é')\n\n    @cache\n    def g():\n        pass\n\n\nx = 1\n",
            fixed="def f():\n    raise ValueError('é')\n\n\nx = 1\n",
            unsafe=True,
            at="4:4-6:12",
            message="unreachable code after `raise`",
        ),
        Invalid(
            "def g():\n    return 1\n    yield 2\n    print('never')\n",
            at="3:4-4:18",
            message="unreachable code after `return`",
        ),
    )

    def visit(self, node: ast.AST, ctx: AnalysisContext) -> Iterator[Hit]:
        # Visits the terminators (far fewer than the blocks); nearly all end their block.
        try:
            owner = ctx.ancestors[-1]  # a statement's parent is the node whose block holds it
        except IndexError:
            return NO_HITS
        fields = _BLOCKS.get(type(owner))
        if fields is None:
            return NO_HITS
        for field in fields:
            block = getattr(owner, field)
            if block and block[-1] is node:
                return NO_HITS
        for field in fields:
            block = getattr(owner, field)
            for index, statement in enumerate(block):
                if statement is node:
                    # Reported once per block, after its first terminator.
                    if any(isinstance(s, _TERMINATORS) for s in block[:index]):
                        return NO_HITS
                    return self._report(node, block[index + 1 :], ctx)
        return NO_HITS

    def _report(self, terminator: ast.stmt, dead: list[ast.stmt], ctx: AnalysisContext) -> Iterator[Hit]:
        if isinstance(terminator, ast.Return) and all(_is_bare_yield(s) for s in dead):
            return  # `return` then `yield`: the empty generator idiom
        keyword = type(terminator).__name__.lower()
        where = ctx.related(terminator, name="at")  # what the fix removes
        hit = ctx.hit(dead[0], f"unreachable code after `{keyword}`", end_node=dead[-1])
        first = dead[0]
        if isinstance(first, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and first.decorator_list:
            decorator = ctx.hit(first.decorator_list[0], "")
            at = ctx.source.line(decorator.line)[: decorator.column].rstrip()
            if at.endswith("@"):
                hit = Hit(decorator.line, len(at) - 1, hit.end_line, hit.end_column, hit.message)
        fixable = not any(_yields(s) for s in dead)
        yield Hit(
            hit.line,
            hit.column,
            hit.end_line,
            hit.end_column,
            hit.message,
            related=(where,),
            data=(("fixable", "1" if fixable else "0"),),
        )

    @classmethod
    def is_fixable(cls, hit: Hit) -> bool:
        return dict(hit.data).get("fixable") == "1"

    def fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        at = finding.place("at")
        if at is None:
            return None
        terminator = ctx.find((cst.Return, cst.Raise, cst.Continue, cst.Break), Range(at.start, at.start))
        line = ctx.parents.get(terminator) if terminator is not None else None
        if terminator is None or not isinstance(line, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            return None
        index = next(i for i, s in enumerate(line.body) if s is terminator)
        new_line: cst.CSTNode = line
        if index < len(line.body) - 1:
            new_line = line.with_changes(
                body=[*line.body[:index], terminator.with_changes(semicolon=cst.MaybeSentinel.DEFAULT)]
            )
        block = ctx.parents.get(line)
        if isinstance(line, cst.SimpleStatementLine) and isinstance(block, (cst.IndentedBlock, cst.Module)):
            position = next(i for i, s in enumerate(block.body) if s is line)
            dead = block.body[position + 1 :]
            if dead:
                kept = _comments_above(dead[0])
                new_block = block.with_changes(
                    body=[*block.body[:position], new_line], footer=[*kept, *block.footer]
                )
                return ctx.replace(block, new_block, self.fix_title, Safety.UNSAFE, finding)
        if new_line is line:
            return None
        return ctx.replace(line, new_line, self.fix_title, Safety.UNSAFE, finding)

    def text_fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        """``fix`` as a text edit (``ems.fixes.textedit``) when the terminator ends its
        line (no `;` after it) in an indented block or the module: the lines from the one
        after the terminator's (or after the last comment just above the dead code) to the
        last dead statement's go. A comment right after a dead compound statement may
        belong to its block (libcst's footer) or to what follows: libcst decides."""
        source, text = ctx.source, ctx.text
        if not textedit.ends_cleanly(text):
            raise textedit.CstNeeded
        statements = ctx.statements
        place = textedit.statement_place(statements, source, finding, "at")
        terminator, siblings = place.node, place.siblings
        if not (place.indented or siblings is statements.tree.body):
            raise textedit.CstNeeded  # a one-line suite
        index = next(i for i, s in enumerate(siblings) if s is terminator)
        dead = siblings[index + 1 :]
        last = terminator.end_lineno
        if not dead or last is None:
            raise textedit.CstNeeded
        end_column = source.char_column(last, terminator.end_col_offset)  # type: ignore[arg-type]
        if not textedit.only_comment(source.line(last)[end_column:]):
            raise textedit.CstNeeded  # `return; x = 1`
        first = min(d.lineno for d in (dead[0], *getattr(dead[0], "decorator_list", ())))
        kept = last  # the comments just above the dead code stay
        for number in range(last + 1, first):
            if source.line(number).lstrip(" \t").startswith("#"):
                kept = number
        end = dead[-1].end_lineno
        assert end is not None
        if isinstance(dead[-1], _COMPOUND):
            after = end + 1
            while after <= len(source.line_starts) and textedit.blank(source.line(after)):
                after += 1
            if source.line(after).lstrip(" \t").startswith("#"):
                raise textedit.CstNeeded
        low, high = source.offset(kept + 1, 0), source.offset(end + 1, 0)
        return textedit.replacement(source, low, high, "", self.fix_title, Safety.UNSAFE, finding)


def _comments_above(statement: cst.BaseStatement) -> list[cst.EmptyLine]:
    """The lines above ``statement`` up to its last comment (none if it has no comment)."""
    lines = list(getattr(statement, "leading_lines", ()))
    while lines and lines[-1].comment is None:
        lines.pop()
    return lines


def _is_bare_yield(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.Expr) and isinstance(statement.value, (ast.Yield, ast.YieldFrom))


def _yields(statement: ast.stmt) -> bool:
    """Whether ``statement`` holds a `yield` of the enclosing function (not a nested one)."""
    stack: list[ast.AST] = [statement]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            return True
        if isinstance(node, SCOPE_NODES):
            continue
        stack.extend(ast.iter_child_nodes(node))
    return False
