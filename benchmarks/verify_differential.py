"""Differential check of verification's cheap analyses: every report the fix engine takes
from ``ems.fixes.verifybody`` (a body at a time) or ``ems.fixes.reanalyse`` (the original's
tree) while judging fixability is compared with ``analyse`` of the same text.

Usage (from the repository, with the project's venv):

    .venv/bin/python benchmarks/verify_differential.py DIR [--select F,E9]

Runs ``ems check DIR --no-cache --jobs 1`` (one process, so every judgement passes through
here) and prints how many fixed texts each way answered and how many differed from the full
analysis (exit status 1 when any did). Issue 18's figures in
docs/implementation/performance.md ("Stop 16: judging fixability") come from this script.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from typing import Any

from ems.core.analyse import analyse
from ems.core.model import Finding, Report
from ems.fixes import engine


def _key(report: Report) -> tuple[object, ...]:
    return (
        report.path,
        report.syntax_error,
        report.rule_errors,
        [_fields(f) for f in report.findings],
    )


def _fields(f: Finding) -> tuple[object, ...]:
    first = (f.code, f.name, f.severity, f.message, f.range, f.related, f.fingerprint)
    return (*first, f.data, f.fixable, f.template, f.tags, f.path, f.fixability)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n\n")[0])
    parser.add_argument("path")
    parser.add_argument("--select", default=None)
    args = parser.parse_args(argv)
    counts: Counter[str] = Counter()
    differing: list[str] = []

    def checked(name: str, cheap: Any) -> Any:
        def wrapper(source: Any, text: str, path: str, config: Any, ruleset: Any) -> Report | None:
            got = cheap(source, text, path, config, ruleset)
            if got is None:
                counts[f"{name} declined"] += 1
                return None
            counts[f"{name} taken"] += 1
            if _key(got) != _key(analyse(text, path, config, ruleset)):
                differing.append(f"{name}: {path}")
            return got

        return wrapper

    engine.in_bodies = checked("verifybody", engine.in_bodies)  # type: ignore[assignment]
    engine.reanalyse = checked("reanalyse", engine.reanalyse)  # type: ignore[assignment]
    from ems.cli.main import main as ems

    command = ["check", args.path, "--no-cache", "--exit-zero", "--jobs", "1", "--format", "json"]
    if args.select:
        command += ["--select", args.select]
    stdout = sys.stdout
    try:
        with open("/dev/null", "w") as sink:
            sys.stdout = sink
            ems(command)
    except SystemExit:
        pass
    finally:
        sys.stdout = stdout
    for name in sorted(counts):
        print(f"{name}: {counts[name]}")
    print(f"differences: {len(differing)}")
    for line in differing:
        print(f"  {line}")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
