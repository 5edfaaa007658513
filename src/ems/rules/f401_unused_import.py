"""F401: a module or name is imported but never used."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ems.core.model import Finding, Fix, Safety, Severity, Tag
from ems.core.rule import AnalysisContext, Hit, Invalid, Rule, Valid
from ems.fixes import textedit
from ems.fixes.context import FixContext
from ems.fixes.imports import remove_import_alias

if TYPE_CHECKING:
    from ems.core.scope import ScopeModel


class UnusedImport(Rule):
    code = "F401"
    uses_scopes = True
    module_scoped = True
    name = "unused-import"
    severity = Severity.WARNING
    summary = "module or name imported but unused"
    explanation = (
        "An import that nothing reads costs start-up time, can create import cycles and "
        "misleads readers about what a module depends on. Names listed in `__all__`, "
        "`from __future__` imports and explicit re-exports written `import x as x` or "
        "`from m import y as y` are not reported. In an `__init__.py` the import may be a "
        "public re-export, so the fix there is marked unsafe: prefer adding the name to `__all__`. "
        "So is a public name imported from a private module (`from _ssl import SSLError` in "
        "`ssl.py`): how a module re-exports an implementation's names for others to read as "
        "`ssl.SSLError`. "
        "A name another module of the project imports from this one (`from .compat import "
        "urlparse` in the package, `from pkg.compat import urlparse` in a script beside "
        "`pkg/` or in another top-level package; the project is the git work tree or the "
        "folder of the ems config file, else the folder holding the top package) is a "
        "re-export too: it is still reported (detection sees one file), but never removed, "
        "by any fix; mark it with `__all__` or `import x as x`. So is a public name of a "
        "module without `__all__` that another module star-imports (`from ._constants "
        "import *`)."
    )
    tags = frozenset({Tag.UNNECESSARY})
    fix_safety = Safety.SAFE
    fix_title = "Remove unused import"
    local_fix = True
    valid = (
        Valid("import os\nprint(os.sep)\n"),
        Valid(
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pathlib import Path\n\n\ndef f(p: 'Path') -> None:\n    pass\n"
        ),
        Valid("from .impl import helper\n__all__ = ['helper']\n"),
        Valid("from .impl import helper as helper\n", path="pkg/__init__.py"),
        Valid("from __future__ import annotations\n"),
        Valid("import os.path\nos.getcwd()\n"),
        Valid("def f():\n    return json.dumps({})\n\n\nimport json\n"),
        Valid("try:\n    import tomllib\nexcept ImportError:\n    tomllib = None\nprint(tomllib)\n"),
    )
    invalid = (
        Invalid("import os\n", fixed="", at="1:7-1:9", message="`os` imported but unused"),
        Invalid(
            "import os, sys\nprint(sys.argv)\n",
            fixed="import sys\nprint(sys.argv)\n",
            at="1:7-1:9",
            message="`os` imported but unused",
        ),
        Invalid(
            "from a import (\n    b,  # keep b\n    c,\n)\nprint(b)\n",
            fixed="from a import (\n    b,  # keep b\n)\nprint(b)\n",
            at="3:4-3:5",
            message="`a.c` imported but unused",
        ),
        Invalid(
            "# header comment\nimport os  # unused\nimport sys\n\nsys.exit()\n",
            fixed="# header comment\nimport sys\n\nsys.exit()\n",
            at="2:7-2:9",
            message="`os` imported but unused",
        ),
        Invalid(
            "def f():\n    import json\n",
            fixed="def f():\n    pass\n",
            at="2:11-2:15",
            message="`json` imported but unused",
        ),
        Invalid(
            "import os.path as osp\nimport re; print(re)\n",
            fixed="import re; print(re)\n",
            at="1:7-1:21",
            message="`os.path` imported but unused",
        ),
        Invalid(
            "from m import x\n",
            fixed="",
            path="pkg/__init__.py",
            unsafe=True,
            at="1:14-1:15",
            message="`m.x` imported but unused",
        ),
        Invalid(  # a public name from a private module: a re-export read as `ssl.SSLError`
            "from _ssl import SSLError, _private\n",
            fixed="",
            path="ssl.py",
            unsafe=True,
            count=2,
            at=("1:17-1:25", "1:27-1:35"),
            message=("`_ssl.SSLError` imported but unused", "`_ssl._private` imported but unused"),
        ),
        Invalid(
            "import a, b\n",
            fixed="",
            count=2,
            at=("1:7-1:8", "1:10-1:11"),
            message=("`a` imported but unused", "`b` imported but unused"),
        ),
    )

    def check(self, ctx: AnalysisContext) -> Iterator[Hit]:
        model: ScopeModel = ctx.scopes
        init = ctx.is_init_module
        for unused in model.unused_imports:
            alias = unused.binding.alias
            node = alias if alias is not None else unused.binding.source
            assert node is not None
            unsafe = "1" if init or _from_private_module(unused.binding.name, unused.binding.source) else "0"
            yield ctx.hit(
                node,
                f"`{unused.binding.full_name}` imported but unused",
                # ruff honours a noqa comment on the first line of a multi-line import
                # (the statement is the finding's parent); its place is kept for that.
                related=(ctx.related(unused.binding.source or node, name="statement"),),
                data=(("name", unused.binding.name), ("unsafe", unsafe)),
            )

    def fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        if _reexported(finding, ctx):
            # A re-export (`from .compat import x` in a sibling module): removing it would
            # break the package, so there is no fix at all, safe or unsafe.
            return None
        safety = Safety.UNSAFE if finding.datum("unsafe") == "1" else Safety.SAFE
        return remove_import_alias(ctx, finding, finding.range, self.fix_title, safety)

    def text_fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        """``fix`` as a text edit (``ems.fixes.textedit``): a statement importing one name
        loses its lines (or becomes ``pass``), a one-line unbracketed import loses the name
        and its comma; any other shape raises ``CstNeeded``."""
        if _reexported(finding, ctx):
            return None
        safety = Safety.UNSAFE if finding.datum("unsafe") == "1" else Safety.SAFE
        source = ctx.source
        related = finding.place("statement")
        if related is None:
            raise textedit.CstNeeded
        statement = ""
        if related.start.column == 0 and related.start.line == related.end.line:
            statement = source.line(related.start.line)[: related.end.column]
        if statement and "(" not in statement and ";" not in statement:
            # a one-line statement at the module's level: parsed alone, no tree needed
            tree = ast.parse(statement)
            ast.increment_lineno(tree, related.start.line - 1)
            place = textedit.Place(tree.body[0], tree.body, False)
        else:
            place = textedit.statement_place(ctx.statements, source, finding)
        return textedit.remove_import_name(source, place, finding.range, self.fix_title, safety, finding)


def _reexported(finding: Finding, ctx: FixContext) -> bool:
    """Whether another module of the project imports the name from this one: by name
    (`from .compat import urlparse`), or through `from .compat import *` when the module
    has no `__all__` (`re._constants`' `MAXGROUPS`, which `re._parser` star-imports)."""
    from ems.fixes.reexports import star_exported  # with the project's imports (``ctx.reexported``)

    name = finding.datum("name")
    reexported = ctx.reexported
    return name in reexported or star_exported(name, reexported, ctx.text)


def _from_private_module(name: str, source: ast.AST | None) -> bool:
    """Whether ``name`` is a public name imported from a private module (`from _ssl import
    SSLError` in `ssl.py`, `from ._bootstrap import ModuleSpec` in `importlib/machinery.py`):
    how a module re-exports an implementation's names, which other modules read as
    attributes (`ssl.SSLError`), a use the re-export index does not see."""
    if name.startswith("_") or not isinstance(source, ast.ImportFrom):
        return False
    return any(part.startswith("_") and not part.endswith("__") for part in (source.module or "").split("."))
