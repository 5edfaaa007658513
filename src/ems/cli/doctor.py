"""``ems doctor``: is this project's ems healthy? Exits 1 when a check is red.

The checks are ``ems.runtime.health``'s (the dashboard's Monitor page shows the same):
store, cache, logs, disk, the live processes' heartbeats and memory, restarts and rule
errors in the last hour, plug-ins, git and Python.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

SYMBOLS = {"green": "ok  ", "amber": "warn", "red": "FAIL"}
COLOURS = {"green": "\033[32m", "amber": "\033[33m", "red": "\033[31m"}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="check the health of ems in a project (store, cache, logs, processes, plug-ins...)",
        description="Run ems's health checks on a project; exit 1 if any is red.",
    )
    parser.add_argument("path", nargs="?", default=".", metavar="PATH", help="project folder (default: .)")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    parser.add_argument("--store", type=Path, metavar="FILE", help="the store file (default: .ems/ems.db)")
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ems.cli.common import wants_colour
    from ems.runtime.health import RED, run_checks, worst
    from ems.runtime.root import project_root

    path = Path(args.path)
    if not path.exists():
        sys.stderr.write(f"ems doctor: error: {path} does not exist\n")
        return 2
    root = project_root(path)
    checks = run_checks(root, args.store)
    overall = worst(checks)
    if args.format == "json":
        payload = {"root": str(root), "status": overall, "checks": [c.as_dict() for c in checks]}
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    else:
        colour = wants_colour(sys.stdout, args.color)
        lines = [f"ems doctor: {root}"]
        for check in checks:
            mark = SYMBOLS[check.status]
            if colour:
                mark = f"{COLOURS[check.status]}{mark}\033[0m"
            lines.append(f"  {mark}  {check.name:<12} {check.reason}")
            if check.status != "green" and check.remedy:
                lines.append(f"        {'':<12} -> {check.remedy}")
        lines.append(f"overall: {overall}")
        sys.stdout.write("\n".join(lines) + "\n")
    return 1 if overall == RED else 0
