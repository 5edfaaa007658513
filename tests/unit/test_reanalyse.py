"""Verification analyses a fixed text from the original's tree, parsing only what changed.

``ems.fixes.reanalyse`` must give ``analyse``'s report exactly (findings, places, messages,
fingerprints) or decline (None: the engine then analyses the whole text), and verification
through it must refuse what it always refused: a result that does not parse, a target
still reported, a new finding anywhere in the file.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from ems.core import Config, load_rules
from ems.core.analyse import analyse
from ems.core.model import Report
from ems.core.registry import RuleSet
from ems.fixes import engine
from ems.fixes import reanalyse as reanalyse_module
from ems.fixes.reanalyse import Original, reanalyse

SRC = Path(__file__).resolve().parents[2] / "src" / "ems"


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules()


def _key(report: Report) -> tuple[object, ...]:
    return (
        report.syntax_error,
        [
            (f.code, f.message, f.range, f.related, f.fingerprint, f.data, f.fixable, f.template, f.severity)
            for f in report.findings
        ],
    )


def _original(text: str, config: Config, rules: RuleSet) -> Original:
    trees: list[Any] = []
    analyse(text, "m.py", config, rules, on_tree=lambda tree, _: trees.append(tree))
    return Original(text, trees[0])


def _reanalysed_counting_parses(
    original: Original, fixed: str, config: Config, rules: RuleSet, monkeypatch: pytest.MonkeyPatch
) -> tuple[Report | None, list[str]]:
    """``reanalyse``'s report of ``fixed``, and every text it parsed to get it."""
    parsed: list[str] = []
    real = reanalyse_module.ast.parse

    def parse(source: str, *args: Any, **kwargs: Any) -> Any:
        parsed.append(source)
        return real(source, *args, **kwargs)

    monkeypatch.setattr(reanalyse_module.ast, "parse", parse)
    try:
        return reanalyse(original, fixed, "m.py", config, rules), parsed
    finally:
        monkeypatch.undo()


def _edits(text: str) -> list[str]:
    """Texts a fix could leave: a line removed, a line emptied to ``pass`` at its indent,
    a comment added to a line, a line added, at lines spread over the file."""
    lines = text.split("\n")
    step = max(1, len(lines) // 7)
    edited = []
    for at in range(0, len(lines), step):
        line = lines[at]
        indent = line[: len(line) - len(line.lstrip())]
        edited.append("\n".join(lines[:at] + lines[at + 1 :]))
        edited.append("\n".join([*lines[:at], indent + "pass", *lines[at + 1 :]]))
        edited.append(
            "\n".join([*lines[:at], line + "  # noqa: F401" if line.strip() else line, *lines[at + 1 :]])
        )
        edited.append("\n".join([*lines[:at], indent + "pass", *lines[at:]]))
    return edited


FILES = sorted(SRC.rglob("*.py"))[::9]  # a spread of real modules, a few of them packages' __init__


@pytest.mark.parametrize("select", [("ALL",), ("F", "E9")])
def test_the_report_is_analyse_s_or_none(rules: RuleSet, select: tuple[str, ...]) -> None:
    config = Config(select=select)
    taken = declined = 0
    for path in FILES:
        text = path.read_text(encoding="utf-8")
        original = _original(text, config, rules)
        for edited in _edits(text):
            if edited == text:
                continue
            got = reanalyse(original, edited, "m.py", config, rules)
            if got is None:
                declined += 1
                continue
            taken += 1
            assert _key(got) == _key(analyse(edited, "m.py", config, rules)), (path, edited)
    assert taken > 2 * declined  # the path is really taken


def _edit_at(lines: list[str], at: int, kind: int) -> list[str]:
    """One of ``_edits``' changes at line ``at`` (0-based)."""
    line = lines[at]
    indent = line[: len(line) - len(line.lstrip())]
    if kind == 0:
        return lines[:at] + lines[at + 1 :]
    if kind == 1:
        return [*lines[:at], indent + "pass", *lines[at + 1 :]]
    if kind == 2:
        return [*lines[:at], indent + "pass", indent + "pass", *lines[at:]]
    return [*lines[:at], line + "  # noqa: F401" if line.strip() else line, *lines[at + 1 :]]


@pytest.mark.parametrize("select", [("ALL",), ("F", "E9")])
def test_changes_far_apart_are_parsed_apart_and_give_analyse_s_report(
    rules: RuleSet, select: tuple[str, ...]
) -> None:
    """A text fixed at two or three places (lines added at one, removed at another) is
    reparsed region by region: the report is still ``analyse``'s exactly."""
    config = Config(select=select)
    taken = declined = 0
    for number, path in enumerate(FILES):
        text = path.read_text(encoding="utf-8")
        lines = text.split("\n")
        if len(lines) < 60:
            continue
        original = _original(text, config, rules)
        for step in (5, 3, 2):
            places = sorted(
                {len(lines) // step, len(lines) // step + len(lines) // 4, len(lines) - 8}, reverse=True
            )
            edited = lines
            for turn, at in enumerate(places):  # from the bottom up: each place is the original's
                edited = _edit_at(edited, at, (number + turn + step) % 4)
            fixed = "\n".join(edited)
            if fixed == text:
                continue
            got = reanalyse(original, fixed, "m.py", config, rules)
            whole = analyse(fixed, "m.py", config, rules)
            if got is None:
                declined += not whole.syntax_error  # (a text that does not parse: declined)
                continue
            taken += 1
            assert _key(got) == _key(whole), (path, places)
    assert taken > 2 * declined, (taken, declined)


def test_two_fixes_far_apart_parse_only_their_statements(
    rules: RuleSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two guards added in two defs far apart (a gap with one blank line after the first:
    the region runs on to the next gap that has two) parse those defs, not the text between."""
    defs = "".join(f"\n\ndef f{n}(x):\n    return x + {n}\n" for n in range(1, 30))
    text = "import os\n\n\ndef a(x=[]):\n    return x\n\ndef f0(x):\n    return x\n" + defs
    text += "\n\ndef b(y={}):\n    return y\n"
    text += "\n\nVALUE = os.sep\n"
    config = Config(select=("ALL",))
    original = _original(text, config, rules)
    fixed = text.replace("    return x\n\n", "    if x is None:\n        x = []\n    return x\n\n", 1)
    fixed = fixed.replace("    return y\n", "    if y is None:\n        y = {}\n    return y\n")
    got, parsed = _reanalysed_counting_parses(original, fixed, config, rules, monkeypatch)
    assert got is not None
    assert _key(got) == _key(analyse(fixed, "m.py", config, rules))
    assert len(parsed) == 2
    assert "def f0" in parsed[0] and "def f1" not in parsed[0]  # (one blank line after `a`)
    assert "y = {}" in parsed[1] and "def f29" not in parsed[1] and "VALUE" not in parsed[1]


def test_lines_removed_above_a_finding_move_it_and_its_message(rules: RuleSet) -> None:
    """F811's message names the line of the first definition: after a removal above both,
    the line in the message is the fixed text's."""
    text = "import os\nimport sys\n\n\ndef f():\n    pass\n\n\ndef f():\n    return os, sys\n"
    config = Config(select=("F",))
    original = _original(text, config, rules)
    fixed = text.replace("import sys\n", "")
    got = reanalyse(original, fixed, "m.py", config, rules)
    assert got is not None
    assert _key(got) == _key(analyse(fixed, "m.py", config, rules))
    assert [f.message for f in got.findings if f.code == "F811"] == ["redefinition of unused `f` from line 4"]


def test_lines_added_take_blank_lines_before_the_next_statement(
    rules: RuleSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fix that adds lines (a guard, a def made of a lambda) takes as many blank lines from
    the gap before the next statement: only the changed statement is parsed again, and the
    findings below (F811's message naming a line) are the fixed text's."""
    text = "import os\n\n\ndef f(x=[]):\n    return x\n\n\ndef g():\n    pass\n\n\ndef g():\n    return os\n"
    config = Config(select=("ALL",))
    original = _original(text, config, rules)
    fixed = text.replace("    return x\n\n", "    if x is None:\n        x = []\n    return x\n\n", 1)
    got, parsed = _reanalysed_counting_parses(original, fixed, config, rules, monkeypatch)
    assert got is not None
    assert _key(got) == _key(analyse(fixed, "m.py", config, rules))
    assert [f.message for f in got.findings if f.code == "F811"] == [
        "redefinition of unused `g` from line 10"
    ]
    assert len(parsed) == 1 and "def g" not in parsed[0]
    # no blank line to take (the next statement follows at once): parsed to the end
    tight = fixed.replace("    return x\n\n\n", "    return x\n")
    original = _original(text.replace("    return x\n\n\n", "    return x\n"), config, rules)
    got = reanalyse(original, tight, "m.py", config, rules)
    assert got is not None and _key(got) == _key(analyse(tight, "m.py", config, rules))


@pytest.fixture
def full_analyses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts the fix engine analyses whole (not through ``reanalyse``)."""
    seen: list[str] = []
    real = engine.analyse

    def counting(text: str, *args: Any, **kwargs: Any) -> Report:
        seen.append(text)
        return real(text, *args, **kwargs)

    monkeypatch.setattr(engine, "analyse", counting)
    return seen


BODY = "".join(f"\n\ndef f{n}(x):\n    return x + {n}\n" for n in range(20))
TEXT = "import os\nimport json\n" + BODY + "\n\nVALUE = json.dumps(f3(1))\n"


@pytest.mark.parametrize(
    ("fixed", "reason", "whole"),
    [
        # Removing the used `json` with `os`: F821 appears 90 lines below the edit.
        (TEXT.replace("import os\nimport json\n", ""), "the fix introduces F821", 0),
        # The region does not parse alone: analysed whole, which says so.
        (TEXT.replace("import os\n", "import (os\n"), "the result does not parse", 1),
        # `os` is still imported (a comment added): the target is still reported.
        (TEXT.replace("import os\n", "import os  # kept\n"), "F401 is still reported after the fix", 0),
        (TEXT.replace("import os\n", ""), None, 0),
    ],
)
def test_verification_through_the_original_tree_refuses_what_it_refused(
    rules: RuleSet, full_analyses: list[str], fixed: str, reason: str | None, whole: int
) -> None:
    config = Config(select=("F", "E9"))
    before = analyse(TEXT, "m.py", config, rules)
    (target,) = [f for f in before.findings if f.code == "F401"]
    memo = engine.FixMemo(_original(TEXT, config, rules))
    got = engine.verify(before, fixed, [target], "m.py", config, rules, memo)
    assert (got or "").startswith(reason or "") and (got is None) == (reason is None), got
    assert len(full_analyses) == whole
    assert got == engine.verify(before, fixed, [target], "m.py", config, rules)  # the same without it


def test_with_fixability_is_the_same_with_the_tree_and_parses_no_whole_fixed_text(
    rules: RuleSet, full_analyses: list[str]
) -> None:
    text = "import os\nimport sys, json\n" + BODY + "\n\ndef g():\n    unused = f1(2)\n    return f'{json}'\n"
    config = Config(select=("ALL",))
    report = analyse(text, "m.py", config, rules)
    assert sum(f.fixable for f in report.findings) >= 3
    original = _original(text, config, rules)
    with_tree = engine.with_fixability(text, "m.py", config, rules, report, original.tree)
    assert full_analyses == []
    assert with_tree == engine.with_fixability(text, "m.py", config, rules, report)
    assert full_analyses  # (the count sees whole analyses)


def test_a_pass_that_applies_nothing_does_not_analyse_its_text_again(
    rules: RuleSet, full_analyses: list[str]
) -> None:
    """EMS105's fix (``raise e`` made ``raise``) leaves ``e`` unused: refused, nothing is
    applied, and the judged text's own report stands for it (no analysis of the same text)."""
    text = "def f(e):\n    try:\n        pass\n    except ValueError as e:\n        raise e\n"
    config = Config(select=("ALL",))
    report = analyse(text, "m.py", config, rules)
    memo = engine.FixMemo(_original(text, config, rules))
    result = engine.fix_all(text, "m.py", config, ruleset=rules, report=report, memo=memo)
    assert not result.applied and [f.code for f in result.failures] == ["EMS105"]
    assert full_analyses == [] and text not in memo.reports
    assert result.remaining == analyse(text, "m.py", config, rules).findings
    judged = engine.with_fixability(text, "m.py", config, rules, report, memo.original.tree)  # type: ignore[union-attr]
    assert [f.fixability for f in judged.findings] == [None]


def test_lines_added_take_blank_lines_from_the_gaps_between_the_region_s_statements(
    rules: RuleSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One blank line between definitions (an older style): a guard's two lines take the
    gap after the fixed def and the one after the next def, which is parsed with it; the
    defs below are not."""
    defs = "".join(f"\ndef f{n}(x):\n    return x + {n}\n" for n in range(1, 20))
    text = "import os\n\ndef a(x=[]):\n    return x\n\ndef f0(x):\n    return x\n" + defs + "\nV = os.sep\n"
    config = Config(select=("ALL",))
    original = _original(text, config, rules)
    fixed = text.replace("    return x\n\n", "    if x is None:\n        x = []\n    return x\n\n", 1)
    got, parsed = _reanalysed_counting_parses(original, fixed, config, rules, monkeypatch)
    assert got is not None
    assert _key(got) == _key(analyse(fixed, "m.py", config, rules))
    assert len(parsed) == 1 and "def f0" in parsed[0] and "def f1" not in parsed[0]


def test_blank_lines_a_fix_put_inside_a_string_are_not_left_out(rules: RuleSet) -> None:
    """The fix opens a string in ``A`` and closes it in ``B`` (both in one region, a line
    added): the unchanged gap's blank line between them is now inside the string, and
    leaving it out would change the string: the region's parse shows it, and the text is
    declined (the engine analyses it whole)."""
    text = "A = 1\n\nB = [\n    1,\n    2]\nC = 3\n"
    fixed = 'A = """\n\nB = [\n    1,\n    2]"""\nD = 4\nC = 3\n'
    config = Config(select=("ALL",))
    assert not analyse(fixed, "m.py", config, rules).syntax_error
    assert reanalyse(_original(text, config, rules), fixed, "m.py", config, rules) is None


def test_the_tree_put_together_is_the_analysed_text_s_own_parse(
    rules: RuleSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Edits inside compound statements (classes, defs, ``if``/``try`` blocks; one or two,
    lines added, removed, changed): the tree made from the original's, with only the
    changed statements of the innermost block holding them parsed again, is ``ast.parse``
    of the text analysed, every position included; and the report is ``analyse``'s of the
    fixed text."""
    seen: list[tuple[ast.Module, str]] = []
    real = reanalyse_module.analyse_parsed

    def capture(tree: ast.Module, text: str, *args: Any, **kwargs: Any) -> Report:
        seen.append((tree, text))
        return real(tree, text, *args, **kwargs)

    monkeypatch.setattr(reanalyse_module, "analyse_parsed", capture)
    inside = 0
    real_nested = reanalyse_module._nested

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal inside
        found = real_nested(*args, **kwargs)
        inside += found is not None
        return found

    monkeypatch.setattr(reanalyse_module, "_nested", counting)
    config = Config(select=("ALL",))
    for number, path in enumerate(sorted(SRC.rglob("*.py"))[::5]):
        text = path.read_text(encoding="utf-8")
        compound = (ast.ClassDef, ast.FunctionDef, ast.If, ast.Try, ast.For, ast.While, ast.With)
        classes = [
            s
            for s in ast.parse(text).body
            if isinstance(s, compound) and (s.end_lineno or s.lineno) - s.lineno > 4
        ]
        if not classes:
            continue
        original = _original(text, config, rules)
        lines = text.split("\n")
        places = []
        for cls in classes[:4]:
            span = (cls.end_lineno or cls.lineno) - cls.lineno
            places += [cls.lineno + span // 3, cls.lineno + 2 * span // 3, cls.end_lineno or cls.lineno]
        for turn, at in enumerate(places):
            for others in ([], places[turn + 1 : turn + 2]):
                edited = lines
                for line in sorted({p - 1 for p in [at, *others]}, reverse=True):  # (bottom up)
                    edited = _edit_at(edited, line, (number + turn + line) % 4)
                fixed = "\n".join(edited)
                seen.clear()
                got = reanalyse(original, fixed, "m.py", config, rules)
                if got is None:
                    continue
                tree, analysed = seen[0]
                assert ast.dump(tree, include_attributes=True) == ast.dump(
                    ast.parse(analysed), include_attributes=True
                ), (path, at, others)
                assert _key(got) == _key(analyse(fixed, "m.py", config, rules)), (path, at, others)
    assert inside > 40, inside


def test_the_text_a_pass_applies_is_the_string_verified(rules: RuleSet) -> None:
    """The batch verified is applied as the very text verification analysed (not made
    again and hashed again as the memo's key), and it is the text the fixes give."""
    text = "import os\nimport sys\n\n\ndef f(x=[]):\n    if not x in [1]:\n        return x\n"
    config = Config(select=("ALL",))
    report = analyse(text, "m.py", config, rules)
    memo = engine.FixMemo(_original(text, config, rules))
    result = engine.fix_all(text, "m.py", config, ruleset=rules, report=report, memo=memo, unsafe=True)
    assert len(result.applied) >= 3
    assert any(key is result.text for key in memo.reports)
    again = engine.fix_all(text, "m.py", config, ruleset=rules, report=report, unsafe=True)
    assert again.text == result.text and again.applied == result.applied
