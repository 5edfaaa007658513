"""A batch of fixes that fails verification costs a few analyses, not one per fix.

``fix_all`` verifies a pass's fixes together (one analysis). When that fails, the failure
is pinned on the fixes that caused it (a target still reported, a new finding next to a
fix), or the batch is halved, so one bad fix among n costs O(log n) analyses instead of
n; and a fix that failed is tried again once on the final text, not on every pass.
Analyses are counted with a wrapper around the engine's ``analyse``, never timed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ems.core import Config, load_rules
from ems.core.model import Finding, Fix, Range, Report, Safety, TextEdit
from ems.core.registry import RuleSet
from ems.core.rule import AnalysisContext, Hit, Rule
from ems.core.source import SourceText
from ems.fixes import engine
from ems.fixes.context import FixContext


@pytest.fixture
def analyses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every text the fix engine analyses, in order."""
    seen: list[str] = []
    real: Callable[..., Report] = engine.analyse

    def counting(text: str, *args: Any, **kwargs: Any) -> Report:
        seen.append(text)
        return real(text, *args, **kwargs)

    monkeypatch.setattr(engine, "analyse", counting)
    return seen


def _verified(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    """The targets of every verification, by code."""
    calls: list[tuple[str, ...]] = []
    real = engine.verify

    def recording(before: Report, new_text: str, targets: Any, *args: Any, **kwargs: Any) -> str | None:
        targets = list(targets)
        calls.append(tuple(t.code for t in targets))
        return real(before, new_text, targets, *args, **kwargs)

    monkeypatch.setattr(engine, "verify", recording)
    return calls


class _Marker(Rule):
    """Flags each ``marker = "todo"`` line; its fix writes "done", except on a line
    saying ``broken``, where it writes an unclosed bracket (the result does not parse, so
    the failed analysis points at no fix), and on a line saying ``stuck``, where the
    finding stays."""

    code = "EMS990"
    name = "test-marker"
    summary = explanation = "a test rule whose one bad fix breaks the parse"
    fix_safety = Safety.SAFE
    fix_title = "Mark done"

    def check(self, ctx: AnalysisContext) -> Iterator[Hit]:
        for number, line in enumerate(ctx.source.text.splitlines(), 1):
            found = re.search(r'"todo"', line)
            if found:
                yield Hit(number, found.start(), number, found.end(), f"todo on line {number}")

    def fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        line = ctx.source.line(finding.line)
        new = "(" if "broken" in line else '("todo")' if "stuck" in line else '"done"'
        return Fix(self.fix_title, Safety.SAFE, (TextEdit(finding.range, new),), self.code)


def _with(*rules: type[Rule]) -> RuleSet:
    base = load_rules()
    return RuleSet(rules=(*base.rules, *rules), origins=base.origins)


def test_one_fix_that_cannot_work_among_many_costs_three_analyses(analyses: list[str]) -> None:
    """32 good E711 fixes and one fix that leaves its finding in place: the batch's
    analysis points at that fix (its target is still reported), so the rest is verified in
    one analysis and that fix alone in one more."""
    good = "".join(f"def check_{n}(x):\n    return x == None\n\n\n" for n in range(32))
    text = good + 'marker = "todo"  # stuck\n'
    result = engine.fix_all(
        text, "many.py", Config(select=("E711", "EMS990")), unsafe=True, ruleset=_with(_Marker)
    )
    assert "== None" not in result.text
    assert result.text.count("is None") == 32
    assert 'marker = "todo"  # stuck' in result.text
    assert [(f.code, f.reason) for f in result.failures] == [
        ("EMS990", "EMS990 is still reported after the fix")
    ]
    # the file, the batch, the 32 good fixes together, the bad fix alone; then the bad
    # fix once more on the final text. The old one-at-a-time fallback took 33 + 3.
    assert len(analyses) <= 5, len(analyses)


def test_a_new_finding_is_put_on_the_fix_next_to_it(analyses: list[str]) -> None:
    """EMS105's fix turns ``raise e`` into ``raise``, which leaves ``except E as e``
    unused (a new F841 on the line above the fix): pinned on that fix, not halved."""
    good = "".join(f"def check_{n}(x):\n    return x == None\n\n\n" for n in range(32))
    bad = "def drop(run):\n    try:\n        run()\n    except ValueError as e:\n        raise e\n"
    result = engine.fix_all(good + bad, "new.py", Config(select=("E711", "EMS105", "F841")), unsafe=True)
    assert result.text.count("is None") == 32
    assert "raise e\n" in result.text
    assert [f.code for f in result.failures] == ["EMS105"]
    assert "introduces F841" in result.failures[0].reason
    assert len(analyses) <= 5, len(analyses)


@pytest.mark.parametrize("count", [16, 64])
@pytest.mark.parametrize("where", [0, 0.5, 1])
def test_a_failure_no_analysis_can_pin_is_halved(analyses: list[str], count: int, where: float) -> None:
    bad_at = min(int(count * where), count - 1)
    lines = [
        f'marker_{n} = "todo"  # broken\n' if n == bad_at else f'marker_{n} = "todo"\n' for n in range(count)
    ]
    result = engine.fix_all("".join(lines), "halve.py", Config(select=("EMS990",)), ruleset=_with(_Marker))
    assert result.text.count('"done"') == count - 1
    assert f'marker_{bad_at} = "todo"  # broken' in result.text
    assert [(f.code, f.reason) for f in result.failures] == [("EMS990", "the result does not parse")]
    # halving: about two analyses per level of a log2(count)-deep search, not count
    assert len(analyses) <= 2 * count.bit_length() + 3, (count, len(analyses))


class _Cascade(Rule):
    """``step_1`` → ``step_2`` → ... → ``step_5``: each fix reveals the next finding, so
    fixing the file takes five passes."""

    code = "EMS991"
    name = "test-cascade"
    summary = explanation = "a test rule whose fixes take several passes"
    fix_safety = Safety.SAFE
    fix_title = "Next step"
    fix_may_reveal = frozenset({"EMS991"})

    def check(self, ctx: AnalysisContext) -> Iterator[Hit]:
        for number, line in enumerate(ctx.source.text.splitlines(), 1):
            found = re.search(r"step_[1-4]\b", line)
            if found:
                yield Hit(number, found.start(), number, found.end(), f"{found.group()} is not the last step")

    def fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        word = ctx.source.line(finding.line)[finding.range.start.column : finding.range.end.column]
        new = f"step_{int(word[-1]) + 1}"
        return Fix(self.fix_title, Safety.SAFE, (TextEdit(finding.range, new),), self.code)


def test_a_failed_fix_is_not_tried_again_on_every_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fix that cannot work is verified on the first text and once more on the final
    one; the four passes in between do not try it again."""
    verified = _verified(monkeypatch)
    # (the star import defines the steps: verification runs F821, selected or not)
    text = 'from steps import *\n\nvalue = step_1\n\n\nmarker = "todo"  # stuck\n'
    result = engine.fix_all(
        text, "passes.py", Config(select=("EMS991", "EMS990")), ruleset=_with(_Cascade, _Marker)
    )
    assert "\nvalue = step_5\n" in result.text
    assert [f.code for f in result.failures] == ["EMS990"]
    assert result.passes >= 5
    assert sum("EMS990" in targets for targets in verified) <= 4, verified


class _Pair(Rule):
    """Flags the words ``left`` and ``right``; its fix writes ``gone``. With neither word
    left in the file it reports ``lonely`` on line 1: each fix verifies alone, the two
    together do not."""

    code = "EMS992"
    name = "test-pair"
    summary = explanation = "a test rule whose two fixes fail only together"
    fix_safety = Safety.SAFE
    fix_title = "Remove the word"

    def check(self, ctx: AnalysisContext) -> Iterator[Hit]:
        lines = ctx.source.text.splitlines()
        for number, line in enumerate(lines, 1):
            for found in re.finditer(r"\b(left|right)\b", line):
                yield Hit(number, found.start(), number, found.end(), f"the word {found.group()}")
        if not re.search(r"\b(left|right)\b", ctx.source.text):
            yield Hit(1, 0, 1, 1, "lonely")

    def fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        return Fix(self.fix_title, Safety.SAFE, (TextEdit(finding.range, "gone"),), self.code)


def test_fixes_that_fail_only_together_are_never_applied_together() -> None:
    """Whatever a pass applies was verified together: one fix is applied, and the other,
    tried again on the text with the first applied, is refused with its own reason."""
    text = "a = 'left'\n" + "".join(f"b_{n} = 'x'\n" for n in range(30)) + "c = 'right'\n"
    result = engine.fix_all(text, "pair.py", Config(select=("EMS992",)), ruleset=_with(_Pair))
    assert result.text.count("gone") == 1
    assert len(result.applied) == 1
    assert [(f.code, f.reason) for f in result.failures] == [("EMS992", "the fix introduces EMS992: lonely")]


def test_the_range_helpers_map_offsets_through_the_fixes() -> None:
    text = "aaaa\nbbbb\ncccc\n"

    def fix(start: int, end: int, new: str) -> Fix:
        return Fix("t", Safety.SAFE, (TextEdit(Range.of(1, start, 1, end), new),))

    fixes = [fix(0, 1, "XYZ"), fix(2, 4, "")]
    spans = [(0, 1), (2, 4)]
    moved = engine._moved_spans(SourceText(text), spans, fixes)
    assert moved == [(0, 3), (4, 4)]
    shifts = sorted((s, e, e - old_end) for (_, old_end), (s, e) in zip(spans, moved, strict=True))
    assert engine._moved_back(3, shifts) is None  # inside the first fix's new text
    assert engine._moved_back(5, shifts) == 5  # line 2: +2 by the first fix, -2 by the second
    assert engine._moved_back(10, shifts) == 10


def test_judging_a_file_finds_verification_s_selection_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """``verifying`` scans every rule class for the guard rules: judging a file asks it once,
    not once per verification (two runs, safe and unsafe, three verified texts here)."""
    text = "import os\nimport sys\n\n\ndef f():\n    x = 1\n    return f'{1}' + f'two'\n\n\ndef g():\n    y = 2\n"
    config, rules = Config(select=("F", "E9")), load_rules()
    asked: list[str] = []
    real = engine.verifying

    def counted(*args: Any) -> Any:
        asked.append(args[2])
        return real(*args)

    verified: list[str] = []
    real_verify = engine.verify

    def verify(*args: Any, **kwargs: Any) -> Any:
        verified.append(args[1])
        return real_verify(*args, **kwargs)

    monkeypatch.setattr(engine, "verifying", counted)
    monkeypatch.setattr(engine, "verify", verify)
    report = engine.with_fixability(text, "m.py", config, rules, engine.analyse(text, "m.py", config, rules))
    assert len(verified) >= 2
    assert asked == ["m.py"]
    assert {f.code: f.fixability.value if f.fixability else None for f in report.findings} == {
        "F401": "safe",
        "F541": "safe",
        "F841": "hidden",
    }
