"""Every rule's own VALID/INVALID examples, run as tests (they are also its docs)."""

from __future__ import annotations

import ast

import pytest

from ems.core import Config, analyse, load_rules
from ems.core.rule import Rule
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
