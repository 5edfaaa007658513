"""Every rule's own VALID/INVALID examples, run as tests (they are also its docs)."""

from __future__ import annotations

import ast
from dataclasses import replace

import pytest

from ems.core import Config, analyse, load_rules
from ems.core.model import Finding
from ems.core.rule import Invalid, Rule
from ems.fixes import fix_all

RULES = load_rules().rules


def _cases(kind: str) -> list[tuple[type[Rule], int]]:
    return [(rule, i) for rule in RULES for i in range(len(getattr(rule, kind)))]


def _only(rule: type[Rule], also: tuple[str, ...] = ()) -> Config:
    return Config(select=(rule.code, *also))


@pytest.mark.parametrize(("rule", "index"), _cases("valid"), ids=lambda v: getattr(v, "code", v))
def test_valid_example_has_no_finding(rule: type[Rule], index: int) -> None:
    example = rule.valid[index]
    report = analyse(example.code, example.path, _only(rule, example.also))
    assert [f for f in report.findings if f.code == rule.code] == []
    assert not report.syntax_error


@pytest.mark.parametrize(("rule", "index"), _cases("invalid"), ids=lambda v: getattr(v, "code", v))
def test_invalid_example_is_flagged_and_fixed(rule: type[Rule], index: int) -> None:
    example = rule.invalid[index]
    report = analyse(example.code, example.path, _only(rule, example.also))
    hits = [f for f in report.findings if f.code == rule.code]
    assert len(hits) == example.count, hits
    # Where and what, as the example states them (Fixit's InvalidTestCase pins both).
    assert _reported(hits) == _stated(example)
    if example.fixed is None:
        return
    assert all(f.fixable for f in hits)
    result = fix_all(example.code, example.path, _only(rule, example.also), unsafe=example.unsafe)
    assert result.failures == ()
    assert result.text == example.fixed
    ast.parse(result.text)
    again = fix_all(result.text, example.path, _only(rule, example.also), unsafe=example.unsafe)
    assert again.text == result.text, "fixing twice must change nothing more"
    if example.unsafe:
        safe_only = fix_all(example.code, example.path, _only(rule, example.also), unsafe=False)
        assert safe_only.text != example.fixed, "an unsafe fix must not be applied without opting in"


def test_every_invalid_example_pins_its_range_and_message() -> None:
    for rule in RULES:
        for example in rule.invalid:
            assert len(example.spans) == len(example.messages) == example.count, (rule.code, example.code)


def _reported(hits: list[Finding]) -> list[tuple[tuple[int, int, int, int], str]]:
    return [
        ((f.range.start.line, f.range.start.column, f.range.end.line, f.range.end.column), f.message)
        for f in hits
    ]


def _stated(example: Invalid) -> list[tuple[tuple[int, int, int, int], str]]:
    return list(zip(example.spans, example.messages, strict=True))


def test_an_example_with_a_wrong_range_or_message_fails() -> None:
    """The pinning check can fail: a shifted column or another word is caught."""
    from ems.rules.f401_unused_import import UnusedImport

    good = UnusedImport.invalid[0]
    assert (good.at, good.message) == ("1:7-1:9", "`os` imported but unused")
    hits = [f for f in analyse(good.code, good.path, _only(UnusedImport)).findings if f.code == "F401"]
    assert _reported(hits) == _stated(good)
    for wrong in (replace(good, at="1:8-1:9"), replace(good, message="`os` imported, unused")):
        assert _reported(hits) != _stated(wrong)


def test_every_rule_is_documented() -> None:
    for rule in RULES:
        assert rule.summary and rule.explanation and rule.name, rule
        assert rule.invalid or rule.code in {"E902", "EMS901", "EMS902", "EMS903"}, (
            f"{rule.code} has no INVALID example"
        )


def test_fixable_rules_show_their_fix() -> None:
    for rule in RULES:
        if rule.has_fix():
            assert rule.fix_title, rule.code
            assert any(ex.fixed is not None for ex in rule.invalid), f"{rule.code} has no fixed example"
