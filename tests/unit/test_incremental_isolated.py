"""An edit that replaces top-level chunks no other part of the module names patches the
module-scoped rules' results (a scope pass over those chunks alone) instead of running
them over the whole outline; every report still equals a full analysis, in order. An
edit that reaches beyond its names (a name read elsewhere, a star import, ``__all__``)
takes the whole pass. And the facts those results were found under (B007: whether
``_name`` is a word of the text) are checked when an edit reuses or patches them."""

from __future__ import annotations

import random

import pytest

from ems.core.analyse import analyse
from ems.core.config import Config
from ems.core.incremental import IncrementalAnalyser
from ems.core.registry import load_rules

RULES = load_rules()
CONFIG = Config()

# What sets the scope pass's judgement of every name: star imports before and after the
# edited place, ``__future__`` annotations; and findings around it (F401, F811, F821,
# B007, F402) that must keep their places and related lines when lines are added above.
MODULES = {
    "plain": """import os
import sys


def first(a):
    return a + os.sep


for index in range(3):
    pass


class Holder:
    size = 1

    def method(self):
        return undefined_before


def second():
    import json
    return missing_name
""",
    "stars": """from __future__ import annotations

from os.path import *
import re


def uses(a: "Pattern") -> None:
    return join(a, undefined_here)


from string import *


def late():
    return capwords(re)


import re
""",
    "redefinitions": """import os
import os


def twice():
    pass


def twice():
    pass


for os in range(2):
    pass
""",
}

# Isolated shapes typed at the top level: names nothing else in these modules holds.
ISOLATED = [
    ['_fresh_0 = f"x"'],
    ["_fresh_0 = [1, 2]"],
    ["def _fresh_0(a, b=2):", "    return a + undefined_fresh"],
    ["import _fresh_0"],
    ['_fresh_0: "_FreshType" = 1'],
    ["class _Fresh0:", "    a = 1", "    def m(self):", "        return self.a + _fresh_missing"],
    ["for _fresh_0 in _fresh_a:", "    pass", "for fresh_2 in _fresh_b:", "    pass"],
    ["_fresh_0 = _fresh_undefined"],
]

# Shapes that reach beyond their names: the whole pass.
REACHING = [
    ["_fresh_0 = os.sep"],  # reads an import: it becomes used
    ["from json import *"],  # every undefined name after it
    ['__all__ = ["first"]'],  # exports a name
    ["def second():", "    pass"],  # redefines a function
    ["index = 2"],  # binds a name read elsewhere
]


def prepared(text: str) -> IncrementalAnalyser:
    analyser = IncrementalAnalyser()
    analyser.analyse(text, "m.py", CONFIG, RULES)
    analyser.prepare()
    analyser.analyse(text, "m.py", CONFIG, RULES)
    return analyser


def check(analyser: IncrementalAnalyser, lines: list[str]) -> bool:
    """The report of the edited lines equals a full analysis exactly (order included);
    whether the module-scoped results were patched."""
    text = "\n".join(lines)
    assert analyser.analyse(text, "m.py", CONFIG, RULES) == analyse(text, "m.py", CONFIG, RULES)
    return analyser.last_scoped_patched


def top_level_places(lines: list[str]) -> list[int]:
    """Lines where a top-level statement starts after a blank line (a new line goes there)."""
    return [i for i in range(1, len(lines)) if lines[i][:1] not in ("", " ", "#", ")") and not lines[i - 1]]


@pytest.mark.parametrize("name", sorted(MODULES))
@pytest.mark.parametrize("shape", range(len(ISOLATED)))
def test_typing_an_isolated_line_patches_the_results_and_equals_a_full_analysis(
    name: str, shape: int
) -> None:
    lines = MODULES[name].split("\n")
    for at in top_level_places(lines):
        analyser = prepared("\n".join(lines))
        typed = [*lines[:at], "", *lines[at:]]  # an empty line first, as an editor has it
        check(analyser, typed)
        new = ISOLATED[shape]
        typed = lines[:at] + new + lines[at:]
        check(analyser, typed)
        renamed = [line.replace("_fresh_0", "_fresh_1").replace("_Fresh0", "_Fresh1") for line in typed]
        assert check(analyser, renamed), f"{name}: {new} at line {at + 1} took the whole pass"
        assert check(analyser, lines), f"{name}: removing {new} took the whole pass"


@pytest.mark.parametrize("shape", range(len(REACHING)))
def test_typing_a_line_that_reaches_beyond_its_names_takes_the_whole_pass(shape: int) -> None:
    lines = MODULES["plain"].split("\n")
    at = top_level_places(lines)[1]
    analyser = prepared("\n".join(lines))
    check(analyser, [*lines[:at], "_fresh_0 = 1", *lines[at:]])
    new = REACHING[shape]
    assert not check(analyser, lines[:at] + new + lines[at:])
    assert not check(analyser, lines)


def test_a_word_typed_elsewhere_changes_a_loops_fix_even_when_the_outline_is_the_same() -> None:
    """B007 renames ``t`` to ``_t`` only if ``_t`` is no word of the text: a comment naming
    ``_t`` typed in a method (outline unchanged, results reused) or on a new line (results
    patched) makes the finding unfixable. Before, the reused results kept it fixable."""
    text = "for t in range(3):\n    pass\n\n\nclass C:\n    def m(self):\n        return 1\n"
    lines = text.split("\n")
    analyser = prepared(text)
    commented = [line.replace("return 1", "return 1  # _t") for line in lines]
    check(analyser, commented)
    check(analyser, lines)
    check(analyser, [*lines[:3], "_other = 1  # _t", *lines[3:]])
    check(analyser, [*lines[:3], "_other = 2  # _u", *lines[3:]])


def test_random_isolated_edits_on_a_stdlib_module_equal_a_full_analysis() -> None:
    """New lines, renames and removals at random top-level places of a real module."""
    import sysconfig
    from pathlib import Path

    text = (Path(sysconfig.get_paths()["stdlib"]) / "functools.py").read_text(encoding="utf-8")
    lines = text.split("\n")
    analyser = prepared(text)
    rng = random.Random(18)
    places = top_level_places(lines)
    patched = 0
    for step in range(25):
        at = rng.choice(places)
        new = [line.replace("_fresh", f"_fresh{step}") for line in rng.choice(ISOLATED)]
        typed = lines[:at] + new + lines[at:]
        check(analyser, typed)
        patched += check(analyser, [line.replace(f"_fresh{step}", f"_fresh{step}r") for line in typed])
        patched += check(analyser, lines)
    assert patched >= 30  # (functools names none of these: most are patched)


def test_an_edit_after_a_version_that_did_not_parse_keeps_no_finding_at_its_old_line() -> None:
    """Hypothesis's case: a line of ``loops`` deleted leaves a text that does not parse (the
    plain path answers, the previous chunks are kept, those after the edit moved); the next
    deletion parses again. The module-scoped results were found over the chunks before both
    edits: a patch would keep ``import os.path``'s F401 at its old line beside the new one.
    Such replaced chunks moved since: the whole pass."""
    lines = [
        "import os",
        "def loops():",
        "    for j in range(2):",
        "        pass",
        "    return _j",
        "def shadow():",
        "    for os in range(3):",
        "        pass",
        "import os.path",
        "",
    ]
    analyser = prepared("\n".join(lines))
    del lines[2]  # `pass` now indented under nothing: E999
    assert not check(analyser, lines)
    del lines[3]  # `return _j` gone: parses again, every later line two up
    check(analyser, lines)
    text = "\n".join(lines)
    assert [f.line for f in analyser.analyse(text, "m.py", CONFIG, RULES).findings if f.code == "F401"] == [7]
