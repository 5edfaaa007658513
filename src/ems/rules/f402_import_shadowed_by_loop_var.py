"""F402: a `for` loop variable reuses the name of an import."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from ems.core.model import Severity
from ems.core.rule import AnalysisContext, Hit, Invalid, Rule, Valid

if TYPE_CHECKING:
    from ems.core.scope import ScopeModel


class ImportShadowedByLoopVar(Rule):
    code = "F402"
    uses_scopes = True
    module_scoped = True
    name = "import-shadowed-by-loop-var"
    severity = Severity.WARNING
    summary = "import shadowed by a loop variable"
    explanation = (
        "A `for` loop that binds the name of an imported module or object replaces the "
        "import for the rest of the scope: after the loop, `path` is the last item, not "
        "`os.path`. Rename the loop variable."
    )
    valid = (
        Valid("import os\nfor name in os.listdir('.'):\n    print(name)\n"),
        Valid("for path in paths:\n    print(path)\n"),
    )
    invalid = (
        Invalid(
            "from os import path\nfor path in paths:\n    print(path)\n",
            at="2:4-2:8",
            message="import `path` from line 1 shadowed by loop variable",
        ),
        Invalid(
            "import json\n\n\ndef f(items):\n    for json in items:\n        print(json)\n",
            at="5:8-5:12",
            message="import `json` from line 1 shadowed by loop variable",
        ),
        Invalid(
            "from os import (\n    sep,\n    path,\n)\nfor path in paths:\n    print(sep, path)\n",
            at="5:4-5:8",
            message="import `path` from line 3 shadowed by loop variable",
        ),
    )

    def check(self, ctx: AnalysisContext) -> Iterator[Hit]:
        from ems.core.scope import Importation  # on first use: not needed by a warm run

        model: ScopeModel = ctx.scopes
        for shadow in model.shadowed_imports:
            old = shadow.old
            where = old.alias if isinstance(old, Importation) and old.alias is not None else old.source
            if where is None:  # no place to point at
                yield ctx.hit(shadow.node, f"import `{shadow.name}` from line 0 shadowed by loop variable")
                continue
            yield ctx.hit(
                shadow.node,
                "",
                related=(ctx.related(where, f"`{shadow.name}` imported here"),),
                template=f"import `{shadow.name}` from line {{0}} shadowed by loop variable",
            )
