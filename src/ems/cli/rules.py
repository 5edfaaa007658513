"""``ems rules`` lists every rule; ``ems rule CODE`` explains one."""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    listing = subparsers.add_parser("rules", help="list every rule")
    listing.add_argument("--format", choices=("text", "json"), default="text")
    listing.set_defaults(run=run_list)
    single = subparsers.add_parser("rule", help="explain one rule")
    single.add_argument("code", metavar="CODE")
    single.add_argument("--format", choices=("text", "json"), default="text")
    single.set_defaults(run=run_rule)


def run_list(args: argparse.Namespace) -> int:
    from ems.core.registry import load_rules

    ruleset = load_rules()
    if args.format == "json":
        rows = [
            {
                "code": r.code,
                "name": r.name,
                "severity": r.severity.value,
                "summary": r.summary,
                "fix": r.fix_safety.value if r.fix_safety else None,
                "origin": ruleset.origin(r.code),
                "url": r.url(),
            }
            for r in ruleset.rules
        ]
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return 0
    lines = [f"{'CODE':<8} {'FIX':<7} {'SEVERITY':<8} NAME — SUMMARY"]
    for r in ruleset.rules:
        fix = r.fix_safety.value if r.fix_safety else "-"
        origin = "" if ruleset.origin(r.code) == "builtin" else f" (from {ruleset.origin(r.code)})"
        lines.append(f"{r.code:<8} {fix:<7} {r.severity.value:<8} {r.name} — {r.summary}{origin}")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def run_rule(args: argparse.Namespace) -> int:
    from ems.core.registry import load_rules
    from ems.core.rule import explain

    ruleset = load_rules()
    rule = ruleset.get(args.code)
    if rule is None:
        sys.stderr.write(f"ems: error: unknown rule {args.code!r}; `ems rules` lists them\n")
        return 2
    if args.format == "json":
        data = {
            "code": rule.code,
            "name": rule.name,
            "severity": rule.severity.value,
            "summary": rule.summary,
            "explanation": rule.explanation,
            "fix": {"title": rule.fix_title, "safety": rule.fix_safety.value} if rule.fix_safety else None,
            "valid": [v.code for v in rule.valid],
            "invalid": [{"code": i.code, "fixed": i.fixed} for i in rule.invalid],
            "url": rule.url(),
        }
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return 0
    sys.stdout.write(explain(rule) + "\n")
    return 0
