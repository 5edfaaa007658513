"""EMS106: a mutable default (list, dict, set, ...) on a dataclass field."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ems.core.model import Finding, Fix, Safety, Severity
from ems.core.rule import AnalysisContext, Hit, Invalid, Rule, Valid
from ems.fixes import textedit
from ems.fixes.context import FixContext
from ems.fixes.lazy import cst  # libcst, imported when a fix first runs
from ems.rules._helpers import MUTABLE_CALLS

_EMPTY_FACTORY = {ast.List: "list", ast.Dict: "dict", ast.Set: "set"}


class MutableDataclassDefault(Rule):
    code = "EMS106"
    name = "mutable-dataclass-default"
    severity = Severity.ERROR
    summary = "mutable default on a dataclass field: use `field(default_factory=...)`"
    explanation = (
        "`@dataclass` refuses a list, dict or set default (and, since Python 3.11, any "
        "unhashable default such as a deque): the class definition raises `ValueError: "
        "mutable default ... is not allowed`, so the module fails on import. A default shared "
        "by all instances would leak state between them; `field(default_factory=list)` makes "
        "a fresh value per instance. The fix writes that when `field` (or `dataclasses`) is "
        "already imported; it is unsafe because the default expression then runs once per "
        "instance instead of once."
    )
    fix_safety = Safety.UNSAFE
    fix_title = "Use `field(default_factory=...)`"
    local_fix = True
    node_types = (ast.ClassDef,)
    valid = (
        Valid(
            "from dataclasses import dataclass, field\n\n@dataclass\nclass A:\n"
            "    items: list[int] = field(default_factory=list)\n"
        ),
        Valid("from dataclasses import dataclass\n\n@dataclass\nclass A:\n    names: tuple[str, ...] = ()\n"),
        Valid(
            "from typing import ClassVar\nfrom dataclasses import dataclass\n\n@dataclass\nclass A:\n"
            "    registry: ClassVar[dict] = {}\n"
        ),
        Valid("class A:\n    items: list = []\n"),
    )
    invalid = (
        Invalid(
            "from dataclasses import dataclass, field\n\n@dataclass(frozen=True)\nclass A:\n"
            "    items: list[int] = []  # none yet\n",
            fixed="from dataclasses import dataclass, field\n\n@dataclass(frozen=True)\nclass A:\n"
            "    items: list[int] = field(default_factory=list)  # none yet\n",
            unsafe=True,
            at="5:23-5:25",
            message="mutable default for dataclass field `items`; use `field(default_factory=...)`",
        ),
        Invalid(
            "import dataclasses\n\n@dataclasses.dataclass\nclass A:\n    tags: set = {'a', 'é'}\n",
            fixed="import dataclasses\n\n@dataclasses.dataclass\nclass A:\n"
            "    tags: set = dataclasses.field(default_factory=lambda: {'a', 'é'})\n",
            unsafe=True,
            at="5:16-5:26",
            message="mutable default for dataclass field `tags`; use `field(default_factory=...)`",
        ),
        Invalid(
            "from dataclasses import dataclass\n\n@dataclass\nclass A:\n    seen: dict = dict()\n",
            at="5:17-5:23",
            message="mutable default for dataclass field `seen`; use `field(default_factory=...)`",
        ),
    )

    def visit(self, node: ast.AST, ctx: AnalysisContext) -> Iterator[Hit]:
        assert isinstance(node, ast.ClassDef)
        if not any(_is_dataclass(d, ctx) for d in node.decorator_list):
            return
        spelled_field = _field_spelling(ctx)
        for statement in node.body:
            if not isinstance(statement, ast.AnnAssign) or statement.value is None:
                continue
            if not isinstance(statement.target, ast.Name) or _is_classvar(statement.annotation):
                continue
            if _mutable(statement.value):
                yield ctx.hit(
                    statement.value,
                    f"mutable default for dataclass field `{statement.target.id}`; use "
                    "`field(default_factory=...)`",
                    data=(("field", spelled_field), ("factory", _factory(statement.value))),
                )

    @classmethod
    def is_fixable(cls, hit: Hit) -> bool:
        return bool(dict(hit.data).get("field"))

    def fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        spelled = finding.datum("field")
        value = ctx.find(
            cst.BaseExpression,
            finding.range,
            where=lambda n: isinstance(owner := ctx.parents.get(n), cst.AnnAssign) and owner.value is n,
        )
        if value is None or not spelled:
            return None
        factory: cst.BaseExpression
        name = finding.datum("factory")
        if name:
            factory = cst.parse_expression(name)
        else:
            factory = cst.Lambda(params=cst.Parameters(), body=value)
        new = cst.Call(
            func=cst.parse_expression(spelled),
            args=[
                cst.Arg(
                    factory,
                    keyword=cst.Name("default_factory"),
                    equal=cst.AssignEqual(
                        whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
                    ),
                )
            ],
        )
        return ctx.replace(value, new, self.fix_title, Safety.UNSAFE, finding)

    def text_fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        """``fix`` as a text edit (``ems.fixes.textedit``) for a one-line value written
        right after the `=` and ending its statement: brackets around it or a value over
        several lines go to libcst."""
        spelled, factory = finding.datum("field"), finding.datum("factory")
        at = finding.range
        if at.start.line != at.end.line or not spelled:
            raise textedit.CstNeeded
        line = ctx.source.line(at.start.line)
        value, rest = line[at.start.column : at.end.column], line[at.end.column :]
        if not (
            textedit.only_code(value)
            and line[: at.start.column].rstrip(" \t").endswith("=")
            and (textedit.only_comment(rest) or rest.lstrip(" \t").startswith(";"))
            and "\\" not in rest
        ):
            raise textedit.CstNeeded
        new = f"{spelled}(default_factory={factory or 'lambda: ' + value})"
        start, end = textedit.offsets(ctx.source, at)
        return textedit.replacement(ctx.source, start, end, new, self.fix_title, Safety.UNSAFE, finding)


def _mutable(node: ast.expr) -> bool:
    if isinstance(node, (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)):
        return True
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in MUTABLE_CALLS


def _factory(node: ast.expr) -> str:
    """A zero-argument callable's name for an empty value (`[]` -> `list`), else ""."""
    for kind, name in _EMPTY_FACTORY.items():
        if isinstance(node, kind) and not getattr(node, "elts", getattr(node, "keys", None)):
            return name
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.args and not node.keywords:
        return node.func.id
    return ""


def _is_classvar(annotation: ast.expr) -> bool:
    if isinstance(annotation, ast.Subscript):
        annotation = annotation.value
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        return "ClassVar" in annotation.value
    name = annotation.attr if isinstance(annotation, ast.Attribute) else getattr(annotation, "id", "")
    return name == "ClassVar"


def _is_dataclass(decorator: ast.expr, ctx: AnalysisContext) -> bool:
    if isinstance(decorator, ast.Call):
        decorator = decorator.func
    if isinstance(decorator, ast.Attribute):
        return (
            decorator.attr == "dataclass"
            and isinstance(decorator.value, ast.Name)
            and (decorator.value.id == "dataclasses")
        )
    return isinstance(decorator, ast.Name) and decorator.id in _imports(ctx)[0]


def _field_spelling(ctx: AnalysisContext) -> str:
    return _imports(ctx)[1]


def _imports(ctx: AnalysisContext) -> tuple[frozenset[str], str]:
    """Names bound to `dataclasses.dataclass`, and how to spell `dataclasses.field` ("" if
    it would need a new import)."""

    def build(statements: list[ast.stmt]) -> tuple[frozenset[str], str]:
        decorators = {"dataclass"}
        field = ""
        module = ""
        for statement in statements:
            if isinstance(statement, ast.ImportFrom) and statement.names:
                for alias in statement.names:
                    bound = alias.asname or alias.name
                    if statement.module == "dataclasses" and not statement.level:
                        if alias.name == "dataclass":
                            decorators.add(bound)
                        elif alias.name == "field" and not field:
                            field = bound
                    elif bound == "dataclass":
                        decorators.discard("dataclass")  # e.g. pydantic's, which copies defaults
            elif isinstance(statement, ast.Import):
                for alias in statement.names:
                    if alias.name == "dataclasses":
                        module = alias.asname or alias.name
        if not field and module:
            field = f"{module}.field"
        return frozenset(decorators), field

    return ctx.imports_fact(("ems106.imports",), build)  # type: ignore[return-value]
