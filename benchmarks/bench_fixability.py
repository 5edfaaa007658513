"""Cost of judging fixability (what a cold ``ems check`` adds for files with a fix offer),
with libcst on slices (``ems.fixes.slices``) and on whole files, and whether both give the
same answers.

    .venv/bin/python benchmarks/bench_fixability.py /usr/lib/python3.11 [--compare]

Prints the CPU seconds of ``with_fixability`` over every file with an offer, sliced and
whole, next to one plain analysis of the same files. With ``--compare`` it also runs
``fix_all`` (safe and unsafe) both ways and lists every file whose result differs.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

from ems.core import Config, analyse, load_rules
from ems.core.model import Report
from ems.fixes import engine


def _files(root: Path) -> list[tuple[str, str, Report]]:
    config, ruleset = Config(), load_rules()
    found = []
    for path in sorted(root.rglob("*.py")):
        if {".git", "site-packages", "dist-packages"} & set(path.parts):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        report = analyse(text, str(path), config, ruleset)
        if not report.syntax_error and any(f.fixable for f in report.findings):
            found.append((str(path), text, report))
    return found


def _answers(path: str, text: str, report: Report) -> tuple[object, ...]:
    config, ruleset = Config(), load_rules()
    runs = [
        engine.fix_all(text, path, config, unsafe=u, ruleset=ruleset, report=report) for u in (False, True)
    ]
    judged = engine.with_fixability(text, path, config, ruleset, report)
    return (
        *((r.text, r.applied, r.failures, r.fixed, r.withheld) for r in runs),
        tuple(f.fixability for f in judged.findings),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--compare", action="store_true", help="also compare the answers file by file")
    args = parser.parse_args()
    files = _files(args.root)
    config, ruleset = Config(), load_rules()
    import libcst  # noqa: F401 - imported once, outside the timed runs

    sliced = engine._places
    modes: dict[str, Callable[..., tuple[object, ...]]] = {"slices": sliced, "whole files": lambda *_: ()}
    for name, places in modes.items():
        engine._places = places  # type: ignore[assignment]
        started = time.process_time()
        for path, text, report in files:
            engine.with_fixability(text, path, config, ruleset, report)
        print(f"{name:12} {len(files)} files: {time.process_time() - started:.2f} s CPU")
    engine._places = sliced
    started = time.process_time()
    for path, text, _ in files:
        analyse(text, path, config, ruleset)
    print(
        f"{'analysis':12} {len(files)} files: {time.process_time() - started:.2f} s CPU (one plain analysis)"
    )
    if args.compare:
        differ = 0
        for path, text, report in files:
            engine._places = sliced
            on_slices = _answers(path, text, report)
            engine._places = modes["whole files"]  # type: ignore[assignment]
            whole = _answers(path, text, report)
            engine._places = sliced
            if on_slices != whole:
                differ += 1
                print("differs:", path)
        print(f"{differ} of {len(files)} files differ")


if __name__ == "__main__":
    main()
