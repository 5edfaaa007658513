"""Shared by the tests of fix judging's fast routes (``ems.fixes.verifybody``): a judged
text as the scan keeps it, and what a report must keep exactly for a route to stand in
for ``analyse``."""

from __future__ import annotations

from typing import Any

from ems.core.analyse import analyse
from ems.core.config import Config
from ems.core.model import Report
from ems.core.registry import RuleSet
from ems.core.rule import FactLog
from ems.fixes.verifybody import Judged


def report_key(report: Report) -> tuple[object, ...]:
    """Every field of the report a route must reproduce (positions, fingerprints, data)."""
    return (
        report.syntax_error,
        report.rule_errors,
        [
            (
                f.code,
                f.name,
                f.message,
                f.range,
                f.related,
                f.fingerprint,
                f.data,
                f.fixable,
                f.template,
                f.severity,
                f.tags,
            )
            for f in report.findings
        ],
    )


def judged_text(text: str, config: Config, rules: RuleSet) -> Judged:
    """``text`` analysed as the scan analyses a file it will judge: its tree and the facts
    its rules asked kept with the report."""
    trees: list[Any] = []
    facts = FactLog()
    report = analyse(text, "m.py", config, rules, on_tree=lambda tree, _: trees.append(tree), fact_log=facts)
    return Judged(text, trees[0], report, facts)
