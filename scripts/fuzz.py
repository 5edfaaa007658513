#!/usr/bin/env python3
"""Longer fuzz run of the engine and the fixes (not part of ``make test``).

Takes every stdlib module, mutates it the way edits and broken files do (lines deleted,
duplicated, swapped, re-indented; characters inserted, bytes flipped; the file
truncated; line endings changed) and checks for each input that:

* ``analyse`` never raises, on the text and on the bytes;
* every finding's range lies inside the document;
* every offered fix (``fixes_for``) applies and the result parses;
* ``fix_all`` keeps a parsing file parsing and is idempotent (a second run changes nothing);
* no single analysis takes longer than ``--slow`` seconds (reported, not a failure).

Failing inputs are written to ``.ems/fuzz/`` with the reason, so a failure can be
replayed: ``python scripts/fuzz.py --replay .ems/fuzz/failure-3.py``.

    python scripts/fuzz.py --minutes 10 --seed 1
"""

from __future__ import annotations

import argparse
import random
import sys
import sysconfig
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ems.core import Report, analyse
from ems.core.invariants import parses, position_problems
from ems.fixes import apply_edits, fix_all, fixes_for
from ems.runtime.logsetup import configure_logging

INSERTABLE = [
    "\n", "\r", "\r\n", "\t", "\x0c", " ", "(", ")", "[", "]", "{", ":", '"', "'", '"""', "#", "\\",
    "é", "中", "🙂", "\x00", "\ufeff", "None", "== None", "f'x'", "lambda: ", "import os\n", "async ",
    "yield ", "await ", "*", "**", "@", "->", ":=", "nonlocal x\n", "global y\n", "del ",
]  # fmt: skip
MUTATIONS = ("delete", "duplicate", "swap", "insert", "indent", "dedent", "truncate", "newlines", "flip_byte")
FIX_SIZE_LIMIT = 15_000  # fixes on bigger files cost seconds each (libcst round trips)
FIXES_PER_INPUT = 3


@dataclass
class Summary:
    inputs: int = 0
    bytes_inputs: int = 0
    findings: int = 0
    syntax_errors: int = 0
    fixes_checked: int = 0
    fix_all_runs: int = 0
    fixes_applied: int = 0
    slow: list[tuple[float, str]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    mutations: Counter[str] = field(default_factory=Counter)
    max_seconds: float = 0.0  # slowest single analysis
    max_input_seconds: float = 0.0  # slowest input: analysis, fixes and fix_all twice


def mutate(text: str, rng: random.Random, summary: Summary) -> str:
    lines = text.splitlines(keepends=True)
    for _ in range(rng.randint(1, 6)):
        kind = rng.choice(MUTATIONS)
        summary.mutations[kind] += 1
        if not lines:
            break
        index = rng.randrange(len(lines))
        if kind == "delete":
            del lines[index]
        elif kind == "duplicate":
            lines.insert(index, lines[index])
        elif kind == "swap":
            other = rng.randrange(len(lines))
            lines[index], lines[other] = lines[other], lines[index]
        elif kind == "insert":
            at = rng.randint(0, len(lines[index]))
            lines[index] = lines[index][:at] + rng.choice(INSERTABLE) + lines[index][at:]
        elif kind == "indent":
            lines[index] = rng.choice(["    ", "\t", " "]) + lines[index]
        elif kind == "dedent":
            lines[index] = lines[index].lstrip()
        elif kind == "truncate":
            joined = "".join(lines)
            lines = joined[: rng.randint(0, len(joined))].splitlines(keepends=True)
        elif kind == "newlines":
            newline = rng.choice(["\r\n", "\r", "\n"])
            lines = [line.rstrip("\r\n") + newline if line.endswith(("\n", "\r")) else line for line in lines]
    return "".join(lines)


def flip_bytes(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return bytes([rng.randrange(256)])
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        buf[rng.randrange(len(buf))] = rng.randrange(256)
    return bytes(buf)


def check_positions(report: Report, source: str | bytes) -> None:
    problems = position_problems(report, source)
    if problems:
        raise AssertionError(problems[0])


def check_text(text: str, summary: Summary, slow: float, label: str) -> None:
    started = time.perf_counter()
    report = analyse(text, "fuzz.py")
    elapsed = time.perf_counter() - started
    summary.max_seconds = max(summary.max_seconds, elapsed)
    if elapsed > slow:
        summary.slow.append((elapsed, label))
    summary.findings += len(report.findings)
    summary.syntax_errors += report.syntax_error
    check_positions(report, text)
    if len(text) > FIX_SIZE_LIMIT:
        return
    for finding in report.fixable[:FIXES_PER_INPUT]:
        fix = fixes_for(text, finding, "fuzz.py", report=report)
        summary.fixes_checked += 1
        if fix is not None and not parses(apply_edits(text, fix.edits)):
            raise AssertionError(f"the offered fix for {finding.code} at line {finding.line} does not parse")
    if report.fixable:
        once = fix_all(text, "fuzz.py", unsafe=True)
        summary.fix_all_runs += 1
        summary.fixes_applied += len(once.applied)
        if not report.syntax_error and not parses(once.text):
            raise AssertionError("fix_all broke a file that parsed")
        twice = fix_all(once.text, "fuzz.py", unsafe=True)
        if twice.text != once.text:
            raise AssertionError(f"fix_all is not idempotent: second run applied {twice.applied}")


def check_bytes(data: bytes, summary: Summary) -> None:
    report = analyse(data, "fuzz.py")
    summary.bytes_inputs += 1
    check_positions(report, data)


def record_failure(out: Path, source: str | bytes, reason: str, summary: Summary) -> None:
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"failure-{len(summary.failures) + 1}.py"
    target.write_bytes(source if isinstance(source, bytes) else source.encode("utf-8", "surrogatepass"))
    target.with_suffix(".txt").write_text(reason, encoding="utf-8")
    summary.failures.append(f"{target}: {reason.strip().splitlines()[-1]}")


def run(args: argparse.Namespace) -> Summary:
    rng = random.Random(args.seed)
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    modules = sorted(p for p in stdlib.glob("*.py") if p.stat().st_size <= args.max_size)
    texts = [m.read_text(encoding="utf-8", errors="surrogateescape") for m in modules]
    summary = Summary()
    deadline = time.monotonic() + args.minutes * 60
    out = Path(args.out)
    while time.monotonic() < deadline and (args.examples is None or summary.inputs < args.examples):
        index = rng.randrange(len(texts))
        text = mutate(texts[index], rng, summary)
        label = f"{modules[index].name} (input {summary.inputs + 1})"
        summary.inputs += 1
        started = time.perf_counter()
        flipped = flip_bytes(text.encode("utf-8", "surrogateescape"), rng)
        try:
            check_text(text, summary, args.slow, label)
        except Exception:
            record_failure(out, text, traceback.format_exc(), summary)
        try:
            check_bytes(flipped, summary)
        except Exception:
            record_failure(out, flipped, traceback.format_exc(), summary)  # the bytes that failed
        summary.max_input_seconds = max(summary.max_input_seconds, time.perf_counter() - started)
    return summary


def report_text(summary: Summary, args: argparse.Namespace, seconds: float) -> str:
    lines = [
        f"ems fuzz: seed {args.seed}, {seconds:.0f} s, Python {sys.version.split()[0]}",
        f"  inputs: {summary.inputs} mutated texts + {summary.bytes_inputs} byte-flipped variants",
        f"  findings: {summary.findings} ({summary.syntax_errors} inputs with E999)",
        f"  fixes checked one by one: {summary.fixes_checked}; fix_all runs: {summary.fix_all_runs} "
        f"({summary.fixes_applied} fixes applied, each run repeated for idempotence)",
        f"  slowest analysis: {summary.max_seconds:.2f} s; over {args.slow:g} s: {len(summary.slow)}; "
        f"slowest input with its fixes: {summary.max_input_seconds:.1f} s",
        f"  mutations: {', '.join(f'{k} {v}' for k, v in sorted(summary.mutations.items()))}",
        f"  failures: {len(summary.failures)}",
    ]
    lines += [f"    {failure}" for failure in summary.failures[:20]]
    lines += [f"    slow: {s:.2f} s {label}" for s, label in sorted(summary.slow, reverse=True)[:5]]
    return "\n".join(lines) + "\n"


def replay(path: Path) -> int:
    data = path.read_bytes()
    summary = Summary()
    try:
        check_text(data.decode("utf-8", "surrogateescape"), summary, 1e9, path.name)
        check_bytes(data, summary)
    except Exception:
        traceback.print_exc()
        return 1
    print(f"{path}: all properties hold")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="time budget (default 5)")
    parser.add_argument("--examples", type=int, default=None, help="stop after this many inputs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-size", type=int, default=120_000, help="skip stdlib modules larger than this")
    parser.add_argument("--slow", type=float, default=2.0, help="report analyses slower than this (s)")
    parser.add_argument("--out", default=".ems/fuzz", help="where failing inputs are written")
    parser.add_argument("--replay", type=Path, help="re-check one saved input and exit")
    args = parser.parse_args(argv)
    if args.replay:
        return replay(args.replay)
    configure_logging(Path.cwd(), "WARNING", name="fuzz")  # dropped-fix notes go to .ems/logs
    started = time.monotonic()
    summary = run(args)
    sys.stdout.write(report_text(summary, args, time.monotonic() - started))  # one write
    return 1 if summary.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
