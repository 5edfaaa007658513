"""Verification's analysis of a fixed text whose changes all lie inside function bodies:
only those bodies are checked again; every other finding is the judged text's own.

Why: judging fixability analyses each fixed text (``engine.verify``), and most fixes
(an unused variable, a comparison, a loop's ``else``) change a line or two inside one
function. ``ems.fixes.reanalyse`` parses only the changed top-level statements, but the
scope model and every rule still ran over the whole module: most of a judged file's cost.

The two kinds of rules of ``ems.core.incremental`` are answered apart, on the same
grounds the language server's incremental analysis stands on:

* **chunk-local** rules over the changed function alone (a top-level def as its own
  module, a method inside a copy of its top-level class, as ``incremental.edits`` checks
  an edited method); their findings elsewhere are the judged text's, moved by the lines
  the fixes added or removed;
* **module-scoped** rules (unused imports, undefined names, redefinitions) see a function
  body only through what it reads from outside and what it binds: the body is analysed
  alone, before and after (``incremental.stubs.analyse_bodies``), and when both stand in
  as stubs (``stubs.stands_in``) that read the same names in the same order, the module's
  outline is the same, so the findings outside the body are the judged text's, the
  findings inside it are the new body's own, and a finding at a read outside (an
  undefined name) moves to the same read in the new body.

What the rules asked of the rest of the module (``analyse``'s fact log) is checked as the
incremental analysis re-checks it: a fact whose word the changed bodies hold is computed
again on the fixed text, and a body that binds a watched name it did not (or the reverse)
declines. Anything this cannot prove the same — a change outside a function body, a
suppression comment, a rule error, a nesting other than a top-level def or a method of a
top-level class, a body no stub stands in for, two findings that would tie in the report's
order — returns None, and the caller analyses the text another way.
"""

from __future__ import annotations

import ast
import bisect
import time
from collections import Counter
from dataclasses import replace

from ems.core.analyse import to_finding, with_fingerprints
from ems.core.config import Config
from ems.core.incremental.stubs import (
    analyse_bodies,
    outermost_functions,
    stands_in,
)
from ems.core.model import Finding, Range, Report
from ems.core.parsing import PIECEWISE_MIN_CHARS
from ems.core.registry import RuleSet
from ems.core.source import SourceText
from ems.core.suppressions import parse_suppressions, skips_file
from ems.core.watched import names_bound
from ems.fixes.verifybody.facts import facts_now
from ems.fixes.verifybody.imports import (
    alias_moves,
    emptied,
    kept_as_they_were,
    only_removed,
    parse_imports,
)
from ems.fixes.verifybody.local import local_hits, local_hits_in_chunk, local_runs
from ems.fixes.verifybody.parts import (
    Change,
    Judged,
    annotated,
    body_start,
    changes_in,
    parse_def,
)
from ems.fixes.verifybody.reads import free_differences, header_reads, reads
from ems.fixes.verifybody.redone import Redone, redone_key
from ems.fixes.verifybody.splice import (
    enclosing_names,
    moved_alias,
    moved_with_statement,
    range_key,
    shifted_finding,
    span,
    ties,
    within,
)
from ems.fixes.verifybody.unbound import Removed, all_known, removed_binding

__all__ = ["Judged", "in_bodies"]


def in_bodies(judged: Judged, text: str, path: str, config: Config, ruleset: RuleSet) -> Report | None:
    """``analyse(text)``'s report when every change from the judged text lies inside
    function bodies and the rest of the report is provably the judged one; else None."""
    started = time.perf_counter()
    if (
        not judged.usable
        or len(text) >= PIECEWISE_MIN_CHARS
        or "\r" in text
        or "\0" in text
        or "barry_as_FLUFL" in text
        or skips_file(text)
    ):
        return None
    new = text.split("\n")
    changes = changes_in(judged, new)
    if not changes or not _clear_of_suppressions(judged, text, new, changes):
        return None
    rules = judged.split(ruleset, config, path)
    source = SourceText(text)
    source.__dict__["lines"] = new  # (what it would split the text into: no `\r` here)
    scoped_codes = frozenset(rule.code for rule in rules.scoped_rules)
    fresh: list[Finding] = []
    moved: dict[tuple[int, int, int, int], tuple[int, int, int, int]] = {}
    expected: Counter[tuple[str, int, int, int, int, str]] = Counter()
    watched = rules.watched | frozenset(word for word, compute, _ in judged.facts.values() if compute is None)
    changed_text: list[str] = []
    defs: list[ast.stmt | None] = []
    gone: list[tuple[int, int, int, int]] = []  # the removed imports' places (judged text)
    same: list[tuple[int, int, int]] = []  # import statements kept as they were: lines, move
    imports_now = list(judged.top_imports)  # the fixed text's top-level imports
    runs: dict[int, list[ast.Import | ast.ImportFrom]] = {}
    aliased: dict[tuple[int, int, int, int], tuple[int, int, int, int]] = {}  # kept names' moves
    fresh_text = ["\n".join(new[c.new_first - 1 : c.new_end]) for c in changes if c.body.node is not None]
    for number, change in enumerate(changes):  # the import runs first: the fixed text's imports
        if change.body.node is None:
            statements = parse_imports(new, change)
            if statements is None or not only_removed(
                judged, change.body, statements, text, gone, fresh_text
            ):
                return None
            same += kept_as_they_were(judged, change.body, statements, new)
            aliased.update(alias_moves(judged, change.body, statements, source))
            if change.body.parent is None:  # (the module's imports are its top-level ones)
                at = imports_now.index(change.body.imports[0])
                imports_now[at : at + len(change.body.imports)] = statements
            runs[number] = statements
    for change in changes:
        changed_text.append("\n".join(judged.lines[change.body.first - 1 : change.body.end]))
        changed_text.append("\n".join(new[change.new_first - 1 : change.new_end]))
    # the defs whose only change took out a binding nothing reads: their findings are the
    # judged ones, moved (``unbound``), and they are not checked again
    proven: dict[int, Removed] = {}
    known = all_known(rules)
    if known:
        for number, change in enumerate(changes):
            removed = removed_binding(judged, change, new, watched)
            if removed is not None:
                proven[number] = removed
    inside = [
        (c.body.start, c.body.end)
        for n, c in enumerate(changes)
        if c.body.node is not None and n not in proven
    ]
    seed = facts_now(judged, text, changed_text, imports_now, inside)
    if seed is None:
        return None
    for number, change in enumerate(changes):
        body = change.body
        if number in proven:
            defs.append(None)
            continue
        if not body.top and body.node is None:
            return None
        old_region, new_region = changed_text[2 * number], changed_text[2 * number + 1]
        if body.node is None:
            statements = runs[number]
            if watched and names_bound(body.imports, watched, old_region) != names_bound(
                statements, watched, new_region
            ):
                return None
            defs.append(None)
            if known:
                continue  # (no rule ``unbound`` knows reports on an import or a `pass`)
            if emptied(change):  # `pass` in its place: what the block now holds is judged whole
                local = local_hits_in_chunk(
                    judged, change, changes, new, source, path, rules, text, imports_now, seed, scoped_codes
                )
                if local is None:
                    return None
                fresh += [to_finding(rule, hit, path, config) for rule, hit in local]
                continue
            local = local_hits(
                judged,
                body,
                list(statements),
                change,
                source,
                path,
                rules,
                text,
                imports_now,
                seed,
            )
            if local is None:
                return None
            fresh += [to_finding(rule, hit, path, config) for rule, hit in local]
            continue
        # what declines whatever the new def is, first (the fixed def is then neither parsed
        # nor analysed): the judged def's stub cannot stand in, or the chunk-local rules
        # cannot run over a def at its place
        before = judged.alone_of(body, path, rules)
        if before is None or not stands_in(before, judged.imported, judged.typing) or reads(before) is None:
            return None
        if body.top and not local_runs(judged, body):
            return None
        key = redone_key(rules, body.first, change.new_first, new_region, new)
        done = judged.redone.get(key)
        if done is None or not done.holds(judged, text, imports_now, seed):
            node = parse_def(new, change, body)
            if node is None:
                return None
            done = judged.redone[key] = Redone(node)
        node = done.node
        defs.append(node)
        if judged.future and (annotated(body.node) or annotated(node)):
            return None
        start = body_start(node)
        if start - change.new_first != body.start - body.first or (
            new[change.new_first - 1 : start - 1] != judged.lines[body.first - 1 : body.start - 1]
        ):
            # the signature changed (`x=[]` made `x=None`): what it reads from outside must
            # be the same names, and a finding at one of them moves with it
            old_names, new_names = header_reads(body.node), header_reads(node)
            if [n.id for n in old_names] != [n.id for n in new_names]:
                return None
            for old_name, new_name in zip(old_names, new_names, strict=True):
                moved[span(old_name, judged.source)] = span(new_name, source)
            changes[number] = change = replace(change, header=True)
        if watched and judged.bound_in(body, watched, old_region) != done.bound(watched, new_region):
            return None
        # module-scoped rules: the body's stub must stand in, before and after, the same way
        after = done.after
        if after is None:
            after = outermost_functions([[node]])[0]
            if analyse_bodies([after], source, path, rules, text, done.after_asked):
                return None
            done.after = after
        if not all(stands_in(slot, judged.imported, judged.typing) for slot in (before, after)):
            return None
        old_reads, new_reads = reads(before), reads(after)
        if old_reads is None or new_reads is None:
            return None
        if [r.id for r in old_reads] != [r.id for r in new_reads]:
            free = free_differences(judged, old_reads, new_reads)
            if free is None:
                return None
            old_reads = [r for r in old_reads if r.id not in free]
            new_reads = [r for r in new_reads if r.id not in free]
            if [r.id for r in old_reads] != [r.id for r in new_reads]:
                return None
        for rule, hit in before.hits:
            expected[
                (
                    rule.code,
                    hit.line,
                    hit.column,
                    hit.end_line,
                    hit.end_column,
                    hit.message,
                )
            ] += 1
        for old_read, new_read in zip(old_reads, new_reads, strict=True):
            moved[span(old_read, judged.source)] = span(new_read, source)
        fresh += [to_finding(rule, hit, path, config) for rule, hit in after.hits]
        # chunk-local rules: the new def alone, inside a copy of its class, or (nested
        # deeper) over the whole top-level statement that holds it
        if body.top:
            local = done.local
            if local is None:
                local = local_hits(
                    judged,
                    body,
                    [node],
                    change,
                    source,
                    path,
                    rules,
                    text,
                    imports_now,
                    seed,
                    done.local_asked,
                )
                done.local = local
        else:
            local = local_hits_in_chunk(
                judged, change, changes, new, source, path, rules, text, imports_now, seed, scoped_codes
            )
        if local is None:
            return None
        fresh += [to_finding(rule, hit, path, config) for rule, hit in local]

    findings: list[Finding] = []
    firsts = [c.body.first for c in changes]
    for finding in judged.report.findings:
        line = finding.range.start.line
        at = bisect.bisect_right(firsts, line) - 1
        around = changes[at] if at >= 0 and line <= changes[at].body.end else None
        if around is not None and at in proven:
            removed = proven[at]
            if finding is removed.target:
                continue  # the binding that went
            moving = removed.moved(finding, around.offset)
            if moving is None:
                return None
            findings.append(moving)
            continue
        if around is not None and line >= around.body.start:
            if finding.code not in scoped_codes:
                continue  # a chunk-local finding of the part: found again above
            if around.body.node is None:
                if any(within(finding.range, place) for place in gone):
                    continue  # a removed import's (its name is no word of the fixed text)
                moving = moved_with_statement(finding, same, changes, firsts) or moved_alias(
                    finding, aliased, changes, firsts
                )
                if moving is None:
                    return None  # a finding of an import that changed: its place may move
                findings.append(moving)
                continue
            key = (finding.code, line, finding.range.start.column, finding.range.end.line,
                   finding.range.end.column, finding.message)  # fmt: skip
            if expected[key] > 0:
                expected[key] -= 1  # the body's own, found again on the new body
                continue
            place = moved.get(range_key(finding.range))
            if place is None or finding.related:
                return None
            findings.append(replace(finding, range=Range.of(*place), fingerprint=""))
            continue
        if around is not None and finding.code not in scoped_codes:
            continue  # a chunk-local finding on the def's header: found again above
        if around is not None and around.header:
            place = moved.get(range_key(finding.range))
            if place is None or finding.related:
                return None  # a finding on a changed signature, not at a read
            findings.append(replace(finding, range=Range.of(*place), fingerprint=""))
            continue
        shifted = shifted_finding(finding, changes, firsts)
        if shifted is None:
            return None
        findings.append(shifted)
    if any(expected.values()):
        return None  # the alone analysis found what the judged report does not hold
    findings += fresh
    findings.sort(key=lambda f: (f.range.start, f.code))
    if ties(findings, changes):
        return None
    names = enclosing_names(judged, findings, changes, defs, proven)
    findings = with_fingerprints(findings, names, source, path)
    return Report(path, tuple(findings), False, (), {"total": time.perf_counter() - started})


def _clear_of_suppressions(judged: Judged, text: str, lines: list[str], changes: list[Change]) -> bool:
    """Whether no suppression comment lies in a changed part, old or new: then the judged
    report's suppressions (and RUF100's judgement of them) hold outside, and the parts'
    findings are suppressed by none."""
    old = judged.suppressed
    if any(any(c.body.first <= line <= c.body.end for line in old) for c in changes):
        return False
    if not any("#" in line for c in changes for line in lines[c.new_first - 1 : c.new_end]):
        return True  # no comment in the new parts (every directive starts with `#`)
    found = parse_suppressions(text)
    return not any(any(c.new_first <= line <= c.new_end for line in found) for c in changes)
