"""Fixes computed on a slice (only the statements holding the findings, ``ems.fixes.
slices``) are the fixes computed on the whole file: same edits, same verdicts.

The slice is what makes judging fixability cheap in a cold ``ems check``; these tests hold
it to the whole-file answer on every rule's own examples, on indented code, and on real
standard-library modules.
"""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pytest

from ems.core import Config, analyse, load_rules
from ems.core.model import Finding, Range
from ems.core.registry import RuleSet
from ems.core.rule import Rule
from ems.fixes import fix_all
from ems.fixes.context import FixContext
from ems.fixes.engine import compute_fix, context_for
from ems.fixes.slices import slice_for

RULES = load_rules().rules
PAD = "".join(f"\n\ndef _padding_{n}(value):\n    total = value * {n}\n    return total\n" for n in range(60))


def _fixed_examples() -> list[tuple[type[Rule], int]]:
    return [
        (rule, i)
        for rule in RULES
        for i, example in enumerate(rule.invalid)
        if example.fixed is not None and example.code.endswith("\n")
    ]


@pytest.mark.parametrize(("rule", "index"), _fixed_examples(), ids=lambda v: getattr(v, "code", v))
def test_every_fixed_example_is_fixed_the_same_on_a_slice(rule: type[Rule], index: int) -> None:
    """The example followed by many unrelated functions: libcst sees only the example's
    statements, and the result is the example's own fixed text followed by the padding."""
    example = rule.invalid[index]
    config = Config(select=(rule.code, *example.also))
    text = example.code + PAD
    report = analyse(text, example.path, config)
    candidates = [f for f in report.findings if f.fixable]
    ctx = context_for(text, example.path, candidates, load_rules())
    assert ctx.part is not None, "the example should have been fixed on a slice"
    assert len(ctx.part.kept) < text.count("\n") // 4
    result = fix_all(text, example.path, config, unsafe=example.unsafe)
    assert result.failures == ()
    assert result.text == example.fixed + PAD


def _same_fixes(text: str, path: str, ruleset: RuleSet, config: Config) -> tuple[int, int]:
    """Per fixable finding: the fix on the slice equals the fix on the whole file. Returns
    (fixes compared, fixes the slice gave without falling back to the whole file)."""
    report = analyse(text, path, config, ruleset)
    candidates = [f for f in report.findings if f.fixable]
    sliced = context_for(text, path, candidates, ruleset)
    assert sliced.part is not None
    whole = FixContext(text, path)
    compared = on_slice = 0
    for finding in candidates:
        fell_back: list[bool] = []

        def whole_context(fell_back: list[bool] = fell_back) -> FixContext:
            fell_back.append(True)
            return whole

        expected = compute_fix(finding, whole, ruleset)
        assert compute_fix(finding, sliced, ruleset, whole_context) == expected, finding
        compared += 1
        on_slice += not fell_back
    return compared, on_slice


INDENTED = '''\
"""A module whose findings sit in methods, nested functions and class bodies."""

import os
import sys


class Store:
    """Holds things."""

    # the cache
    cache = {}

    def load(self, keys=[], names={}):
        for key in keys:
            pass
        else:
            return None

    def save(self, path):
        handle = open(path)
        try:
            result = 1
        except:
            pass
        if not path in self.cache:
            square = lambda x: x * x
            return square

    class Inner:
        def deep(self, items=[]):
            def helper():
                value = 2
                for i in range(3):
                    print(i)
                else:
                    print("done")
            return helper


def top(x):
    if x == None:
        return getattr(x, "name")
    return f"plain"
'''


def test_fixes_in_methods_nested_functions_and_class_bodies_match_the_whole_file() -> None:
    ruleset = load_rules()
    text = INDENTED + PAD
    compared, on_slice = _same_fixes(text, "store.py", ruleset, Config(unsafe_fixes=True))
    assert compared >= 10
    assert on_slice == compared  # none of these needs the whole file
    result = fix_all(text, "store.py", Config(), unsafe=True)
    assert result.text.endswith(PAD) and "if x is None:" in result.text and "value = 2" not in result.text


def _stdlib(name: str) -> Path:
    return Path(sysconfig.get_paths()["stdlib"]) / name


@pytest.mark.parametrize("name", ["email/_header_value_parser.py", "pydoc.py", "argparse.py", "tarfile.py"])
def test_real_modules_get_the_same_fixes_on_a_slice(name: str) -> None:
    path = _stdlib(name)
    if not path.is_file():
        pytest.fail(f"{path} is missing: the interpreter's standard library is the corpus")
    compared, on_slice = _same_fixes(path.read_text(encoding="utf-8"), str(path), load_rules(), Config())
    assert compared > 0
    assert on_slice > compared // 2


def test_a_slice_keeps_lines_and_columns_and_opens_indented_units() -> None:
    text = "import os\n\nclass A:\n    x = 1\n\n    # about f\n    def f(self):\n        return 1\n" + PAD
    part = slice_for(text, [Range.of(8, 8, 8, 16)])
    assert part is not None
    lines, original = part.text.split("\n"), text.split("\n")
    assert len(lines) == len(original)
    assert part.statements == frozenset({7, 8})
    assert part.kept == frozenset({5, 6, 7, 8, 9, 10})  # with the comment and blank lines around f
    for number in part.kept:
        assert lines[number - 1] == original[number - 1]
    assert lines[3] == "if 1:"  # the emptied line above opens the indented unit
    # Every other run of lines is one string spanning it: one node for libcst.
    assert lines[:3] == ['"""', "", '"""']
    assert lines[10] == '"""' and lines[-2] == '"""' and set(lines[11:-2]) == {""}
    assert part.default_indent == "    "


@pytest.mark.parametrize(
    "text",
    [
        "x = 1  # a comment outside any statement follows\n# here\n" + PAD,  # place on a comment line
        "def f():\n    return 1\n",  # the slice would be most of the file
        "def f(:\n",  # not Python
    ],
)
def test_no_slice_when_it_cannot_be_trusted_or_is_not_worth_it(text: str) -> None:
    assert slice_for(text, [Range.of(2, 0, 2, 6)]) is None


def test_crlf_and_form_feeds_keep_their_line_breaks() -> None:
    text = "import os\r\n\x0c\r\ndef f():\r\n    y = 2\r\n    return 1\r\n" + PAD.replace("\n", "\r\n")
    part = slice_for(text, [Range.of(4, 4, 4, 5)])
    assert part is not None
    assert part.text.count("\r\n") == text.count("\r\n")
    finding = Finding("F841", "unused-variable", None, Range.of(4, 4, 4, 5), "m", "x.py")  # type: ignore[arg-type]
    assert finding.range == Range.of(4, 4, 4, 5)
