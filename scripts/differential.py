"""Differential check: ems against ruff (and pyflakes) on the standard library.

Findings are matched by (path, line, code). For every code that ems and the reference
both implement, precision = shared / ems findings and recall = shared / reference findings.
Run ``python scripts/differential.py`` for the table, ``--diff F401`` to list the
disagreements for one code (the way to find a semantic gap).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

RUFF_CODES = ("F401", "F811", "F821", "F841", "F541", "F632", "F601", "E711", "E712", "E722")
SKIPPED_DIRS = frozenset({"test", "tests", "idle_test", "site-packages", "__pycache__", "dist-packages"})

Key = tuple[str, int, str]  # (absolute path, line, code)

PYFLAKES_MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), code)
    for pattern, code in (
        (r"imported but unused", "F401"),
        (r"redefinition of unused", "F811"),
        (r"undefined name (?!.* in __all__)", "F821"),
        (r"local variable .* is assigned to but never used", "F841"),
        (r"f-string is missing placeholders", "F541"),
        (r"use ==/!= to compare constant literals", "F632"),
        (r"dictionary key .* repeated with different values", "F601"),
        (r"shadowed by loop variable", "F402"),
    )
)


@dataclass(frozen=True)
class Score:
    code: str
    ems: int
    reference: int
    shared: int

    @property
    def precision(self) -> float:
        return self.shared / self.ems if self.ems else 1.0

    @property
    def recall(self) -> float:
        return self.shared / self.reference if self.reference else 1.0


def stdlib_root() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def stdlib_files(root: Path | None = None) -> list[Path]:
    """The standard library's own modules: no test suites, no site-packages.

    Files that do not parse are dropped later, when ems reports a syntax error for them
    (parsing every file twice would cost seconds)."""
    root = root or stdlib_root()
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        for name in sorted(files):
            path = Path(folder) / name
            if name.endswith(".py") and path.is_file():
                found.append(path.resolve())
    return found


def _ems_one(args: tuple[str, tuple[str, ...]]) -> tuple[str, list[Key], dict[Key, int], bool]:
    from ems.core import Config, analyse

    path, codes = args
    report = analyse(Path(path).read_bytes(), path, Config(select=codes))
    keys: list[Key] = []
    statements: dict[Key, int] = {}
    for finding in report.findings:
        if finding.code in codes:
            key = (path, finding.line, finding.code)
            keys.append(key)
            if finding.datum("statement_line"):
                statements[key] = int(finding.datum("statement_line"))
    return path, keys, statements, not report.syntax_error


def ems_codes() -> frozenset[str]:
    from ems.core import load_rules

    return frozenset(load_rules().codes)


@dataclass
class EmsRun:
    findings: set[Key]
    broken: set[str]  # files ems could not parse: left out everywhere
    statement_lines: dict[Key, int]  # F401: the import statement's first line (pyflakes' line)


def run_ems(files: Sequence[Path], codes: Iterable[str], jobs: int = 2) -> EmsRun:
    """ems findings, analysed in ``jobs`` processes."""
    selected = tuple(sorted(set(codes) & ems_codes()))
    work = [(str(p), selected) for p in files]
    run = EmsRun(set(), set(), {})
    if jobs <= 1:
        _collect(run, map(_ems_one, work))
        return run
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        _collect(run, pool.map(_ems_one, work, chunksize=4))
    return run


def _collect(run: EmsRun, results: Iterable[tuple[str, list[Key], dict[Key, int], bool]]) -> None:
    for path, keys, statements, ok in results:
        run.findings.update(keys)
        run.statement_lines.update(statements)
        if not ok:
            run.broken.add(path)


def ruff_command(files: Sequence[Path], codes: Iterable[str]) -> list[str]:
    ruff = Path(sys.executable).with_name("ruff")
    exe = str(ruff) if ruff.exists() else "ruff"
    return [
        exe, "check", "--no-cache", "--select", ",".join(codes),
        "--output-format", "json", "--isolated", "--exit-zero", *map(str, files),
    ]  # fmt: skip


def run_ruff(files: Sequence[Path], codes: Iterable[str] = RUFF_CODES) -> tuple[set[Key], set[str]]:
    codes = tuple(codes)
    out = subprocess.run(ruff_command(files, codes), capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"ruff failed ({out.returncode}): {out.stderr[-2000:]}")
    found = {
        (str(Path(d["filename"]).resolve()), d["location"]["row"], d["code"])
        for d in json.loads(out.stdout or "[]")
        if d.get("code") in codes
    }
    return found, ruff_failures(out.stderr)


def ruff_failures(stderr: str) -> set[str]:
    """Files ruff could not lint (e.g. it insists on UTF-8 where a coding cookie says
    otherwise): they are left out of the comparison on every side."""
    return {str(Path(m).resolve()) for m in re.findall(r"Failed to lint (.+?): ", stderr)}


def start_pyflakes(files: Sequence[Path]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pyflakes", *map(str, files)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def parse_pyflakes(output: str) -> set[Key]:
    """``path:line:col: message`` lines, mapped to codes (unknown messages dropped)."""
    found: set[Key] = set()
    for line in output.splitlines():
        match = re.match(r"^(.*?):(\d+):(?:\d+:)? (.*)$", line)
        if not match:
            continue
        path, row, message = match.groups()
        for pattern, code in PYFLAKES_MESSAGES:
            if pattern.search(message):
                found.add((str(Path(path).resolve()), int(row), code))
                break
    return found


# --------------------------------------------------------------------------- divergences
# Places where ems and ruff disagree on purpose. Each is a predicate over one reference
# finding; matching findings are left out of the "adjusted" scores (and counted), so the
# thresholds test what ems means to do while the raw table keeps every disagreement visible.


def _tree(path: str) -> ast.Module | None:
    try:
        return ast.parse(Path(path).read_bytes(), filename=path)
    except (SyntaxError, ValueError, OSError):
        return None


def _all_mutation_names(tree: ast.Module) -> set[str]:
    """Names a module adds to ``__all__`` with ``__all__.extend([...])`` / ``.append("x")``."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "__all__"
            and node.func.attr in ("extend", "append")
            and node.args
        ):
            arg = node.args[0]
            values = arg.elts if isinstance(arg, (ast.List, ast.Tuple)) else [arg]
            names.update(v.value for v in values if isinstance(v, ast.Constant) and isinstance(v.value, str))
    return names


def exported_by_all_mutation(path: str, line: int, code: str) -> bool:
    """ruff 0.17 honours ``__all__ += [...]`` but not ``__all__.extend/append``: an import
    exported that way is still "unused" to ruff. ems counts it as exported."""
    if code != "F401":
        return False
    tree = _tree(path)
    if tree is None:
        return False
    exported = _all_mutation_names(tree)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.lineno == line and (alias.asname or alias.name).split(".")[0] in exported:
                    return True
    return False


DIVERGENCES = (exported_by_all_mutation,)


def explained(reference_only: Iterable[Key]) -> dict[Key, str]:
    """The reference-only findings that a documented divergence accounts for."""
    found: dict[Key, str] = {}
    for key in reference_only:
        for predicate in DIVERGENCES:
            if predicate(*key):
                found[key] = predicate.__name__
                break
    return found


def score(ems: set[Key], reference: set[Key], codes: Iterable[str]) -> list[Score]:
    scores = []
    for code in codes:
        mine = {k for k in ems if k[2] == code}
        theirs = {k for k in reference if k[2] == code}
        scores.append(Score(code, len(mine), len(theirs), len(mine & theirs)))
    return scores


@dataclass
class Comparison:
    files: int
    codes: tuple[str, ...]
    ems: set[Key]
    ruff: set[Key]
    pyflakes: set[Key] | None
    seconds: dict[str, float]
    statement_lines: dict[Key, int] = field(default_factory=dict)

    def against_ruff(self) -> list[Score]:
        return score(self.ems, self.ruff, self.codes)

    def ruff_divergences(self) -> dict[Key, str]:
        return explained(self.ruff - self.ems) | explained(self.ems - self.ruff)

    def against_ruff_adjusted(self) -> list[Score]:
        """Scores with the documented, intentional divergences left out of both sides."""
        skip = set(self.ruff_divergences())
        return score(self.ems - skip, self.ruff - skip, self.codes)

    def against_pyflakes(self) -> list[Score]:
        if self.pyflakes is None:
            return []
        known = {code for _, code in PYFLAKES_MESSAGES}
        return score(self.ems_at_pyflakes_lines(), self.pyflakes, [c for c in self.codes if c in known])

    def ems_at_pyflakes_lines(self) -> set[Key]:
        """ems findings placed where pyflakes puts them: an unused import at the first line
        of its statement, not at the name (ems and ruff)."""
        return {(p, self.statement_lines.get((p, line, code), line), code) for p, line, code in self.ems}


def compare(files: Sequence[Path] | None = None, *, jobs: int = 2, with_pyflakes: bool = True) -> Comparison:
    """Run all three tools over ``files`` (default: the stdlib) and collect their findings."""
    files = list(files) if files is not None else stdlib_files()
    codes = tuple(c for c in RUFF_CODES if c in ems_codes())
    seconds: dict[str, float] = {}
    pyflakes = start_pyflakes(files) if with_pyflakes else None
    started = time.perf_counter()
    ruff, failed = run_ruff(files)
    seconds["ruff"] = time.perf_counter() - started
    started = time.perf_counter()
    run = run_ems(files, codes, jobs)
    ems, broken = run.findings, run.broken
    seconds["ems"] = time.perf_counter() - started
    excluded = failed | broken
    files = [f for f in files if str(f) not in excluded]
    ems = {k for k in ems if k[0] not in excluded}
    ruff = {k for k in ruff if k[0] not in excluded}
    flakes: set[Key] | None = None
    if pyflakes is not None:
        output, _ = pyflakes.communicate()
        flakes = {k for k in parse_pyflakes(output) if k[0] not in excluded}
    return Comparison(len(files), codes, ems, ruff, flakes, seconds, run.statement_lines)


def table(comparison: Comparison) -> str:
    lines = [
        f"{comparison.files} files; ems {comparison.seconds.get('ems', 0):.1f}s, "
        f"ruff {comparison.seconds.get('ruff', 0):.1f}s",
        "",
        "| code | ems | ruff | both | precision | recall | adj. precision | adj. recall "
        "| pyflakes | both | precision | recall |",
        "|------|----:|-----:|-----:|----------:|-------:|---------------:|------------:"
        "|---------:|-----:|----------:|-------:|",
    ]
    flakes = {s.code: s for s in comparison.against_pyflakes()}
    adjusted = {s.code: s for s in comparison.against_ruff_adjusted()}
    for s in comparison.against_ruff():
        a = adjusted[s.code]
        p = flakes.get(s.code)
        extra = f"{p.reference} | {p.shared} | {p.precision:.4f} | {p.recall:.4f}" if p else "– | – | – | –"
        lines.append(
            f"| {s.code} | {s.ems} | {s.reference} | {s.shared} | {s.precision:.4f} | {s.recall:.4f} "
            f"| {a.precision:.4f} | {a.recall:.4f} | {extra} |"
        )
    divergences = comparison.ruff_divergences()
    if divergences:
        lines += ["", "Documented divergences left out of the adjusted scores:"]
        for (path, line, code), why in sorted(divergences.items()):
            lines.append(f"  {code} {path}:{line}  ({why})")
    return "\n".join(lines)


def diff(comparison: Comparison, code: str, reference: str = "ruff", limit: int = 50) -> str:
    ref = comparison.ruff if reference == "ruff" else (comparison.pyflakes or set())
    ems = comparison.ems if reference == "ruff" else comparison.ems_at_pyflakes_lines()
    mine = {k for k in ems if k[2] == code}
    theirs = {k for k in ref if k[2] == code}
    out = [f"only ems ({len(mine - theirs)}):"]
    out += [f"  {p}:{line}" for p, line, _ in sorted(mine - theirs)[:limit]]
    out.append(f"only {reference} ({len(theirs - mine)}):")
    out += [f"  {p}:{line}" for p, line, _ in sorted(theirs - mine)[:limit]]
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, help="files to compare (default: the stdlib)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--no-pyflakes", action="store_true")
    parser.add_argument("--diff", metavar="CODE", help="list disagreements for one code")
    parser.add_argument("--reference", choices=("ruff", "pyflakes"), default="ruff")
    args = parser.parse_args(argv)
    files: list[Path] | None = None
    if args.paths:
        files = []
        for path in args.paths:
            files.extend(stdlib_files(path) if path.is_dir() else [path.resolve()])
    comparison = compare(files, jobs=args.jobs, with_pyflakes=not args.no_pyflakes)
    text = table(comparison)
    if args.diff:
        text += "\n\n" + diff(comparison, args.diff.upper(), args.reference, limit=200)
    sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
