"""F821: a name is read but never defined anywhere it could be found."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from ems.core.model import Severity
from ems.core.rule import AnalysisContext, Hit, Invalid, Rule, Valid

if TYPE_CHECKING:
    from ems.core.scope import ScopeModel


class UndefinedName(Rule):
    code = "F821"
    uses_scopes = True
    module_scoped = True
    guards_fixes = True  # a fix that leaves a name undefined (shadows one) broke the code
    name = "undefined-name"
    severity = Severity.ERROR
    summary = "undefined name"
    explanation = (
        "Reading a name that is bound nowhere raises `NameError` when the line runs: usually a "
        "typo, a missing import, or a variable used outside the block that defines it (an "
        "`except ... as e` name is unbound after its handler). Names are resolved like Python "
        "does: function bodies see module names defined later, class bodies are not visible "
        "from their methods, and annotations under `from __future__ import annotations` are "
        "resolved at the end of the module. A module with `from m import *` is not checked, "
        "since any name may come from the star import."
    )
    valid = (
        Valid("def f():\n    return later()\n\n\ndef later():\n    return 1\n"),
        Valid(
            "from __future__ import annotations\n\n\ndef f(x: Later) -> Later:\n    return x\n\n\nclass Later:\n    pass\n"
        ),
        Valid("try:\n    unicode\nexcept NameError:\n    unicode = str\n"),
        Valid("class C:\n    def m(self):\n        return __class__\n"),
        Valid("print(__file__, __name__, __doc__, __spec__, __debug__)\n"),
        Valid("from os.path import *\nprint(join('a', 'b'))\n"),
        Valid("[y for x in range(3) if (y := x)]\nprint(y)\n"),
        Valid("def f():\n    global counter\n    counter = 1\n\n\nprint(counter)\n"),
    )
    invalid = (
        Invalid("print(undefined_thing)\n", at="1:6-1:21", message="undefined name `undefined_thing`"),
        Invalid(
            "class C:\n    size = 3\n\n    def m(self):\n        return size\n",
            at="5:15-5:19",
            message="undefined name `size`",
        ),
        Invalid(
            "try:\n    pass\nexcept ValueError as e:\n    pass\nprint(e)\n",
            at="5:6-5:7",
            message="undefined name `e`",
        ),
        Invalid(
            "def f(x: 'Missing') -> None:\n    pass\n", at="1:9-1:18", message="undefined name `Missing`"
        ),
        Invalid("x = [i for i in range(3)]\nprint(i)\n", at="2:6-2:7", message="undefined name `i`"),
        Invalid("del nothing\n", at="1:4-1:11", message="undefined name `nothing`"),
    )

    def check(self, ctx: AnalysisContext) -> Iterator[Hit]:
        model: ScopeModel = ctx.scopes
        for undefined in model.undefined_names:
            yield ctx.hit(
                undefined.node, f"undefined name `{undefined.name}`", data=(("name", undefined.name),)
            )
