"""Every built-in rule declares truthfully what its answer for a statement depends on.

The language server re-checks only the top-level statements an edit touches
(``ems.core.incremental``) and fix judging re-checks only changed function bodies with the
chunk-local rules (``ems.fixes.verifybody``): both stand on ``Rule.module_scoped`` and on
the facts rules ask through ``AnalysisContext``. Here edits are made to *other* top-level
statements than the ones a finding is in, and the incremental report must equal a full
analysis finding for finding, for each rule selected alone and for all of them.
"""

from __future__ import annotations

import ast
import random
import sysconfig
from pathlib import Path

import pytest

from ems.core.analyse import analyse
from ems.core.config import Config
from ems.core.incremental import IncrementalAnalyser
from ems.core.model import Report
from ems.core.registry import load_rules
from ems.core.rule import FactLog
from ems.fixes.verifybody import Judged, in_bodies

STDLIB = Path(sysconfig.get_paths()["stdlib"])
RULES = load_rules()


def comparable(report: Report) -> list[tuple[object, ...]]:
    return sorted(
        (f.code, f.range, f.message, f.related, f.data, f.fingerprint, f.severity, f.fixable, f.tags)
        for f in report.findings
    )


def assert_same(report: Report, text: str, config: Config) -> None:
    full = analyse(text, "module.py", config, RULES)
    mine, theirs = comparable(report), comparable(full)
    assert mine == theirs, (
        f"only incremental: {[f[:3] for f in mine if f not in theirs][:4]}; "
        f"only full: {[f[:3] for f in theirs if f not in mine][:4]}"
    )


def edited_in_steps(texts: list[str], config: Config) -> None:
    """Each text in turn through one analyser (the first builds its state), each compared."""
    analyser = IncrementalAnalyser()
    analyser.analyse(texts[0], "module.py", config, RULES)
    analyser.prepare()
    for text in texts:
        assert_same(analyser.analyse(text, "module.py", config, RULES), text, config)


# --------------------------------------------------------------------- EMS103 at the top level

OPENED = "fh = open(p)\ndata = fh.read()\n\n\n"


@pytest.mark.parametrize(
    "texts",
    [
        # the statement that closes the file is edited, then the open itself
        [
            OPENED + "with fh:\n    pass\n",
            OPENED + "with other:\n    pass\n",
            OPENED + "with fh:\n    pass\n",
        ],
        [OPENED + "with fh:\n    pass\n", OPENED.replace("open(p)", "open(q)") + "with fh:\n    pass\n"],
        # `finally:` made `else:`: the edited line does not hold the name
        [
            OPENED + "try:\n    pass\nexcept E:\n    pass\nfinally:\n    fh.close()\n",
            OPENED + "try:\n    pass\nexcept E:\n    pass\nelse:\n    fh.close()\n",
            OPENED + "try:\n    pass\nexcept E:\n    pass\nfinally:\n    fh.close()\n",
        ],
        # closed in a function's body (the whole module is the open's scope)
        [
            OPENED + "def done():\n    return fh\n",
            OPENED + "def done():\n    return None\n",
            OPENED + "def done():\n    return fh\n",
        ],
        # opened in a class body: the whole module is its scope too
        [
            "class Holder:\n    fh = open(p)\n\n\nwith fh:\n    pass\n",
            "class Holder:\n    fh = open(p)\n    x = 1\n\n\nwith fh:\n    pass\n",
            "class Holder:\n    fh = open(p)\n    x = 1\n\n\nwith gh:\n    pass\n",
        ],
    ],
)
def test_a_module_level_open_closed_by_another_statement(texts: list[str]) -> None:
    edited_in_steps(texts, Config())
    edited_in_steps(texts, Config(select=("EMS103",)))


def test_a_fix_inside_a_body_that_closes_a_module_level_open_is_judged_exactly() -> None:
    """E731's fix of `closer = lambda: fh` returns `fh` from a def: the module's `open()`
    is then managed, and verification's chunk-local route must see it (or decline)."""
    config = Config(select=("ALL",))
    text = "fh = open(p)\n\n\ndef g():\n    x = 1\n    closer = lambda: fh\n    return closer\n"
    fixed = (
        "fh = open(p)\n\n\ndef g():\n    x = 1\n\n    def closer():\n        return fh\n    return closer\n"
    )
    trees: list[ast.Module] = []
    facts = FactLog()
    report = analyse(text, "m.py", config, RULES, on_tree=lambda tree, _: trees.append(tree), fact_log=facts)
    assert "EMS103" in {f.code for f in report.findings}
    got = in_bodies(Judged(text, trees[0], report, facts), fixed, "m.py", config, RULES)
    if got is not None:
        assert comparable(got) == comparable(analyse(fixed, "m.py", config, RULES))


# --------------------------------------------------------------------- every rule, real modules

# Real modules with code at the top level (loops, `try`, `if`, module-level assignments).
MODULES = ["signal.py", "copy.py", "this.py", "glob.py", "stat.py", "site.py", "uuid.py", "selectors.py"]

# What another statement may add that could change a finding elsewhere: a closer for a
# module-level file, imports and names rules look for, an unreachable tail,
# a loop over a module name, `_NAME` words (B007's rename), a return outside a function.
SNIPPETS = [
    "fh = open(p)",
    "class _Holder:\n    fh = open(p)",
    "with fh:\n    pass",
    "try:\n    pass\nfinally:\n    fh.close()",
    "def _closer():\n    return fh",
    "import io",
    "io = None",
    "from dataclasses import dataclass, field",
    "import dataclasses",
    "field = None",
    "@dataclass\nclass _D:\n    xs: list = []",
    "import datetime as dt",
    "from datetime import datetime",
    "stamp = dt.datetime.utcnow()",
    "raise SystemExit",
    "for {name} in range(3):\n    pass",
    "_{name} = 1",
    "del {name}",
    "{name} = lambda: 0",
    "return {name}",
    "if {name}:\n    pass\nelse:\n    pass",
    "try:\n    {name}\nexcept Exception:\n    pass",
    "x = {name} == None",
    "print({name})",
    "global {name}",
    "await {name}",
    "assert False, {name}",
]


def top_level(text: str) -> list[tuple[int, int, list[str]]]:
    """Each top-level statement's first line (decorators included), last line and the
    names it binds at the top level."""
    found = []
    for statement in ast.parse(text).body:
        first = min([statement.lineno, *(d.lineno for d in getattr(statement, "decorator_list", ()))])
        names = sorted(
            {n.id for n in ast.walk(statement) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
            | ({statement.name} if isinstance(statement, (ast.FunctionDef, ast.ClassDef)) else set())
        )
        found.append((first, statement.end_lineno or statement.lineno, names))
    return found


def other_statement_edit(lines: list[str], rng: random.Random) -> list[str]:
    """The lines with one top-level statement inserted or removed (whole lines; the
    first statement stays)."""
    statements = top_level("\n".join(lines))
    names = [name for _, _, bound in statements for name in bound] or ["x"]
    first, last, _ = rng.choice(statements)
    if rng.random() < 0.3 and len(statements) > 2 and first > 1:
        return lines[: first - 1] + lines[last:]
    snippet = rng.choice(SNIPPETS).format(name=rng.choice(names))
    at = last if rng.random() < 0.5 else first - 1
    return [*lines[:at], *snippet.split("\n"), *lines[at:]]


CODES = sorted(code for code in RULES.codes if not code.startswith("EMS9") and code not in ("E902", "E999"))


@pytest.mark.parametrize("code", [*CODES, "ALL"])
def test_edits_of_other_top_level_statements_match_a_full_analysis(code: str) -> None:
    config = Config(select=(code,))
    rng = random.Random(code)
    for module in rng.sample(MODULES, 2):
        # a file opened at the top level: what other statements add may close it (EMS103)
        lines = ["fh = open(p)", *(STDLIB / module).read_text(encoding="utf-8").split("\n")]
        texts = ["\n".join(lines)]
        for _ in range(12):
            lines = other_statement_edit(lines, rng)
            texts.append("\n".join(lines))
        edited_in_steps(texts, config)
