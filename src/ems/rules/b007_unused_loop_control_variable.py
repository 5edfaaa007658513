"""B007: a `for` loop's control variable is not used in the loop body."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from ems.core.model import Finding, Fix, Safety, Severity
from ems.core.rule import AnalysisContext, Hit, Invalid, Rule, Valid
from ems.core.scope import ScopeModel, iter_names
from ems.fixes.context import FixContext
from ems.fixes.lazy import cst  # libcst, imported when a fix first runs


class UnusedLoopControlVariable(Rule):
    code = "B007"
    name = "unused-loop-control-variable"
    severity = Severity.WARNING
    summary = "loop control variable not used within the loop body"
    explanation = (
        "A loop variable the body never reads suggests a mistake (the body uses another "
        "variable by accident) or just noise. Naming it with a leading underscore (`_item`) says "
        "the value is deliberately ignored. The fix renames it; it is offered only when the "
        "name is not read after the loop either, and is unsafe because code outside the "
        "analysed text (e.g. `eval`) could still read the old name."
    )
    fix_safety = Safety.UNSAFE
    fix_title = "Prefix the unused loop variable with an underscore"
    valid = (
        Valid("for i in range(3):\n    print(i)\n"),
        Valid("for _ in range(3):\n    print('x')\n"),
        Valid("for _i in range(3):\n    print('x')\n"),
        Valid("for key, value in d.items():\n    print(key, value)\n"),
    )
    invalid = (
        Invalid(
            "for i in range(3):\n    print('x')\n", fixed="for _i in range(3):\n    print('x')\n", unsafe=True
        ),
        Invalid(
            "for key, value in d.items():\n    print(value)\n",
            fixed="for _key, value in d.items():\n    print(value)\n",
            unsafe=True,
        ),
        Invalid(
            "async def f():\n    async for item in stream():\n        pass\n",
            fixed="async def f():\n    async for _item in stream():\n        pass\n",
            unsafe=True,
        ),
        # read after the loop: reported, but renaming would break the later read
        Invalid("for i in range(3):\n    pass\nprint(i)\n"),
    )

    def check(self, ctx: AnalysisContext) -> Iterator[Hit]:
        model: ScopeModel = ctx.scopes  # the scope pass already collected every loop
        loops = sorted(model.loops, key=lambda n: (n.lineno, n.col_offset))
        for loop in loops:
            yield from self._check_loop(loop, model, ctx)

    def _check_loop(
        self, node: ast.For | ast.AsyncFor, model: ScopeModel, ctx: AnalysisContext
    ) -> Iterator[Hit]:
        targets = [
            n for n in iter_names(node.target) if isinstance(n.ctx, ast.Store) and not n.id.startswith("_")
        ]
        if not targets:
            return
        used = {n.id for stmt in node.body for n in iter_names(stmt)}
        reported: set[str] = set()
        for target in sorted(targets, key=lambda n: (n.lineno, n.col_offset)):
            if target.id in used or target.id in reported:
                continue
            reported.add(target.id)
            binding = model.binding_of(target)
            fixable = binding is not None and not binding.used and f"_{target.id}" not in _all_names(ctx)
            yield ctx.hit(
                target,
                f"loop control variable `{target.id}` not used within loop body",
                data=(("name", target.id), ("fixable", "1" if fixable else "0")),
            )

    @classmethod
    def is_fixable(cls, hit: Hit) -> bool:
        return dict(hit.data).get("fixable") == "1"

    def fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        name = finding.datum("name")
        node = ctx.find(cst.Name, finding.range, exact_end=True, where=lambda n: n.value == name)
        if node is None:
            return None
        return ctx.replace(
            node, node.with_changes(value=f"_{name}"), self.fix_title, self.fix_safety, finding
        )


_WORD = re.compile(r"[^\W\d]\w*")


def _all_names(ctx: AnalysisContext) -> frozenset[str]:
    """Every word in the module: a superset of its identifiers (strings and comments add a
    few), so a rename that avoids all of them cannot collide. One C-level regex pass; a tree
    walk cost 40 ms on a 5,000-line module."""

    def build() -> frozenset[str]:
        return frozenset(_WORD.findall(ctx.source.text))

    return ctx.memo("b007.names", build)  # type: ignore[return-value]
