"""Fix safety audit: every fix, under narrow selections, on real code.

Usage (from the repository, with the project's venv):

    .venv/bin/python benchmarks/fix_audit.py CORPUS
    .venv/bin/python benchmarks/fix_audit.py /tmp/sd/click-8.1.7 --import-root src \\
        --python /path/to/venv-with-clicks-deps/bin/python
    .venv/bin/python benchmarks/fix_audit.py CORPUS --codes F401,EMS106 --no-pairs

What ems says must be what ems does: a safe fix never breaks an import, and no fix writes
a file that does not parse, under any ``--select``. Verification judges a fix by the
findings of the selected rules (and the guard rules, ``engine.verifying``), so a narrow
selection is where a fix has the fewest eyes on it. For each fixable rule alone
(``--select CODE``) and for the pairs of rules whose fixes interact (``PAIRS``: F401 with
the fixes that start using a name, ...), in both modes (``ems fix`` and ``ems fix
--unsafe-fixes``), on a fresh copy of the corpus, it runs ``ems fix --no-cache --select
...``, then checks every file the fix changed:

* it parses (``ast.parse``) and compiles (``compile``: what ``symtable`` refuses too);
* it has no F821, F811 or E999 finding its original did not have (``ems`` itself, by code
  and message: all rules would report the same for these codes);
* safe mode only: when the file is a module under an import root (``--import-root``,
  default the corpus root) that imported in the original corpus, it still imports, in a
  subprocess of ``--python`` (default this interpreter) with a time-out (``--timeout``).
  Modules the interpreter loads at start-up, ``__main__`` modules and a few with side
  effects (``SKIPPED_MODULES``) are not imported.

A rule with no finding on the corpus is skipped (its table row says so): an ``ems check``
of the original for the fixable rules comes first. It prints a table (per case and mode:
files changed, fixes applied, files broken) and each breaking case's first breakage with
its diff; ``--json FILE`` keeps everything. Exit status 1 when something broke.

The copies live under ``--work`` (default ``<tmp>/ems-fix-audit``) and are removed as it
goes (``--keep`` keeps them). The corpus is never written. It runs ``ems fix`` once per
case and mode over the whole corpus (the re-export index of F401 needs all of it):
``--codes`` narrows it on a slow machine.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

# Rules whose fixes interact when applied in one pass: F401 removes an import a fix that
# starts using a name may need (EMS106: `field`, EMS104: `timezone`), or one that F811's
# fix removes too; EMS102 removes code (and the uses in it); EMS105 leaves `as e` unused
# (F841); E731 turns an assignment into a def (F811).
PAIRS = (
    ("F401", "EMS106"),
    ("F401", "EMS104"),
    ("F401", "F811"),
    ("F401", "EMS102"),
    ("F841", "EMS105"),
    ("E731", "F811"),
)
GUARDS = ("F821", "F811", "E999")
# Importing these does something (opens a browser, runs a program, builds a package).
SKIPPED_MODULES = frozenset({"antigravity", "this", "setup", "noxfile", "conftest", "idlelib.idle"})
IMPORT_PROBE = (
    "import importlib, sys\n"
    "root, name = sys.argv[1], sys.argv[2]\n"
    "sys.path.insert(0, root)\n"
    "if name in sys.modules:\n"
    "    print('PRELOADED'); raise SystemExit(0)\n"
    "module = importlib.import_module(name)\n"
    "print('FILE', getattr(module, '__file__', None))\n"
)


@dataclass
class Breakage:
    path: str
    reason: str
    diff: str


@dataclass
class Outcome:
    codes: tuple[str, ...]
    mode: str  # "safe" or "unsafe"
    files_changed: int = 0
    fixes: int = 0
    imports_checked: int = 0
    breakages: list[Breakage] = field(default_factory=list)
    seconds: float = 0.0
    skipped: str = ""  # why the case did not run
    error: str = ""  # ems fix's exit status 2 or a crash


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--codes", help="only these fixable rules (comma-separated); default every one")
    parser.add_argument("--no-pairs", action="store_true", help="rules alone only")
    parser.add_argument("--modes", default="safe,unsafe", help="safe, unsafe or both (default)")
    parser.add_argument("--import-root", action="append", default=None, help="relative to CORPUS (repeat)")
    parser.add_argument("--python", default=sys.executable, help="interpreter for the import checks")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per import (default 30)")
    parser.add_argument("--jobs", default="2", help="ems fix --jobs (default 2)")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "ems-fix-audit")
    parser.add_argument("--keep", action="store_true", help="keep each case's fixed copy")
    parser.add_argument("--json", type=Path, help="write every outcome here")
    args = parser.parse_args(argv)
    corpus = args.corpus.resolve()
    if not corpus.is_dir():
        parser.error(f"{corpus}: not a folder")
    audit = Audit(corpus, args)
    started = time.perf_counter()
    outcomes = audit.run()
    print_table(outcomes)
    print(f"\n{len(outcomes)} runs in {time.perf_counter() - started:.0f} s; corpus {corpus}")
    if args.json:
        args.json.write_text(json.dumps([asdict(o) for o in outcomes], indent=1), encoding="utf-8")
    return 1 if any(o.breakages or o.error for o in outcomes) else 0


class Audit:
    def __init__(self, corpus: Path, args: argparse.Namespace) -> None:
        self.corpus, self.args = corpus, args
        self.ems = _ems_command()
        self.roots = [corpus / r for r in (args.import_root or ["."])]
        self.originals = {
            str(p.relative_to(corpus)): p.read_bytes()
            for p in sorted(corpus.rglob("*.py"))
            if _kept(p, corpus)
        }
        self.imported_before: dict[str, bool] = {}  # module name -> it imported from the corpus
        self.guards_before: dict[str, Counter[tuple[str, str]]] = {}

    def run(self) -> list[Outcome]:
        from ems.core.registry import load_rules

        rules = load_rules()
        fixable = [r.code for r in rules.rules if r.has_fix()]
        wanted = [c.strip().upper() for c in self.args.codes.split(",")] if self.args.codes else fixable
        found = self.survey(fixable)
        cases: list[tuple[str, ...]] = [(code,) for code in wanted]
        if not self.args.no_pairs:
            cases += [pair for pair in PAIRS if all(c in wanted for c in pair)]
        modes = [m.strip() for m in self.args.modes.split(",")]
        print(HEADER, flush=True)
        outcomes = []
        for codes in cases:
            for mode in modes:
                if not any(found[c] for c in codes):
                    outcome = Outcome(codes, mode, skipped="no finding in the corpus")
                else:
                    outcome = self.case(codes, mode)
                print(_row(outcome), flush=True)
                outcomes.append(outcome)
        return outcomes

    def survey(self, codes: list[str]) -> Counter[str]:
        """How many findings each fixable rule has on the corpus (one ``ems check``)."""
        copy = self.fresh("survey")
        done = subprocess.run(
            [*self.ems, "check", ".", "--no-cache", "--exit-zero", "--format", "json", "--jobs", self.args.jobs,
             "--select", ",".join(codes)],
            cwd=copy, capture_output=True, text=True, check=False,
        )  # fmt: skip
        shutil.rmtree(copy, ignore_errors=True)
        if done.returncode != 0:
            raise SystemExit(f"ems check failed ({done.returncode}): {done.stderr[-2000:]}")
        found = Counter(f["code"] for f in json.loads(done.stdout))
        print("findings:", ", ".join(f"{c} {found[c]}" for c in codes if found[c]) or "none", flush=True)
        return found

    def fresh(self, name: str) -> Path:
        target = self.args.work / name
        shutil.rmtree(target, ignore_errors=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(self.corpus, target, ignore=shutil.ignore_patterns(".ems", "__pycache__", ".git"))
        return target

    def case(self, codes: tuple[str, ...], mode: str) -> Outcome:
        outcome = Outcome(codes, mode)
        copy = self.fresh("-".join(codes) + "-" + mode)
        command = [*self.ems, "fix", ".", "--no-cache", "--jobs", self.args.jobs, "--select", ",".join(codes)]
        if mode == "unsafe":
            command.append("--unsafe-fixes")
        started = time.perf_counter()
        done = subprocess.run(command, cwd=copy, capture_output=True, text=True, check=False)
        outcome.seconds = time.perf_counter() - started
        if done.returncode not in (0, 1):
            outcome.error = f"ems fix exited {done.returncode}: {done.stderr.strip()[-500:]}"
        counted = re.search(r"Fixed (\d+) finding", done.stdout)
        outcome.fixes = int(counted.group(1)) if counted else 0
        for rel, old in self.originals.items():
            path = copy / rel
            new = path.read_bytes() if path.exists() else b""
            if new == old:
                continue
            outcome.files_changed += 1
            reason = self.broken(rel, old, new, copy, mode == "safe", outcome)
            if reason:
                outcome.breakages.append(Breakage(rel, reason, _diff(rel, old, new)))
        if not self.args.keep:
            shutil.rmtree(copy, ignore_errors=True)
        return outcome

    def broken(self, rel: str, old: bytes, new: bytes, copy: Path, safe: bool, outcome: Outcome) -> str:
        """Why the fixed file ``rel`` is broken; "" when it is not."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                ast.parse(new, rel)
            except (SyntaxError, ValueError) as exc:
                return f"does not parse: {exc}"
            try:
                compile(new, rel, "exec", dont_inherit=True)
            except (SyntaxError, ValueError) as exc:
                return f"does not compile: {exc}"
        gained = _guard_findings(new, rel) - self.guards_before.setdefault(rel, _guard_findings(old, rel))
        if gained:
            (code, message), *_ = gained
            return f"new {code}: {message}"
        if safe:
            name = self.module_name(rel)
            if name is not None:
                root = self.root_of(rel)
                if name not in self.imported_before:
                    self.imported_before[name] = self.imports(self.corpus / root, name)[0]
                if self.imported_before[name]:
                    outcome.imports_checked += 1
                    ok, why = self.imports(copy / root, name)
                    if not ok:
                        return f"no longer imports ({name}): {why}"
        return ""

    def root_of(self, rel: str) -> Path:
        for root in self.roots:
            if (self.corpus / rel).is_relative_to(root):
                return root.relative_to(self.corpus)
        raise ValueError(rel)

    def module_name(self, rel: str) -> str | None:
        """``rel``'s module name under its import root; None when it is not importable as
        one (outside every root, a folder without ``__init__.py``, a skipped module)."""
        path = self.corpus / rel
        for root in self.roots:
            if not path.is_relative_to(root):
                continue
            parts = list(path.relative_to(root).with_suffix("").parts)
            folder = root
            for part in parts[:-1]:
                folder = folder / part
                if not (folder / "__init__.py").exists():
                    return None
            if parts[-1] == "__init__":
                parts.pop()
            if not parts or not all(p.isidentifier() for p in parts) or parts[-1] == "__main__":
                return None
            name = ".".join(parts)
            if name in SKIPPED_MODULES or parts[0] in SKIPPED_MODULES:
                return None
            return name
        return None

    def imports(self, root: Path, name: str) -> tuple[bool, str]:
        """Whether module ``name`` imports from ``root`` (its own file, not one loaded
        already or found elsewhere), in a fresh interpreter; with the error when not."""
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSTARTUP")}
        env["PYTHONDONTWRITEBYTECODE"] = "1"  # the corpus is never written (no __pycache__)
        with tempfile.TemporaryDirectory() as cwd:
            try:
                done = subprocess.run(
                    [self.args.python, "-c", IMPORT_PROBE, str(root), name],
                    cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                    timeout=self.args.timeout, check=False,
                )  # fmt: skip
            except subprocess.TimeoutExpired:
                return False, f"timed out after {self.args.timeout:.0f} s"
        if done.returncode != 0:
            lines = done.stderr.strip().splitlines()
            error = lines[-1] if lines else f"exit status {done.returncode}"
            # the innermost frame in the corpus: the module that broke may be another one
            frames = [m.group(1) for m in re.finditer(r'File "([^"]+)", line \d+', done.stderr)]
            inside = [f for f in frames if Path(f).resolve().is_relative_to(root.resolve())]
            if inside:
                error += f" (in {Path(inside[-1]).resolve().relative_to(root.resolve())})"
            return False, error
        found = done.stdout.strip().splitlines()
        if not found or found[-1] == "PRELOADED":
            return False, "loaded at start-up"
        file = found[-1].removeprefix("FILE ")
        if file == "None" or not Path(file).resolve().is_relative_to(root.resolve()):
            return False, f"found elsewhere: {file}"
        return True, ""


def _guard_findings(data: bytes, path: str) -> Counter[tuple[str, str]]:
    from ems.core.analyse import analyse
    from ems.core.config import Config

    report = analyse(data, path, Config(select=GUARDS))
    return Counter((f.code, f.template or f.message) for f in report.findings)


def _kept(path: Path, corpus: Path) -> bool:
    return not any(part in (".ems", "__pycache__", ".git") for part in path.relative_to(corpus).parts)


def _ems_command() -> list[str]:
    script = Path(sys.executable).with_name("ems")
    return [str(script)] if script.exists() else [sys.executable, "-m", "ems"]


def _diff(rel: str, old: bytes, new: bytes, limit: int = 40) -> str:
    lines = list(
        difflib.unified_diff(
            old.decode("utf-8", "replace").splitlines(keepends=True),
            new.decode("utf-8", "replace").splitlines(keepends=True),
            f"a/{rel}",
            f"b/{rel}",
        )
    )
    if len(lines) > limit:
        lines = [*lines[:limit], f"... ({len(lines) - limit} more diff lines)\n"]
    return "".join(lines)


def _row(o: Outcome) -> str:
    case = ",".join(o.codes)
    if o.skipped:
        return f"{case:<14} {o.mode:<7} {'-':>6} {'-':>6} {'-':>8} {'-':>7} {'':>6}  skipped: {o.skipped}"
    note = o.error or (o.breakages[0].reason if o.breakages else "")
    return (
        f"{case:<14} {o.mode:<7} {o.files_changed:>6} {o.fixes:>6} {o.imports_checked:>8} "
        f"{len(o.breakages):>7} {o.seconds:>5.0f}s  {note}"
    )


HEADER = f"{'case':<14} {'mode':<7} {'files':>6} {'fixes':>6} {'imported':>8} {'broken':>7} {'time':>6}  first breakage"


def print_table(outcomes: list[Outcome]) -> None:
    print("\n" + HEADER)
    for outcome in outcomes:
        if not outcome.skipped:
            print(_row(outcome))
    skipped = sorted({",".join(o.codes) for o in outcomes if o.skipped})
    if skipped:
        print(f"skipped (no finding in the corpus): {' '.join(skipped)}")
    for outcome in outcomes:
        if outcome.breakages:
            first = outcome.breakages[0]
            print(
                f"\n--- {','.join(outcome.codes)} ({outcome.mode}): {len(outcome.breakages)} broken; first:"
            )
            print(f"{first.path}: {first.reason}")
            print(first.diff)


if __name__ == "__main__":
    sys.exit(main())
