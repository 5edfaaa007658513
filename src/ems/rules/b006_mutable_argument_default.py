"""B006: a mutable value (list, dict, set) as an argument default."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ems.core.model import Finding, Fix, Safety, Severity
from ems.core.rule import AnalysisContext, Hit, Invalid, Rule, Valid
from ems.core.source import SourceText
from ems.fixes import textedit
from ems.fixes.context import FixContext
from ems.fixes.lazy import cst  # libcst, imported when a fix first runs
from ems.rules._helpers import MUTABLE_CALLS, NO_HITS, as_primary

_MUTABLE_NODES = (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)


class MutableArgumentDefault(Rule):
    code = "B006"
    name = "mutable-argument-default"
    severity = Severity.WARNING
    summary = "do not use a mutable value as an argument default"
    explanation = (
        "A default is evaluated once, when the `def` runs, and then shared by every call. "
        "Appending to a default list (or adding to a dict/set) therefore leaks state from one "
        "call into the next. Default to `None` and create the value in the body. The fix does "
        "that: `x=None` plus `if x is None:` / `x = <old default>` as the first statement "
        "after the docstring. It is unsafe: callers that relied on the shared object, or that "
        "pass `None` explicitly, behave differently, and the default expression now runs on "
        "every call. An annotation becomes `X | None` only when the module already uses "
        "`from __future__ import annotations` or `| None` (older Pythons cannot evaluate it)."
    )
    fix_safety = Safety.UNSAFE
    fix_title = "Default to `None` and create the value in the body"
    local_fix = True
    node_types = (ast.FunctionDef, ast.AsyncFunctionDef)
    valid = (
        Valid("def f(items=None):\n    if items is None:\n        items = []\n"),
        Valid("def f(items=(), name='x', n=frozenset()):\n    pass\n"),
        Valid("def f(items=tuple([1])):\n    pass\n"),
    )
    invalid = (
        Invalid(
            'def f(a, items=[]):  # note\n    """Doc."""\n    items.append(a)\n    return items\n',
            fixed=(
                'def f(a, items=None):  # note\n    """Doc."""\n    if items is None:\n        items = []\n'
                "    items.append(a)\n    return items\n"
            ),
            unsafe=True,
            at="1:15-1:17",
            message="do not use a mutable value as the default of `items`",
        ),
        Invalid(
            "class A:\n    async def f(self, *, seen={1, 2}, cache=dict()):\n        # body\n        return seen\n",
            fixed=(
                "class A:\n    async def f(self, *, seen=None, cache=None):\n"
                "        if seen is None:\n            seen = {1, 2}\n"
                "        if cache is None:\n            cache = dict()\n"
                "        # body\n        return seen\n"
            ),
            count=2,
            unsafe=True,
            at=("2:30-2:36", "2:44-2:50"),
            message=(
                "do not use a mutable value as the default of `seen`",
                "do not use a mutable value as the default of `cache`",
            ),
        ),
        Invalid(
            "from __future__ import annotations\n\ndef f(x: list[int] = [i for i in range(3)]): return x\n",
            fixed=(
                "from __future__ import annotations\n\ndef f(x: list[int] | None = None):\n"
                "    if x is None:\n        x = [i for i in range(3)]\n    return x\n"
            ),
            unsafe=True,
            at="3:21-3:42",
            message="do not use a mutable value as the default of `x`",
        ),
    )

    def visit(self, node: ast.AST, ctx: AnalysisContext) -> Iterator[Hit]:
        args = node.args  # type: ignore[attr-defined]
        if not args.defaults and not args.kw_defaults:
            return NO_HITS  # most functions: no default at all
        if not _any_mutable(args.defaults) and not _any_mutable(args.kw_defaults):
            return NO_HITS  # nearly every function: no generator, no lists
        return self._visit(node, ctx)  # type: ignore[arg-type]

    def _visit(self, node: ast.FunctionDef | ast.AsyncFunctionDef, ctx: AnalysisContext) -> Iterator[Hit]:
        args = node.args
        positional = [*args.posonlyargs, *args.args]
        pairs = list(zip(positional[len(positional) - len(args.defaults) :], args.defaults, strict=True))
        pairs.extend((a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None)
        body = node.body
        # `"doc"; x = 1` on one line: no place for the guard after the docstring.
        fixable = not (
            len(body) > 1
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
            and body[1].lineno == body[0].end_lineno
        )
        for arg, default in pairs:
            if _mutable(default):
                yield ctx.hit(
                    default,
                    f"do not use a mutable value as the default of `{arg.arg}`",
                    data=(("param", arg.arg), ("fixable", "1" if fixable else "0")),
                )

    @classmethod
    def is_fixable(cls, hit: Hit) -> bool:
        return dict(hit.data).get("fixable") == "1"

    def fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        name = finding.datum("param")
        default = ctx.find(
            cst.BaseExpression,
            finding.range,
            where=lambda n: isinstance(owner := ctx.parents.get(n), cst.Param) and owner.default is n,
        )
        if default is None:
            return None
        param = ctx.parents[default]
        assert isinstance(param, cst.Param)
        function = ctx.enclosing(param, cst.FunctionDef)
        if function is None or param.name.value != name:
            return None
        new_param = param.with_changes(default=cst.Name("None"))
        if param.annotation is not None and _may_widen(ctx, param.annotation.annotation):
            widened = cst.BinaryOperation(
                left=as_primary(param.annotation.annotation), operator=cst.BitOr(), right=cst.Name("None")
            )
            new_param = new_param.with_changes(annotation=param.annotation.with_changes(annotation=widened))
        params = function.params.deep_replace(param, new_param)
        body = function.body
        if isinstance(body, cst.SimpleStatementSuite):
            block = cst.IndentedBlock(
                body=[cst.SimpleStatementLine(body.body)], header=body.trailing_whitespace
            )
        else:
            assert isinstance(body, cst.IndentedBlock)
            block = body
        statements = list(block.body)
        if statements and _starts_with_docstring(statements[0]) and not _is_docstring(statements[0]):
            return None
        guard = cst.If(
            test=cst.Comparison(cst.Name(name), [cst.ComparisonTarget(cst.Is(), cst.Name("None"))]),
            body=cst.IndentedBlock(
                body=[cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(cst.Name(name))], default)])],
                indent=block.indent,
            ),
        )
        statements.insert(_insertion_point(statements, function), guard)
        new_function = function.with_changes(params=params, body=block.with_changes(body=statements))
        return ctx.replace(function, new_function, self.fix_title, Safety.UNSAFE, finding)

    def text_fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        """``fix`` as a text edit (``ems.fixes.textedit``) when the default (and the
        annotation, when it widens) stands between its `=` (`:`) and the next `,` or `)`
        without brackets of its own: the default becomes `None`, and the guard goes on
        the line after the header, the docstring or the guards of earlier parameters, in
        the body's indentation (a one-line suite becomes a block, as libcst makes it). The
        default's lines inside brackets are indented as libcst writes them. A comment right
        after a guard's block (libcst's footer of that block, or what follows), a backslash
        in the default, `\r` line ends: libcst decides."""
        source, text = ctx.source, ctx.text
        if not textedit.ends_cleanly(text):
            raise textedit.CstNeeded
        function, default = _function_of(ctx.statements, source, finding)
        name = finding.datum("param")
        param = next((a for a in _arguments(function.args) if a.arg == name), None)
        body = function.body
        first = body[0]
        indent = source.line(first.lineno)[: source.char_column(first.lineno, first.col_offset)]
        outer = textedit.indentation(source.line(function.lineno))
        if param is None:
            raise textedit.CstNeeded
        start, end = _between(text, textedit.node_range(source, default), "=", ",)", lines=True)
        replaced = "None"
        annotation = param.annotation
        if annotation is not None:
            low, high = textedit.node_range(source, annotation)
            code = text[low:high]
            if _may_widen_text(text, annotation, code):
                _between(text, (low, high), ":", "=")
                replaced = f"{textedit.as_primary(annotation, code)} | None{text[high:start]}None"
                start = low
        if not textedit.blank(indent):
            return self._one_line_suite(finding, ctx, function, name, default, (start, end), replaced)
        if not indent.startswith(outer) or indent == outer:
            raise textedit.CstNeeded
        unit = indent[len(outer) :]
        value = _moved(source, function, default, outer, indent + unit)
        index = 0
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.JoinedStr):
            raise textedit.CstNeeded  # libcst's docstring test differs for f-strings
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            index = 1 if isinstance(first.value.value, (str, bytes)) else 0
        names = {a.arg for a in _arguments(function.args)}
        while index < len(body) and _is_guard_node(body[index], names):
            index += 1
        after = _line_after(source, function, body, index, indent)
        guard = f"{indent}if {name} is None:\n{indent}{unit}{name} = {value}\n"
        new = replaced + text[end:after] + guard
        return textedit.replacement(source, start, after, new, self.fix_title, Safety.UNSAFE, finding)

    def _one_line_suite(
        self,
        finding: Finding,
        ctx: FixContext,
        function: ast.FunctionDef | ast.AsyncFunctionDef,
        name: str,
        default: ast.expr,
        span: tuple[int, int],
        replaced: str,
    ) -> Fix:
        """``def f(x=[]): return x``: libcst makes the suite a block indented by the
        module's indentation, the header keeping the line's comment; the guard goes first
        (after a lone docstring)."""
        from ems.fixes.slices import default_indent

        source, text = ctx.source, ctx.text
        body = function.body
        first, last = body[0], body[-1]
        line = first.lineno
        column = source.char_column(line, first.col_offset)
        colon = source.offset(line, 0) + len(source.line(line)[:column].rstrip(" \t"))
        low, high = source.offset(line, column), textedit.node_range(source, last)[1]
        line_end = source.offset(line + 1, 0) - 1
        unit = default_indent(ctx.statements.tree, source)
        if not (
            text[colon - 1] == ":"
            and last.end_lineno == line
            and textedit.only_code(text[low:high])
            and textedit.only_comment(text[high:line_end])
            and unit
        ):
            raise textedit.CstNeeded
        outer = textedit.indentation(source.line(function.lineno))
        indent = outer + unit
        value = _moved(source, function, default, outer, indent + unit)
        guard = f"{indent}if {name} is None:\n{indent}{unit}{name} = {value}\n"
        lines = f"{indent}{text[low:high]}\n"
        if len(body) == 1 and isinstance(first, ast.Expr) and isinstance(first.value, ast.JoinedStr):
            raise textedit.CstNeeded
        docstring = len(body) == 1 and isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
        if docstring and isinstance(first.value.value, (str, bytes)):  # type: ignore[attr-defined]
            lines += guard
        else:
            lines = guard + lines
        start, end = span
        new = replaced + text[end:colon] + text[high:line_end] + "\n" + lines
        return textedit.replacement(source, start, line_end + 1, new, self.fix_title, Safety.UNSAFE, finding)


def _function_of(
    statements: textedit.Statements, source: SourceText, finding: Finding
) -> tuple[ast.FunctionDef | ast.AsyncFunctionDef, ast.expr]:
    """The function one of whose defaults starts where ``finding`` does, and that default."""
    where = (finding.range.start.line, finding.range.start.column)
    # (the def holds the default's line: only the statements holding it are looked at)
    for place in statements.containing(where[0]):
        node = place.node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if not node.lineno <= where[0] <= node.body[0].lineno:
            continue
        for default in (*node.args.defaults, *node.args.kw_defaults):
            if (
                default is not None
                and (default.lineno, source.char_column(default.lineno, default.col_offset)) == where
            ):
                return node, default
    raise textedit.CstNeeded


def _arguments(args: ast.arguments) -> list[ast.arg]:
    found = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    found.extend(a for a in (args.vararg, args.kwarg) if a is not None)
    return found


def _between(
    text: str, span: tuple[int, int], before: str, after: str, *, lines: bool = False
) -> tuple[int, int]:
    """``span`` when it is preceded by ``before`` and followed by one of ``after`` (spaces
    only between: no brackets of its own) and is one line of code (``lines``: or several,
    which libcst copies as written)."""
    start, end = span
    head, tail = start, end
    while head and text[head - 1] in " \t":
        head -= 1
    while text[tail : tail + 1] in (" ", "\t"):
        tail += 1
    code = text[start:end]
    if not (
        (textedit.only_code(code) or (lines and "\\" not in code))
        and text[head - len(before) : head] == before
        and text[tail : tail + 1]
        and text[tail] in after
    ):
        raise textedit.CstNeeded
    return start, end


def _moved(
    source: SourceText,
    function: ast.FunctionDef | ast.AsyncFunctionDef,
    default: ast.expr,
    old: str,
    new: str,
) -> str:
    """The default's text as libcst writes it in the guard, indented by ``new``: lines it
    continues inside brackets are written anew from the def's indentation ``old``
    (``textedit.reindented``)."""
    start, end = textedit.node_range(source, default)
    first, last = default.lineno, default.end_lineno
    assert last is not None
    if first == last:
        return source.text[start:end]
    body = function.body[0]
    own_lines = textedit.blank(source.line(body.lineno)[: source.char_column(body.lineno, body.col_offset)])
    kinds = textedit.line_kinds(source, function.lineno, body.lineno - own_lines)  # the header
    rows = [source.line(n) for n in range(first + 1, last + 1)]
    rows[-1] = rows[-1][: source.char_column(last, default.end_col_offset)]  # type: ignore[arg-type]
    pieces = [source.line(first)[source.char_column(first, default.col_offset) :]]
    pieces.extend(textedit.reindented(row, kinds[n], old, new) for n, row in enumerate(rows, first + 1))
    return "\n".join(pieces)


def _may_widen_text(text: str, annotation: ast.expr, code: str) -> bool:
    """``_may_widen`` on the ``ast`` node and its text."""
    if isinstance(annotation, ast.JoinedStr) or (
        isinstance(annotation, ast.Constant) and isinstance(annotation.value, (str, bytes))
    ):
        return False
    if "None" in code or "Optional" in code or code.strip() in ("Any", "typing.Any", "object"):
        return False
    return "from __future__ import annotations" in text or "| None" in text


def _is_guard_node(statement: ast.stmt, names: set[str]) -> bool:
    """``_is_guard`` on the ``ast`` node: `if p is None:` without `else`."""
    if not isinstance(statement, ast.If) or statement.orelse:
        return False
    test = statement.test
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id in names
        and len(test.ops) == 1
        and isinstance(test.ops[0], ast.Is)
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value is None
    )


def _line_after(
    source: SourceText,
    function: ast.FunctionDef | ast.AsyncFunctionDef,
    body: list[ast.stmt],
    index: int,
    indent: str,
) -> int:
    """Where the guard goes: the start of the line after the header (``index`` 0) or after
    ``body[index - 1]`` (the docstring or a guard), which must end its line."""
    if index == 0:
        line = body[0].lineno - 1  # the header's last line: above the comments before the body
        while line > function.lineno and _blank_or_comment(source.line(line)):
            line -= 1
        return source.offset(line + 1, 0)
    anchor = body[index - 1]
    end = anchor.end_lineno
    assert end is not None
    line = end
    column = source.char_column(line, anchor.end_col_offset)  # type: ignore[arg-type]
    if not textedit.only_comment(source.line(line)[column:]):
        raise textedit.CstNeeded  # `"doc";`
    if isinstance(anchor, ast.If) and anchor.body[0].lineno > anchor.lineno:
        following = line + 1
        while following <= len(source.line_starts) and textedit.blank(source.line(following)):
            following += 1
        text = source.line(following)
        if text.lstrip(" \t").startswith("#") and textedit.indentation(text) != indent:
            raise textedit.CstNeeded  # maybe the footer of the guard's block
    return source.offset(line + 1, 0)


def _blank_or_comment(line: str) -> bool:
    stripped = line.strip(" \t")
    return not stripped or stripped.startswith("#")


def _any_mutable(defaults: list[ast.expr | None]) -> bool:
    for default in defaults:  # noqa: SIM110 - a loop: no generator per function
        if default is not None and _mutable(default):
            return True
    return False


def _mutable(node: ast.expr) -> bool:
    if isinstance(node, _MUTABLE_NODES):
        return True
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name):
            return func.id in MUTABLE_CALLS
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            return func.value.id == "collections" and func.attr in MUTABLE_CALLS
    return False


def _may_widen(ctx: FixContext, annotation: cst.BaseExpression) -> bool:
    """Whether `X | None` is safe to write here (see the rule's explanation)."""
    if isinstance(annotation, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)):
        return False
    code = ctx.code_for(annotation)
    if "None" in code or "Optional" in code or code.strip() in ("Any", "typing.Any", "object"):
        return False
    return "from __future__ import annotations" in ctx.text or "| None" in ctx.text


def _insertion_point(statements: list[cst.BaseStatement], function: cst.FunctionDef) -> int:
    """After the docstring and after the `if p is None:` guards of earlier parameters."""
    index = 0
    if statements and _is_docstring(statements[0]):
        index = 1
    names = {p.name.value for p in _all_params(function.params)}
    while index < len(statements) and _is_guard(statements[index], names):
        index += 1
    return index


def _is_docstring(statement: cst.BaseStatement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def _starts_with_docstring(statement: cst.BaseStatement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def _is_guard(statement: cst.BaseStatement, names: set[str]) -> bool:
    if not isinstance(statement, cst.If) or statement.orelse is not None:
        return False
    test = statement.test
    return (
        isinstance(test, cst.Comparison)
        and isinstance(test.left, cst.Name)
        and test.left.value in names
        and len(test.comparisons) == 1
        and isinstance(test.comparisons[0].operator, cst.Is)
        and isinstance(test.comparisons[0].comparator, cst.Name)
        and test.comparisons[0].comparator.value == "None"
    )


def _all_params(params: cst.Parameters) -> list[cst.Param]:
    found = [*params.posonly_params, *params.params, *params.kwonly_params]
    for extra in (params.star_arg, params.star_kwarg):
        if isinstance(extra, cst.Param):
            found.append(extra)
    return found
