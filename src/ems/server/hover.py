"""Hover on a diagnostic's range: what the rule is, why it matters, an example, the fix.

Everything shown comes from the rule class (its documentation doubles as test data),
so the hover and ``docs/user/rules.md`` never disagree.
"""

from __future__ import annotations

from lsprotocol import types as lsp

from ems.core.model import Finding, Safety
from ems.core.registry import RuleSet
from ems.server.diagnostics import docs_url
from ems.server.positions import PositionMapper


def _contains(rng: lsp.Range, pos: lsp.Position) -> bool:
    start = (rng.start.line, rng.start.character)
    end = (rng.end.line, rng.end.character)
    return start <= (pos.line, pos.character) <= end


def findings_at(findings: tuple[Finding, ...], mapper: PositionMapper, pos: lsp.Position) -> list[Finding]:
    return [f for f in findings if _contains(mapper.range_to_lsp(f.range), pos)]


def describe(finding: Finding, ruleset: RuleSet, unsafe: bool) -> str:
    """Markdown for one finding."""
    rule = ruleset.get(finding.code)
    url = docs_url(finding.code, ruleset)
    if rule is None:  # a code no rule documents (a rule set built by hand)
        return f"**{finding.code}** `{finding.name}` — {finding.message}\n\n[Documentation]({url})"
    parts = [f"**{rule.code}** `{rule.name}` — {rule.summary}", "", rule.explanation.strip()]
    example = next(iter(rule.invalid), None)
    if example is not None:
        parts += ["", "Example:", "```python", example.code.rstrip("\n"), "```"]
        if example.fixed is not None:
            parts += ["Fixed:", "```python", example.fixed.rstrip("\n"), "```"]
    fixability = finding.fixability  # computed: the fix ``ems fix`` would apply, verified
    if fixability is None or not fixability.known:
        parts += ["", "No automatic fix."]
    elif fixability.safety is Safety.SAFE:
        parts += ["", f"Quick fix available: {rule.fix_title or 'yes'} (safe)."]
    else:
        note = "enabled" if unsafe else "off; turn on `ems.unsafeFixes` to offer it"
        parts += ["", f"Unsafe fix available: {rule.fix_title or 'yes'} (unsafe fixes are {note})."]
    parts += ["", f"[Documentation]({url})"]
    return "\n".join(parts)


def hover(
    findings: list[Finding], mapper: PositionMapper, ruleset: RuleSet, unsafe: bool
) -> lsp.Hover | None:
    if not findings:
        return None
    text = "\n\n---\n\n".join(describe(f, ruleset, unsafe) for f in findings)
    first = mapper.range_to_lsp(findings[0].range)
    return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=text), range=first)


def with_runtime(result: lsp.Hover | None, runtime: str | None) -> lsp.Hover | None:
    """The findings' hover with the runtime-error group summary (if any) after it."""
    if runtime is None:
        return result
    if result is None:
        return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=runtime))
    contents = result.contents
    text = contents.value if isinstance(contents, lsp.MarkupContent) else str(contents)
    return lsp.Hover(
        contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=f"{text}\n\n---\n\n{runtime}"),
        range=result.range,
    )
