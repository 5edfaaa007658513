"""The facts the judged text's rules asked of the module, re-checked for a fixed text."""

from __future__ import annotations

import ast

from ems.core.rule import IMPORTS, FactLog
from ems.fixes.verifybody.parts import Judged


def facts_now(
    judged: Judged, text: str, changed: list[str], imports: list[ast.stmt], inside: list[tuple[int, int]]
) -> dict[tuple[str, ...], object] | None:
    """The facts the judged text's analysis asked of the module that still hold for the
    fixed text (whose top-level imports are ``imports``); None when one of them changed and
    a finding outside the changed parts may have asked it. A fact whose word none of the
    ``changed`` texts (the changed parts, old and new) holds is not computed again
    (``AnalysisContext.module_fact``'s contract); one about the imports only if they
    changed. A changed fact whose every asker was in the judged lines ``inside`` (function
    bodies checked again: ``FactLog.places``) is left out: those checks ask it anew."""
    same_imports = len(imports) == len(judged.top_imports) and all(
        a is b for a, b in zip(imports, judged.top_imports, strict=True)
    )
    places = judged.facts.places if isinstance(judged.facts, FactLog) else {}
    now: dict[tuple[str, ...], object] = {}
    for key, (word, compute, value) in judged.facts.items():
        if compute is None:
            continue  # watched names are compared part by part
        if word == IMPORTS:
            if not same_imports and compute(imports) != value:
                return None
        elif any(word in part for part in changed) and compute(text) != value:
            askers = places.get(key)
            if not askers or not all(any(a <= line <= b for a, b in inside) for line in askers):
                return None
            continue
        now[key] = value
    return now
