"""A changed def's own checks, kept for the next fixed text that holds the same def.

Why: ``fix_all`` verifies each pass's text against the judged one, so a def a fix changed
in the first pass is parsed and analysed again (alone, and by the chunk-local rules) in
every later pass, and in the ``--unsafe-fixes`` run that repeats the safe fixes: pydoc's
unsafe run checked 56 changed defs in 4 texts, 18 of them distinct.

What the checks read of the fixed text besides the def's own lines (the same lines at the
same line numbers give the same tree and the same hits, as the incremental analysis holds
for a chunk) is what their rules asked of the module (``AnalysisContext.module_fact``,
``imports_fact``, ``binds_anywhere``): each answer is logged, and a kept result serves
another text only when every answer is the same there.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from ems.core.incremental.state import StubbedBody
from ems.core.rule import IMPORTS, FactEntry, FactKey, Hit, Rule
from ems.core.watched import names_bound
from ems.fixes.verifybody.parts import Judged


@dataclass
class Redone:
    """One changed def's checks on the fixed texts that hold it at the same lines: its tree
    (``parse_def``), its body analysed alone (``after``) and the chunk-local rules' hits on
    it (``local``), each filled when first computed; with the facts each asked."""

    node: ast.FunctionDef | ast.AsyncFunctionDef
    after: StubbedBody | None = None
    after_asked: dict[FactKey, FactEntry] = field(default_factory=dict)
    local: list[tuple[type[Rule], Hit]] | None = None
    local_asked: dict[FactKey, FactEntry] = field(default_factory=dict)
    watched: dict[frozenset[str], frozenset[str]] = field(default_factory=dict)

    def bound(self, names: frozenset[str], region: str) -> frozenset[str]:
        """``names_bound([node], names, region)``, once (``region``: the def's lines)."""
        found = self.watched.get(names)
        if found is None:
            found = self.watched[names] = names_bound([self.node], names, region)
        return found

    def holds(
        self,
        judged: Judged,
        text: str,
        imports: list[ast.stmt],
        seed: dict[FactKey, object],
    ) -> bool:
        """Whether the checks would ask the same of ``text`` (whose top-level imports are
        ``imports``, and whose still-valid judged facts are ``seed``) and get the same
        answers.

        The body alone is a module of its own: its imports are its own, and a fact about
        the text can differ (so can "is NAME bound?", which reads the text for the name's
        spelling first: not reused). The chunk-local rules see the judged text's bindings
        (``Judged.binds_anywhere``, the same for every text), the fixed text's imports,
        and the seed before the text."""
        for word, compute, value in self.after_asked.values():
            if compute is None or (word != IMPORTS and compute(text) != value):
                return False
        for key, (word, compute, value) in self.local_asked.items():
            if compute is None:
                continue
            if key in seed:
                now = seed[key]
            else:
                now = compute(imports) if word == IMPORTS else compute(text)
            if now != value:
                return False
        return True


def redone_key(rules: object, at: int, first: int, region: str, lines: list[str]) -> tuple[object, ...]:
    """What a kept ``Redone`` is found by: the rules, the judged def (its first line ``at``),
    and the fixed text's lines of it from line ``first`` (with whether the line above
    continues into it)."""
    continued = first > 1 and lines[first - 2].endswith("\\")
    return (id(rules), at, first, region, continued)
