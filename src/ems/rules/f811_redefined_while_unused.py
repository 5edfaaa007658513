"""F811: a name is defined again before its first definition was ever used."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ems.core.model import Finding, Fix, Safety, Severity
from ems.core.rule import AnalysisContext, Hit, Invalid, Rule, Valid
from ems.fixes import textedit
from ems.fixes.context import FixContext
from ems.fixes.imports import remove_import_alias

if TYPE_CHECKING:
    from ems.core.scope import ScopeModel


class RedefinedWhileUnused(Rule):
    code = "F811"
    uses_scopes = True
    module_scoped = True
    guards_fixes = True  # a fix that leaves a name undefined (shadows one) broke the code
    name = "redefined-while-unused"
    severity = Severity.WARNING
    summary = "redefinition of an unused name"
    explanation = (
        "A function, class or import is replaced by a second definition of the same name "
        "before anything used the first one. The first definition is dead code, and often "
        "the sign of a copy-paste slip: two tests with the same name (only the last one runs), "
        "or an import shadowed by a later one. Only a redefinition in the same branch counts "
        "(a fallback import in a `try` body or an `if` arm is deliberate), and `@overload` "
        "stubs and property setters are not reported. When both "
        "definitions are imports, the fix removes the redundant one."
    )
    fix_safety = Safety.SAFE
    fix_title = "Remove the redundant import"
    local_fix = True
    valid = (
        Valid(
            "try:\n    from json import loads\nexcept ImportError:\n    from simplejson import loads\nloads('1')\n"
        ),
        Valid("import os\nos.getcwd()\nimport os\nos.getcwd()\n"),
        Valid(
            "class C:\n    @property\n    def x(self):\n        return 1\n\n"
            "    @x.setter\n    def x(self, value):\n        pass\n"
        ),
        Valid(
            "from typing import overload\n\n\n@overload\ndef f(x: int) -> int: ...\n"
            "@overload\ndef f(x: str) -> str: ...\ndef f(x):\n    return x\n"
        ),
        Valid("if flag:\n    def f():\n        return 1\nelse:\n    def f():\n        return 2\n"),
        # an import in a `try` (or `if`) body is a different branch: a deliberate override
        Valid(
            "def dumps(obj):\n    return str(obj)\n\n\ntry:\n    from json import dumps\nexcept ImportError:\n    pass\n"
        ),
        Valid("x = 1\nx = 2\n"),
    )
    invalid = (
        Invalid(
            "import os\nimport os\nos.getcwd()\n",
            fixed="import os\nos.getcwd()\n",
            at="2:7-2:9",
            message="redefinition of unused `os` from line 1",
        ),
        Invalid(
            "from json import loads\nfrom pickle import loads\nloads(b'')\n",
            fixed="from pickle import loads\nloads(b'')\n",
            at="2:19-2:24",
            message="redefinition of unused `loads` from line 1",
        ),
        Invalid(
            "import os, sys\nimport sys\nprint(os, sys)\n",
            fixed="import os, sys\nprint(os, sys)\n",
            at="2:7-2:10",
            message="redefinition of unused `sys` from line 1",
        ),
        Invalid(
            "def test_a():\n    pass\n\n\ndef test_a():\n    pass\n",
            at="5:4-5:10",
            message="redefinition of unused `test_a` from line 1",
        ),
        Invalid(
            "import json\n\n\nclass json:\n    pass\n",
            at="4:6-4:10",
            message="redefinition of unused `json` from line 1",
        ),
        Invalid(
            "handler = None\n\n\ndef handler():\n    pass\n",
            at="4:4-4:11",
            message="redefinition of unused `handler` from line 1",
        ),
    )

    def check(self, ctx: AnalysisContext) -> Iterator[Hit]:
        from ems.core.scope import Importation  # on first use: not needed by a warm run

        model: ScopeModel = ctx.scopes
        for redefinition in model.redefinitions:
            old, new = redefinition.old, redefinition.new
            lines = ctx.source.lines  # split only for a file with a redefinition
            old_node = _binding_node(old, lines)
            new_node = _binding_node(new, lines) if new.source is not None else redefinition.node
            if old_node is None or new_node is None:
                continue
            related = ctx.related(old_node, f"first definition of `{redefinition.name}`")
            data: list[tuple[str, str]] = []
            if (
                isinstance(old, Importation)
                and isinstance(new, Importation)
                and old.alias
                and new.alias
                and _same_block(model, old.source, new.source)
            ):
                same = old.full_name == new.full_name
                if same:
                    data.append(("remove", "new"))
                else:
                    data.append(("remove", "old"))  # the import at the related place
            yield ctx.hit(
                new_node,
                "",
                related=(related,),
                data=tuple(data),
                template=f"redefinition of unused `{redefinition.name}` from line {{0}}",
            )

    @classmethod
    def is_fixable(cls, hit: Hit) -> bool:
        return any(key == "remove" for key, _ in hit.data)

    def fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        which = finding.datum("remove")
        if which == "new":
            return remove_import_alias(ctx, finding, finding.range, self.fix_title, Safety.SAFE)
        if which == "old" and finding.related:
            at = finding.related[0].range
            return remove_import_alias(ctx, finding, at, "Remove the shadowed import", Safety.SAFE)
        return None

    def text_fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        """``fix`` as a text edit (``ems.fixes.textedit.remove_import_name``)."""
        which = finding.datum("remove")
        if which == "new":
            at, title = finding.range, self.fix_title
        elif which == "old" and finding.related:
            at, title = finding.related[0].range, "Remove the shadowed import"
        else:
            return None
        place = textedit.import_statement_at(ctx.statements, ctx.source, at)
        return textedit.remove_import_name(ctx.source, place, at, title, Safety.SAFE, finding)


def _same_block(model: ScopeModel, first: ast.AST | None, second: ast.AST | None) -> bool:
    """Whether both statements sit in one statement list, so the second always runs after
    the first: only then is removing one of two imports of a name behaviour-preserving."""
    parent = model.parents.get(first) if first is not None else None
    if parent is None or parent is not model.parents.get(second):  # type: ignore[arg-type]
        return False
    for field in ("body", "orelse", "finalbody"):
        block = getattr(parent, field, None)
        if isinstance(block, list) and any(s is first for s in block):
            return any(s is second for s in block)
    return False


def _binding_node(binding: object, lines: list[str]) -> ast.AST | None:
    """Where a binding's name is written: the import alias, the def/class name, the target."""
    from ems.core.scope import Importation, identifier_node  # on first use: not needed by a warm run

    if isinstance(binding, Importation) and binding.alias is not None:
        return binding.alias
    source = getattr(binding, "source", None)
    if source is None:
        return None
    return identifier_node(lines, source)
