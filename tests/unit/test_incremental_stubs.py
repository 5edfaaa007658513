"""Where a stub cannot stand in for a body or a class, the incremental outline keeps it whole.

A function body (or a top-level class) is analysed alone once per chunk and replaced in the
outline by a stub replaying its reads from outside. Two shapes give the module-scoped rules
something the stub does not: a **parameter named like an unused import** redefines it (F811,
reported where the def stands; the stub's empty body binds nothing), and a read of a
**typing name** (``cast("T", x)``, ``Optional["T"]``) makes a string an annotation only with
the module's bindings, which the body analysed alone did not have (a false F401 on ``T``).
Both were seen on real code (the stdlib's ``ctypes/__init__.py``, hypothesis's
``statistics.py``). Each test edits another part of the document, so the outline (not a
full analysis) answers, and compares with ``analyse`` of the new text.
"""

from __future__ import annotations

import random

import pytest

from ems.core.analyse import analyse
from ems.core.config import Config
from ems.core.incremental import IncrementalAnalyser
from ems.core.model import Report
from ems.core.registry import load_rules

RULES = load_rules()
CONFIG = Config()

IMPORTS = """import os
import sys as system
from typing import TYPE_CHECKING, Optional, cast
import typing as t

if TYPE_CHECKING:
    from collections import OrderedDict, Counter, deque, ChainMap, defaultdict

"""

# Each shape: a top-level def, a method, a nested def, a class-level statement, with the
# import it hides being otherwise unused (so the full analysis reports or spares it).
SHAPES = {
    "parameter": "def set_pointer(os, cls):\n    return os, cls\n",
    "keyword parameter": "def keywords(*, system=1, **kw):\n    return system, kw\n",
    "method parameter": "class Holder:\n    def method(self, os):\n        return os\n",
    "lambda parameter": "def makes():\n    return lambda system: system\n",
    "cast": "def stats(d):\n    return cast('OrderedDict', d)\n",
    "cast in a method": "class Stats:\n    def get(self, d):\n        return cast('Counter', d)\n",
    "typing attribute": "def attribute(d):\n    return t.cast('deque', d)\n",
    "optional at class level": "class Alias:\n    kind = Optional['ChainMap']\n",
    # only `except NameError` changes how a read is judged (F821 spared): a read under
    # another handler is replayed by the stub, one under NameError keeps the body whole
    "guarded by NameError": "def guarded():\n    try:\n        return unicode\n    except NameError:\n        return str\n",
    "under another handler": "class Handled:\n    def m(self):\n        try:\n            return undefined_handled, os\n"
    "        except (ValueError, TclError):\n            return system\n",
    "optional in a method": "class Deep:\n    def m(self):\n        x = Optional['defaultdict']\n        return x\n",
}

TAIL = "\n\ndef tail():\n    return 1\n\n\nclass Tail:\n    size = 1\n\n    def method(self):\n        return self\n"


def comparable(report: Report) -> list[tuple[object, ...]]:
    return sorted(
        (f.code, f.range, f.message, f.related, f.data, f.fingerprint, f.severity, f.fixable, f.tags)
        for f in report.findings
    )


def check(analyser: IncrementalAnalyser, text: str) -> None:
    report = analyser.analyse(text, "m.py", CONFIG, RULES)
    full = analyse(text, "m.py", CONFIG, RULES)
    assert comparable(report) == comparable(full), sorted(
        {(f.code, f.line, f.message) for f in report.findings}
        ^ {(f.code, f.line, f.message) for f in full.findings}
    )


def edits(text: str) -> list[str]:
    """The text after each of: a line added at the top level, a line typed in a method, a
    class attribute typed, a line added above the shapes (everything below moves)."""
    lines = text.split("\n")
    out = []
    lines.append("_top = 1")
    out.append("\n".join(lines))
    at = lines.index("        return self")
    lines[at] += "  # typed"
    out.append("\n".join(lines))
    at = lines.index("    size = 1")
    lines[at] = "    size = 2"
    out.append("\n".join(lines))
    lines.insert(lines.index("if TYPE_CHECKING:"), "_moved = 0")
    out.append("\n".join(lines))
    return out


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_an_edit_elsewhere_gives_what_a_full_analysis_gives(shape: str) -> None:
    text = IMPORTS + "\n\n" + SHAPES[shape] + TAIL
    analyser = IncrementalAnalyser()
    check(analyser, text)
    analyser.prepare()
    for edited in edits(text):
        check(analyser, edited)
        # stayed incremental: a few lines re-parsed, the outline answered for the rest
        assert analyser.last_reparsed_lines < edited.count("\n") // 2


def test_the_full_analysis_reports_what_the_stubs_lost() -> None:
    """The reference itself: the parameter redefines the unused import, the cast's string
    uses the import, so these are exactly the findings the stubs got wrong."""
    findings = analyse(IMPORTS + SHAPES["parameter"] + SHAPES["cast"], "m.py", CONFIG, RULES).findings
    assert [(f.code, f.line, f.message) for f in findings if f.code == "F811"] == [
        ("F811", 9, "redefinition of unused `os` from line 1")
    ]
    assert [f.message for f in findings if f.code == "F401" and "collections" in f.message] == [
        f"`collections.{name}` imported but unused"
        for name in ("Counter", "deque", "ChainMap", "defaultdict")
    ]


@pytest.mark.parametrize("seed", range(4))
def test_random_programs_of_these_shapes_and_edits_match_a_full_analysis(seed: int) -> None:
    """Shapes in random order and number, edits anywhere (a shape added, removed, typed in),
    each incremental report equal to a full analysis of its text."""
    rng = random.Random(f"stub shapes {seed}")
    names = sorted(SHAPES)
    parts = [SHAPES[rng.choice(names)] for _ in range(rng.randrange(2, 6))]
    text = IMPORTS + "\n\n".join(parts) + TAIL
    analyser = IncrementalAnalyser()
    check(analyser, text)
    analyser.prepare()
    lines = text.split("\n")
    for step in range(25):
        choice = rng.random()
        if choice < 0.35:  # a shape typed in somewhere at the top level
            at = rng.choice([i for i, line in enumerate(lines) if not line.startswith(" ")])
            lines[at:at] = ["", *SHAPES[rng.choice(names)].rstrip("\n").split("\n"), ""]
        elif choice < 0.55:  # a line typed in an indented body
            indented = [i for i, line in enumerate(lines) if line.startswith("    ")]
            at = rng.choice(indented)
            lines[at] += f"  # {step}"
        elif choice < 0.7:  # a top-level line added
            lines.insert(len(lines) - 1, f"_line_{step} = {step}")
        elif choice < 0.8:  # an import removed or added back
            if "import os" in lines:
                lines.remove("import os")
            else:
                lines.insert(0, "import os")
        else:  # a def renamed to another shape's parameter
            defs = [i for i, line in enumerate(lines) if line.startswith("def ")]
            at = rng.choice(defs)
            lines[at] = lines[at].replace("(", "(os, ", 1) if "(os" not in lines[at] else lines[at]
        check(analyser, "\n".join(lines))
