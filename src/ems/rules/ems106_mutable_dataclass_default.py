"""EMS106: a mutable default (list, dict, set, ...) on a dataclass field."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import replace

from ems.core.model import Finding, Fix, Range, Safety, Severity, TextEdit
from ems.core.rule import AnalysisContext, Hit, Invalid, Rule, Valid
from ems.core.source import SourceText
from ems.fixes import textedit
from ems.fixes.context import FixContext
from ems.fixes.lazy import cst  # libcst, imported when a fix first runs
from ems.rules._helpers import MUTABLE_CALLS, NO_HITS

_EMPTY_FACTORY = {ast.List: "list", ast.Dict: "dict", ast.Set: "set"}
# The finding's "import" datum: `from dataclasses import field` ("1") or `import dataclasses`.
_FIELD, _MODULE = "1", "module"


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
        "a fresh value per instance. The fix writes that, spelled as the module imports it "
        "(`field`, `dataclasses.field`); when `field` is not imported it adds it to the "
        "module's `from dataclasses import ...` line, or adds that line after the imports. "
        "When the module binds `field` some other way (a method's `for field in "
        "fields(self)`, a class attribute) it writes `dataclasses.field` and adds `import "
        "dataclasses`; a module that binds both names, or has a `*` import from elsewhere, "
        "gets no fix. With `field` imported but otherwise unused, `ems fix --unsafe-fixes` "
        "fixes both findings: F401's fix drops the import, this one adds it back, and "
        "`ems check` marks both fixable. It is unsafe because the default expression then "
        "runs once per instance instead of once."
    )
    fix_safety = Safety.UNSAFE
    fix_title = "Use `field(default_factory=...)`"
    local_fix = True  # its libcst tree read near the value only (an import is a text edit)
    node_types = (ast.ClassDef,)
    # a module with its own `field` gets `import dataclasses`; one with both, no fix
    watched_names = frozenset({"field", "dataclasses"})
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
        Valid(
            "import dataclasses as dc\n\n@dc.dataclass\nclass A:\n"
            "    items: list[int] = dc.field(default_factory=list)\n"
        ),
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
        Invalid(  # `field` not imported: added to the `from dataclasses import` line
            "from dataclasses import dataclass\n\n@dataclass\nclass A:\n    seen: dict = dict()\n",
            fixed="from dataclasses import dataclass, field\n\n@dataclass\nclass A:\n"
            "    seen: dict = field(default_factory=dict)\n",
            unsafe=True,
            at="5:17-5:23",
            message="mutable default for dataclass field `seen`; use `field(default_factory=...)`",
        ),
        Invalid(  # `field` imported but unused: F401 and EMS106 both fixed, `field` kept
            "from dataclasses import dataclass, field\n\n@dataclass\nclass A:\n    seen: list = []\n",
            fixed="from dataclasses import dataclass, field\n\n@dataclass\nclass A:\n"
            "    seen: list = field(default_factory=list)\n",
            unsafe=True,
            also=("F401",),  # verification runs F821 unselected: the two fixes are not applied in one batch
            at="5:17-5:19",
            message="mutable default for dataclass field `seen`; use `field(default_factory=...)`",
        ),
        Invalid(  # `import dataclasses as dc`: `@dc.dataclass`, and `dc.field`
            "import dataclasses as dc\n\n@dc.dataclass\nclass A:\n    seen: list = []\n",
            fixed="import dataclasses as dc\n\n@dc.dataclass\nclass A:\n"
            "    seen: list = dc.field(default_factory=list)\n",
            unsafe=True,
            at="5:17-5:19",
            message="mutable default for dataclass field `seen`; use `field(default_factory=...)`",
        ),
        Invalid(  # a method's loop variable `field`: `import dataclasses` is added
            "from dataclasses import dataclass, fields\n\n@dataclass\nclass A:\n    seen: list = []\n\n"
            "    def show(self):\n        for field in fields(self):\n            print(field.name)\n",
            fixed="from dataclasses import dataclass, fields\nimport dataclasses\n\n@dataclass\nclass A:\n"
            "    seen: list = dataclasses.field(default_factory=list)\n\n"
            "    def show(self):\n        for field in fields(self):\n            print(field.name)\n",
            unsafe=True,
            at="5:17-5:19",
            message="mutable default for dataclass field `seen`; use `field(default_factory=...)`",
        ),
        Invalid(  # the class's own `field` attribute: `dataclasses.field` all the same
            "from dataclasses import dataclass\n\n@dataclass\nclass A:\n    field: int = 0\n"
            "    seen: dict = {}\n",
            fixed="from dataclasses import dataclass\nimport dataclasses\n\n@dataclass\nclass A:\n"
            "    field: int = 0\n    seen: dict = dataclasses.field(default_factory=dict)\n",
            unsafe=True,
            at="6:17-6:19",
            message="mutable default for dataclass field `seen`; use `field(default_factory=...)`",
        ),
        Invalid(  # `field` and `dataclasses` both bound to something else: no fix
            "from dataclasses import dataclass\n\ndataclasses = field = None\n\n@dataclass\nclass A:\n"
            "    seen: dict = {}\n",
            at="7:17-7:19",
            message="mutable default for dataclass field `seen`; use `field(default_factory=...)`",
        ),
    )

    def visit(self, node: ast.AST, ctx: AnalysisContext) -> Iterator[Hit]:
        # Called for every class: a plain function, no generator for an undecorated one.
        if not node.decorator_list:  # type: ignore[attr-defined]
            return NO_HITS
        return self._visit(node, ctx)  # type: ignore[arg-type]

    def _visit(self, node: ast.ClassDef, ctx: AnalysisContext) -> Iterator[Hit]:
        if not any(_is_dataclass(d, ctx) for d in node.decorator_list):
            return
        spelled_field, needs_import = _field_spelling(ctx)
        for statement in node.body:
            if not isinstance(statement, ast.AnnAssign) or statement.value is None:
                continue
            if not isinstance(statement.target, ast.Name) or _is_classvar(statement.annotation):
                continue
            if _mutable(statement.value):
                if needs_import and _bound(node, ctx, "field"):
                    # `field` may mean something else where the fix writes it (a method's loop
                    # variable, a class attribute, a module-level name): `dataclasses.field`,
                    # with `import dataclasses`, means what it says wherever it is written.
                    spelled_field, needs_import = "dataclasses.field", _MODULE
                    if _bound(node, ctx, "dataclasses"):
                        spelled_field = needs_import = ""  # no spelling to trust: no fix
                yield ctx.hit(
                    statement.value,
                    f"mutable default for dataclass field `{statement.target.id}`; use "
                    "`field(default_factory=...)`",
                    data=(
                        ("field", spelled_field),
                        ("factory", _factory(statement.value)),
                        ("import", needs_import),
                    ),
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
        fix = ctx.replace(value, new, self.fix_title, Safety.UNSAFE, finding)
        return _with_import(fix, finding, ctx)

    def text_fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        """``fix`` as a text edit (``ems.fixes.textedit``) for a one-line value written
        right after the `=` and ending its statement: brackets around it or a value over
        several lines go to libcst. The import, if needed, is the same text edit on both
        routes (``_with_import``)."""
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
        fix = textedit.replacement(ctx.source, start, end, new, self.fix_title, Safety.UNSAFE, finding)
        return _with_import(fix, finding, ctx)


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
        # `@dataclasses.dataclass`, or `@dc.dataclass` under `import dataclasses as dc`
        return (
            decorator.attr == "dataclass"
            and isinstance(decorator.value, ast.Name)
            and decorator.value.id in _imports(ctx)[1]
        )
    return isinstance(decorator, ast.Name) and decorator.id in _imports(ctx)[0]


def _bound(cls: ast.ClassDef, ctx: AnalysisContext, name: str) -> bool:
    """Whether ``name`` is bound anywhere in the module (``ctx.binds_anywhere``) or is a
    parameter of a function around ``cls`` (which the class body would read)."""
    functions = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
    return ctx.binds_anywhere(name) or any(
        _has_parameter(a, name) for a in ctx.ancestors if isinstance(a, functions)
    )


def _has_parameter(function: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda, name: str) -> bool:
    args = function.args
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    return any(a is not None and a.arg == name for a in every)


def _field_spelling(ctx: AnalysisContext) -> tuple[str, str]:
    """How the fix spells `dataclasses.field`, and "1" when it must import it (else "")."""
    _, _, spelled, needs_import = _imports(ctx)
    return spelled, needs_import


def _imports(ctx: AnalysisContext) -> tuple[frozenset[str], frozenset[str], str, str]:
    """Names bound to `dataclasses.dataclass`, names of the `dataclasses` module (`dc` under
    `import dataclasses as dc`, for `@dc.dataclass`), how to spell `dataclasses.field`, and
    "1" when that spelling (`field`) needs a new import; ("", "") when a `*` import from
    another module may bind `field` (the fix then has no safe spelling)."""

    def build(statements: list[ast.stmt]) -> tuple[frozenset[str], frozenset[str], str, str]:
        decorators = {"dataclass"}
        modules = {"dataclasses"}  # `@dataclasses.dataclass`, `@dc.dataclass` (`import ... as dc`)
        field = ""
        module = ""
        starred = False  # a `from elsewhere import *`: `field` may already mean something
        for statement in statements:
            if isinstance(statement, ast.ImportFrom) and statement.names:
                ours = statement.module == "dataclasses" and not statement.level
                for alias in statement.names:
                    bound = alias.asname or alias.name
                    if alias.name == "*":
                        if ours:
                            field = field or "field"  # in dataclasses.__all__
                        else:
                            starred = True
                    elif ours:
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
                        modules.add(module)
        if not field and module:
            field = f"{module}.field"
        if field:
            return frozenset(decorators), frozenset(modules), field, ""
        if starred:
            return frozenset(decorators), frozenset(modules), "", ""
        return frozenset(decorators), frozenset(modules), "field", "1"

    return ctx.imports_fact(("ems106.imports",), build)  # type: ignore[return-value]


def _with_import(fix: Fix, finding: Finding, ctx: FixContext) -> Fix | None:
    """``fix`` with the edit that imports `field` (or `dataclasses`) when the finding says
    it is needed (the same text edit on the libcst route and the text route); None when
    there is no place to add it before the class."""
    needed = finding.datum("import")
    if needed not in (_FIELD, _MODULE):
        return fix
    edit = _import_edit(ctx.source, ctx.statements.tree, finding.line, module=needed == _MODULE)
    if edit is None:
        return None
    return replace(fix, edits=(edit, *fix.edits))


def _import_edit(
    source: SourceText, tree: ast.Module, before: int, *, module: bool = False
) -> TextEdit | None:
    """Where `from dataclasses import field` goes, as one inserting edit: `field` added to
    the module's first `from dataclasses import ...` statement (after its last name, or on
    a line of its own after a trailing comma that ends its line), else a new line after
    the last top-level import above line ``before`` (or before the first statement that is
    not the docstring or a `from __future__` import). None when that statement shares its
    line with another, or starts at or after ``before``. ``module``: the line is `import
    dataclasses`, never merged into another statement."""
    statements = tree.body
    line_text = ("import dataclasses" if module else "from dataclasses import field") + _eol(source)
    for statement in () if module else statements:
        if (
            isinstance(statement, ast.ImportFrom)
            and statement.module == "dataclasses"
            and not statement.level
            and statement.names[0].name != "*"
        ):
            if statement.lineno >= before:
                return None
            return _added_name(source, statement)
    imports = [s for s in statements if isinstance(s, (ast.Import, ast.ImportFrom)) and s.lineno < before]
    if imports:
        last = imports[-1]
        end_line = last.end_lineno
        assert end_line is not None
        _, end = textedit.node_range(source, last)
        rest = source.text[end : source.offset(end_line, len(source.line(end_line)))]
        if last.col_offset or not textedit.only_comment(rest):
            return None  # after `x = 1;` or before `; y = 2`
        return TextEdit(Range.of(end_line + 1, 0, end_line + 1, 0), line_text)
    index = 0
    if statements and isinstance(statements[0], ast.Expr) and isinstance(statements[0].value, ast.Constant):
        index = 1  # the docstring
    while index < len(statements) and isinstance(statements[index], ast.ImportFrom):
        index += 1  # `from __future__` imports (the only imports left here)
    if index >= len(statements) or statements[index].col_offset:
        return None
    first = statements[index]
    line = min([first.lineno, *(d.lineno for d in getattr(first, "decorator_list", ()))])
    if line > before:
        return None
    return TextEdit(Range.of(line, 0, line, 0), line_text)


def _added_name(source: SourceText, statement: ast.ImportFrom) -> TextEdit:
    """`field` added to ``statement``'s names."""
    last = statement.names[-1]
    end_line, end_column = last.end_lineno, source.char_column(last.end_lineno, last.end_col_offset)  # type: ignore[arg-type]
    line = source.line(end_line)  # type: ignore[arg-type]
    after = line[end_column:].lstrip(" \t")
    if after.startswith(",") and textedit.only_comment(after[1:]) and end_line != statement.end_lineno:
        # `    last,  # note` on its own line, `)` below: `field,` on a line of its own
        indent = textedit.indentation(line)
        return TextEdit(Range.of(end_line, len(line), end_line, len(line)), f"{_eol(source)}{indent}field,")  # type: ignore[arg-type]
    return TextEdit(Range.of(end_line, end_column, end_line, end_column), ", field")  # type: ignore[arg-type]


def _eol(source: SourceText) -> str:
    """The file's line break (a `\r\n` file keeps its own)."""
    return "\r\n" if "\r\n" in source.text else "\n"
