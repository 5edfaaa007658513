"""Small pieces shared by several built-in rules (not a rule module: the leading ``_``
keeps the registry from scanning it)."""

from __future__ import annotations

import ast
import io
import keyword
import tokenize
from collections.abc import Callable, Iterator
from typing import Any, TypeGuard

from ems.core.model import Finding, Fix, Safety
from ems.core.rule import AnalysisContext, Hit, ParentChain
from ems.fixes.context import FixContext
from ems.fixes.lazy import cst  # libcst, imported when a fix first runs

# Scopes that a `return`, `break`, `continue` or `await` cannot see through.
FUNCTION_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
SCOPE_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
LOOP_NODES = (ast.For, ast.AsyncFor, ast.While)
TRY_NODES = (ast.Try, ast.TryStar)

# Calls that build a new mutable object (B006 argument defaults, EMS106 dataclass fields).
MUTABLE_CALLS = frozenset(
    {"list", "dict", "set", "bytearray", "defaultdict", "deque", "Counter", "OrderedDict"}
)

# What a ``visit`` returns when it has nothing to report. The engine calls ``visit`` for
# every node of the types a rule asked for and most calls find nothing: returning this
# (an exhausted iterator, so every loop over it ends at once) from a plain function costs
# half of creating and finishing a generator.
NO_HITS: Iterator[Hit] = iter(())


def names_in(roots: list[ast.stmt], wanted: set[str]) -> set[str]:
    """Which of ``wanted`` occur as a ``Name`` (any context) anywhere below ``roots``.

    Stops as soon as all are found: a loop body usually reads its variable early, so this
    rarely walks the whole body. Hand-inlined child iteration (no ``ast.iter_child_nodes``
    generators), as in the engine's walk.
    """
    missing = set(wanted)
    found: set[str] = set()
    if not missing:
        return found
    stack: list[Any] = list(reversed(roots))
    name_type = ast.Name
    walked = _WALKED  # node classes that are or may hold a name: no context, operator, constant
    while stack:
        node = stack.pop()
        cls = node.__class__
        if cls is name_type:
            name = node.id
            if name in missing:
                missing.discard(name)
                found.add(name)
                if not missing:
                    break
            continue
        for field in cls._fields:
            value = getattr(node, field, None)
            if value.__class__ is list:
                for item in value:
                    if item.__class__ in walked:
                        stack.append(item)
            elif value.__class__ in walked:
                stack.append(value)
    return found


def _subclasses(cls: type) -> list[type]:
    found = [cls]
    direct: type
    for direct in cls.__subclasses__():
        found += _subclasses(direct)
    return found


# Every concrete node class but those that never hold a ``Name``: contexts, operators and
# constants (a third of a body's nodes, pushed and popped for nothing).
_WALKED = frozenset(
    cls
    for cls in _subclasses(ast.AST)
    if cls.__module__ == "ast"
    and not issubclass(
        cls, (ast.expr_context, ast.boolop, ast.operator, ast.unaryop, ast.cmpop, ast.Constant)
    )
)


def parent_getter(node: ast.AST, ctx: AnalysisContext) -> Callable[[ast.AST], ast.AST | None]:
    """Each node's parent on the path from ``node`` (the node visited) up to the module,
    looked up one at a time (None above the module). Why: a rule called for every
    `return` that walks up a level or two pays less for a plain loop over this than for
    the generator ``reversed(ctx.ancestors)``; the scope pass's links are used as they are."""
    ancestors = ctx.ancestors
    if ancestors.__class__ is ParentChain:
        return ancestors.parents.get
    chain = list(ancestors)
    return dict(zip([*chain[1:], node], chain, strict=True)).get


def path_pairs(node: ast.AST, ctx: AnalysisContext) -> Iterator[tuple[ast.AST, ast.AST]]:
    """``(parent, child)`` pairs from the node up to the module, innermost first."""
    child = node
    for parent in reversed(ctx.ancestors):
        yield parent, child
        child = parent


def contains(nodes: list[ast.stmt], child: ast.AST) -> bool:
    """Whether ``child`` is one of ``nodes`` (identity, not ``==``)."""
    return any(n is child for n in nodes)


def segment(ctx: AnalysisContext, node: ast.AST) -> str:
    """The source text of ``node`` (code-point exact, also on non-ASCII lines)."""
    hit = ctx.hit(node, "")
    src = ctx.source
    return src.text[src.offset(hit.line, hit.column) : src.offset(hit.end_line, hit.end_column)]


def has_comment(ctx: AnalysisContext, node: ast.AST) -> bool:
    """Whether a comment sits inside ``node``'s text (a fix rebuilding it would lose it)."""
    text = segment(ctx, node)
    if "#" not in text:
        return False
    try:
        return any(
            tok.type == tokenize.COMMENT for tok in tokenize.generate_tokens(io.StringIO(text).readline)
        )
    except (tokenize.TokenError, SyntaxError):
        return True


def is_plain_identifier(value: object) -> TypeGuard[str]:
    """A string usable after a dot: an identifier, not a keyword, not a mangled ``__name``."""
    return (
        isinstance(value, str)
        and value.isidentifier()
        and not keyword.iskeyword(value)
        and not (value.startswith("__") and not value.endswith("__"))
    )


def alone_on_its_lines(stmt: ast.stmt, siblings: list[ast.stmt], ctx: AnalysisContext) -> bool:
    """True when no other statement shares a line with ``stmt`` (no `;`, no `if x: stmt`)."""
    end = stmt.end_lineno or stmt.lineno
    for other in siblings:
        if other is stmt:
            continue
        other_end = other.end_lineno or other.lineno
        if other.lineno <= end and stmt.lineno <= other_end:
            return False
    before = ctx.source.line(stmt.lineno)[: ctx.source.char_column(stmt.lineno, stmt.col_offset)]
    return not before.strip()


def _primary() -> tuple[type[cst.CSTNode], ...]:
    """Expressions that take ``.attr`` as they stand (a function: ``cst`` is lazy)."""
    return (
        cst.Name,
        cst.Attribute,
        cst.Call,
        cst.Subscript,
        cst.List,
        cst.Dict,
        cst.Set,
        cst.ListComp,
        cst.SetComp,
        cst.DictComp,
        cst.SimpleString,
        cst.FormattedString,
    )


def as_primary(expr: cst.BaseExpression) -> cst.BaseExpression:
    """``expr`` wrapped in parentheses unless it can take ``.attr`` as it stands."""
    if expr.lpar or (isinstance(expr, _primary()) and _one_logical_line(expr)):
        return expr
    return expr.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


def standalone(expr: cst.BaseExpression) -> cst.BaseExpression:
    """``expr`` safe to move out of brackets: parenthesised if its text spans lines."""
    if expr.lpar or _one_logical_line(expr):
        return expr
    return expr.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


def _one_logical_line(expr: cst.BaseExpression) -> bool:
    """Whether ``expr``'s text is valid outside brackets (its line breaks, if any, are
    inside its own brackets)."""
    code = cst.Module([]).code_for_node(expr)
    if "\n" not in code and "\r" not in code:
        return True
    try:
        ast.parse(code, mode="eval")
    except SyntaxError:
        return False
    return True


def replace_comparison_operator(
    compare: cst.Comparison, index: int, operator: type[cst.BaseCompOp]
) -> cst.Comparison | None:
    """``compare`` with its ``index``-th operator swapped, keeping the surrounding spaces."""
    targets = list(compare.comparisons)
    if index >= len(targets):
        return None
    old = targets[index].operator
    before = getattr(old, "whitespace_before", cst.SimpleWhitespace(" "))
    after = getattr(old, "whitespace_after", cst.SimpleWhitespace(" "))
    new = operator(whitespace_before=before, whitespace_after=after)  # type: ignore[call-arg]
    targets[index] = targets[index].with_changes(operator=new)
    return compare.with_changes(comparisons=targets)


def has_operator(node: ast.Compare, operators: tuple[type[ast.cmpop], ...]) -> bool:
    """Whether any link of the comparison uses one of ``operators`` (a cheap first test)."""
    for op in node.ops:  # noqa: SIM110 - a loop: no generator per comparison
        if isinstance(op, operators):
            return True
    return False


def any_operand(node: ast.Compare, test: Callable[[ast.expr], bool]) -> bool:
    """Whether ``test`` holds for an operand of the comparison (a cheap first test)."""
    if test(node.left):
        return True
    for operand in node.comparators:  # noqa: SIM110 - a loop: no generator per comparison
        if test(operand):
            return True
    return False


def comparison_pairs(node: ast.Compare) -> Iterator[tuple[int, ast.expr, ast.cmpop, ast.expr]]:
    """(index, left, operator, right) for each link of a chained comparison."""
    left = node.left
    for index, (op, right) in enumerate(zip(node.ops, node.comparators, strict=True)):
        yield index, left, op, right
        left = right


def swap_comparison_operator(
    finding: Finding,
    ctx: FixContext,
    swaps: tuple[tuple[type[cst.BaseCompOp], type[cst.BaseCompOp]], ...],
    title: str,
    safety: Safety,
) -> Fix | None:
    """Fix for a finding whose ``index`` datum names one link of a comparison: swap that
    link's operator by the first matching (old, new) pair (E711, E712, F632)."""
    compare = ctx.find(cst.Comparison, finding.range)
    if compare is None:
        return None
    index = int(finding.datum("index", "0"))
    if index >= len(compare.comparisons):
        return None
    operator = compare.comparisons[index].operator
    for old, new in swaps:
        if isinstance(operator, old):
            replaced = replace_comparison_operator(compare, index, new)
            return None if replaced is None else ctx.replace(compare, replaced, title, safety, finding)
    return None


def is_negated_comparison(node: ast.AST, operator: type[ast.cmpop]) -> bool:
    """`not a OP b` with a single comparison (E713 for `in`, E714 for `is`)."""
    if not (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)):
        return False
    operand = node.operand
    return isinstance(operand, ast.Compare) and len(operand.ops) == 1 and isinstance(operand.ops[0], operator)


def negated_comparison(
    finding: Finding,
    ctx: FixContext,
    positive: type[cst.BaseCompOp],
    negative: type[cst.BaseCompOp],
    title: str,
) -> Fix | None:
    """Rewrite `not a OP b` as `a NOT-OP b` (E713, E714).

    Replacing `not (cmp)` by a comparison is valid wherever `not` was: comparisons bind
    tighter. Parentheses around the comparison are kept (they may hold comments).
    """
    unary = ctx.find(
        cst.UnaryOperation,
        finding.range,
        where=lambda n: isinstance(n.operator, cst.Not) and isinstance(n.expression, cst.Comparison),
    )
    if unary is None:
        return None
    compare = unary.expression
    assert isinstance(compare, cst.Comparison)
    if len(compare.comparisons) != 1 or not isinstance(compare.comparisons[0].operator, positive):
        return None
    new = replace_comparison_operator(compare, 0, negative)
    if new is None:
        return None
    if unary.lpar:
        if new.lpar:
            new = new.with_changes(lpar=[*unary.lpar, *new.lpar], rpar=[*new.rpar, *unary.rpar])
        else:
            new = new.with_changes(lpar=unary.lpar, rpar=unary.rpar)
    return ctx.replace(unary, new, title, Safety.SAFE, finding)


def inside_loop(node: ast.AST, ctx: AnalysisContext) -> bool:
    """Whether a `break`/`continue` belongs to a loop: the nearest loop body, before any
    function or class boundary; a loop's `else:` clause is outside that loop."""
    child = node
    for parent in reversed(ctx.ancestors):
        if isinstance(parent, LOOP_NODES) and not contains(parent.orelse, child):
            return True
        if isinstance(parent, SCOPE_NODES):
            return False
        child = parent
    return False
