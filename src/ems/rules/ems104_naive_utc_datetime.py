"""EMS104: `datetime.utcnow()` / `datetime.utcfromtimestamp()`, deprecated naive UTC times."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass

from ems.core.model import Finding, Fix, Safety, Severity, Tag
from ems.core.rule import AnalysisContext, Hit, Invalid, Rule, Valid
from ems.core.source import line_char_column
from ems.fixes import textedit
from ems.fixes.context import FixContext
from ems.fixes.lazy import cst  # libcst, imported when a fix first runs
from ems.rules._helpers import NO_HITS, has_comment

_REPLACEMENT = {"utcnow": "now", "utcfromtimestamp": "fromtimestamp"}


@dataclass(frozen=True)
class _Imports:
    """How the module spells the `datetime` module, its class and a UTC tzinfo."""

    modules: frozenset[str]  # `import datetime [as dt]`
    classes: frozenset[str]  # `from datetime import datetime [as DT]`
    utc: str  # an expression for UTC that needs no new import, or ""


class NaiveUtcDatetime(Rule):
    code = "EMS104"
    name = "naive-utc-datetime"
    severity = Severity.WARNING
    summary = "`datetime.utcnow()` / `utcfromtimestamp()` are deprecated: they return naive datetimes"
    explanation = (
        "`utcnow()` and `utcfromtimestamp()` return *naive* datetimes holding UTC wall time. "
        "Everything else in Python treats a naive datetime as local time, so `.timestamp()`, "
        "`.astimezone()` and comparisons silently shift it by the UTC offset. Both are "
        "deprecated since Python 3.12. Use `datetime.now(timezone.utc)` and "
        "`datetime.fromtimestamp(ts, timezone.utc)`, which return aware datetimes. The fix "
        "does that when a UTC object can be spelled with the module's existing imports (e.g. "
        "`datetime.datetime.utcnow()` after `import datetime`); it is unsafe because the "
        "result is now aware, and comparing it with naive datetimes raises `TypeError`. "
        "References without a call (`default=datetime.utcnow`) are reported without a fix."
    )
    tags = frozenset({Tag.DEPRECATED})
    fix_safety = Safety.UNSAFE
    fix_title = "Use an aware `now(...)` / `fromtimestamp(..., utc)`"
    local_fix = True
    node_types = (ast.Attribute,)
    visit_names = frozenset(_REPLACEMENT)  # ``visit`` looks at these attributes only
    valid = (
        Valid("import datetime\nnow = datetime.datetime.now(datetime.timezone.utc)\n"),
        Valid("from datetime import datetime, UTC\nnow = datetime.now(UTC)\n"),
        Valid("import arrow\nnow = arrow.utcnow()\n"),
    )
    invalid = (
        Invalid(
            "import datetime\n\nstamp = datetime.datetime.utcnow()  # when\n",
            fixed="import datetime\n\nstamp = datetime.datetime.now(datetime.timezone.utc)  # when\n",
            unsafe=True,
            at="3:8-3:34",
            message="`datetime.datetime.utcnow()` is deprecated and returns a naive datetime; use `now(timezone.utc)`",
        ),
        Invalid(
            "from datetime import datetime as DT, timezone\n\nt = DT.utcfromtimestamp(é)\n",
            fixed="from datetime import datetime as DT, timezone\n\nt = DT.fromtimestamp(é, timezone.utc)\n",
            unsafe=True,
            at="3:4-3:26",
            message="`DT.utcfromtimestamp()` is deprecated and returns a naive datetime; use `fromtimestamp(ts, timezone.utc)`",
        ),
        Invalid(
            "import datetime\n\ncreated = Column(default=datetime.datetime.utcnow)\n",
            at="3:25-3:49",
            message="`datetime.datetime.utcnow` is deprecated and returns naive datetimes; use `now(timezone.utc)`",
        ),
        Invalid(
            "import datetime as dt\n\nstamp = dt.datetime.utcnow().isoformat()\n",
            fixed="import datetime as dt\n\nstamp = dt.datetime.now(dt.timezone.utc).isoformat()\n",
            unsafe=True,
            at="3:8-3:28",
            message="`dt.datetime.utcnow()` is deprecated and returns a naive datetime; use `now(timezone.utc)`",
        ),
    )

    def visit(self, node: ast.AST, ctx: AnalysisContext) -> Iterator[Hit]:
        # Called for every attribute access: the name test first, without a generator.
        if node.attr not in _REPLACEMENT:  # type: ignore[attr-defined]
            return NO_HITS
        return self._visit(node, ctx)  # type: ignore[arg-type]

    def _visit(self, node: ast.Attribute, ctx: AnalysisContext) -> Iterator[Hit]:
        imports = _imports(ctx)
        owner = node.value
        utc = ""
        if isinstance(owner, ast.Name):
            if owner.id not in imports.classes and (owner.id != "datetime" or owner.id in imports.modules):
                return
            spelled = owner.id
            utc = imports.utc
        elif (
            isinstance(owner, ast.Attribute)
            and owner.attr == "datetime"
            and isinstance(owner.value, ast.Name)
            and (owner.value.id in imports.modules or owner.value.id == "datetime")
        ):
            spelled = f"{owner.value.id}.datetime"
            utc = f"{owner.value.id}.timezone.utc"
        else:
            return
        better = "now(timezone.utc)" if node.attr == "utcnow" else "fromtimestamp(ts, timezone.utc)"
        parent = ctx.ancestors[-1] if ctx.ancestors else None
        if not (isinstance(parent, ast.Call) and parent.func is node):
            # A reference such as `default=datetime.utcnow`: deprecated all the same, but
            # the replacement needs a lambda or a helper, a choice left to the author.
            yield ctx.hit(
                node,
                f"`{spelled}.{node.attr}` is deprecated and returns naive datetimes; use `{better}`",
                data=(("utc", ""), ("method", node.attr)),
            )
            return
        call = parent
        wanted = 0 if node.attr == "utcnow" else 1
        if len(call.args) != wanted or call.keywords or any(isinstance(a, ast.Starred) for a in call.args):
            utc = ""
        if utc and has_comment(ctx, call):
            utc = ""
        yield ctx.hit(
            call,
            f"`{spelled}.{node.attr}()` is deprecated and returns a naive datetime; use `{better}`",
            data=(("utc", utc), ("method", node.attr)),
        )

    @classmethod
    def is_fixable(cls, hit: Hit) -> bool:
        return bool(dict(hit.data).get("utc"))

    def fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        method, utc = finding.datum("method"), finding.datum("utc")
        call = ctx.find(
            cst.Call,
            finding.range,
            where=lambda n: isinstance(n.func, cst.Attribute) and n.func.attr.value == method,
        )
        if call is None or not utc or not isinstance(call.func, cst.Attribute):
            return None
        tz = cst.Arg(cst.parse_expression(utc))
        if method == "utcnow":
            args = [tz]
        else:
            if len(call.args) != 1:
                return None
            first = call.args[0].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            args = [first, tz]
        new = call.with_changes(func=call.func.with_changes(attr=cst.Name(_REPLACEMENT[method])), args=args)
        return ctx.replace(call, new, self.fix_title, Safety.UNSAFE, finding)

    def text_fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        """``fix`` as a text edit (``ems.fixes.textedit``) for a one-line call written
        ``owner.utcnow()`` or ``owner.utcfromtimestamp(ts)``: the method's name and what
        the brackets hold change. Spaces inside the brackets or a trailing comma: libcst."""
        method, utc = finding.datum("method"), finding.datum("utc")
        node, base, text = textedit.expression_at(ctx.source, finding.range)
        if not (
            isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == method
        ):
            raise textedit.CstNeeded
        end = line_char_column(text, node.func.end_col_offset)  # type: ignore[arg-type]
        name = end - len(method)
        if text[name - 1 : name] != "." or not utc:
            raise textedit.CstNeeded
        if method == "utcnow":
            if text[end:] != "()":
                raise textedit.CstNeeded
            arguments = utc
        else:
            inner = text[end + 1 : -1]  # the one argument, with brackets of its own if any
            if (
                len(node.args) != 1
                or text[end : end + 1] != "("
                or inner != inner.strip(" \t")
                or inner.endswith(",")
            ):
                raise textedit.CstNeeded
            arguments = f"{inner}, {utc}"
        new = f"{_REPLACEMENT[method]}({arguments})"
        return textedit.replacement(
            ctx.source, base + name, base + len(text), new, self.fix_title, Safety.UNSAFE, finding
        )


def _imports(ctx: AnalysisContext) -> _Imports:
    def build(statements: list[ast.stmt]) -> _Imports:
        modules: set[str] = set()
        classes: set[str] = set()
        utc_names: list[str] = []
        timezone_names: list[str] = []
        for statement in statements:
            if isinstance(statement, ast.Import):
                modules.update(a.asname or a.name for a in statement.names if a.name == "datetime")
            elif (
                isinstance(statement, ast.ImportFrom)
                and statement.module == "datetime"
                and not statement.level
            ):
                for alias in statement.names:
                    bound = alias.asname or alias.name
                    if alias.name == "datetime":
                        classes.add(bound)
                    elif alias.name == "UTC":
                        utc_names.append(bound)
                    elif alias.name == "timezone":
                        timezone_names.append(bound)
        if utc_names:
            utc = utc_names[0]
        elif timezone_names:
            utc = f"{timezone_names[0]}.utc"
        elif modules:
            utc = f"{sorted(modules)[0]}.timezone.utc"
        else:
            utc = ""
        return _Imports(frozenset(modules), frozenset(classes), utc)

    return ctx.imports_fact(("ems104.imports",), build)  # type: ignore[return-value]
