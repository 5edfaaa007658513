"""Related positions are data the engine moves, not numbers in prose.

A plug-in rule that names another place's line in its own words ("row 2") gets the place
and the message moved when an edit above shifts them: the language server's incremental
analysis reuses the rule's cached hit and shifts it, and must agree with a full analysis.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ems.core.analyse import analyse
from ems.core.config import Config
from ems.core.incremental import IncrementalAnalyser
from ems.core.registry import RuleSet
from ems.core.rule import AnalysisContext, Hit, Rule

CONFIG = Config()


class ValueRow(Rule):
    """A plug-in's rule: points at the value assigned to ``x`` and names its row."""

    code = "EMS995"
    name = "value-row"
    summary = explanation = "says on which row the value assigned to x starts"
    node_types = (ast.Assign,)

    visits: list[int] = []  # lines of the x assignments visited: what the engine re-checked

    def visit(self, node: ast.AST, ctx: AnalysisContext) -> Iterator[Hit]:
        assert isinstance(node, ast.Assign)
        if any(isinstance(t, ast.Name) and t.id == "x" for t in node.targets):
            ValueRow.visits.append(node.lineno)
            yield ctx.hit(
                node.targets[0],
                "",
                related=(ctx.related(node.value, "the value"),),
                template="x takes its value from row {0}",
            )


RULES = RuleSet(rules=(ValueRow,), origins=())


def _shown(report) -> list[tuple[str, int, int]]:
    return [(f.message, f.line, f.related[0].range.start.line) for f in report.findings]


def test_an_edit_above_moves_a_plugin_rules_related_position_and_its_message():
    text = "a = 0\n\n\nx = (\n    1\n)\n" + "".join(f"v{i} = {i}\n" for i in range(20))
    analyser = IncrementalAnalyser()
    assert _shown(analyser.analyse(text, "m.py", CONFIG, RULES)) == [("x takes its value from row 5", 4, 5)]
    analyser.prepare()  # the state an open document gets while the server is idle

    ValueRow.visits.clear()
    edited = "b = 0\nc = 0\n" + text
    report = analyser.analyse(edited, "m.py", CONFIG, RULES)
    assert ValueRow.visits == []  # x's statement was not checked again: its cached hit moved
    assert _shown(report) == [("x takes its value from row 7", 6, 7)]
    full = analyse(edited, "m.py", CONFIG, RULES)
    assert [(f.range, f.message, f.related) for f in report.findings] == [
        (f.range, f.message, f.related) for f in full.findings
    ]


def test_the_template_is_the_identity_fix_verification_compares():
    from ems.fixes.engine import _key

    [before] = analyse("x = 1\n", "m.py", CONFIG, RULES).findings
    [after] = analyse("\n\nx = 1\n", "m.py", CONFIG, RULES).findings
    assert before.message != after.message
    assert _key(before) == _key(after) == ("EMS995", "x takes its value from row {0}")
