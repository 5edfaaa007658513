"""Benchmark ``ems fix`` against ``ems check`` on the same project, cold and warm, in one run.

Usage (from the repository, with the project's venv):

    .venv/bin/python benchmarks/bench_fix.py                 # the interpreter's email package
    .venv/bin/python benchmarks/bench_fix.py PATH --reps 3   # any folder of Python code

Issue 18's target: ``ems fix`` on a project with nothing fixable costs at most 1.5x
``ems check`` on it, cold and warm (libcst only for files with a fixable finding, the
result cache used, the work in the scan's worker pool).

What it does: copies the project twice under ``<tmp>/ems-bench-fix/<name>/`` as git
repositories: ``as-is``, and ``fixed`` (``ems fix`` applied once, so nothing safe is left to
fix). On each it runs, interleaved ``--reps`` times: ``ems check`` and ``ems fix --dry-run``
cold (the ``.ems`` folder removed before each run) and warm (after a priming run). Prints the
median wall times and the ratio fix / check. The machine is often shared: compare the rows
of one run, and note ``uptime``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

from bench_check import copy_corpus, ems_command, run_once

WORK = Path(tempfile.gettempdir()) / "ems-bench-fix"


def prepare(source: Path, name: str) -> dict[str, Path]:
    """The two copies (as-is, fixed), each a git repository with one commit."""
    copies: dict[str, Path] = {}
    for kind in ("as-is", "fixed"):
        copy = copy_corpus(source, f"fix-{name}-{kind}")
        target = WORK / name / kind
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(copy), target)
        if kind == "fixed":
            subprocess.run(
                [*ems_command(), "fix", "-q", "."], cwd=target, stdout=subprocess.DEVNULL, check=False
            )
            shutil.rmtree(target / ".ems", ignore_errors=True)
        git = ["git", "-c", "user.email=bench@ems", "-c", "user.name=bench"]
        subprocess.run([*git, "init", "-q"], cwd=target, check=True)
        subprocess.run([*git, "add", "-A"], cwd=target, check=True)
        subprocess.run([*git, "commit", "-qm", "corpus"], cwd=target, check=True)
        copies[kind] = target
    return copies


def bench(copies: dict[str, Path], reps: int) -> dict[tuple[str, str, str], list[float]]:
    """(copy, cold|warm, check|fix) -> wall times."""
    env = dict(os.environ)
    env.pop("NO_COLOR", None)
    # As users run it: bytecode cached (a session may set this; then every run recompiles
    # the rule modules that ``ems fix`` imports and a warm ``ems check`` does not).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    commands = {
        "check": [*ems_command(), "check", "-q", "."],
        "fix": [*ems_command(), "fix", "--dry-run", "-q", "."],
    }
    walls: dict[tuple[str, str, str], list[float]] = {}
    for rep in range(reps):  # interleaved: the machine's load falls on every row alike
        for kind, folder in copies.items():
            for tool, command in commands.items():
                shutil.rmtree(folder / ".ems", ignore_errors=True)
                cold = run_once(command, folder, env)[0]
                warm = run_once(command, folder, env)[0]
                walls.setdefault((kind, "cold", tool), []).append(cold)
                walls.setdefault((kind, "warm", tool), []).append(warm)
                print(
                    f"  {kind:<6} {tool:<5} rep {rep + 1}/{reps}: cold {cold:6.2f} s  warm {warm:6.2f} s",
                    flush=True,
                )
    for folder in copies.values():
        shutil.rmtree(folder / ".ems", ignore_errors=True)
    return walls


def table(walls: dict[tuple[str, str, str], list[float]]) -> tuple[str, list[str]]:
    rows = [
        "| project | run | `ems check` (s) | `ems fix --dry-run` (s) | fix / check |",
        "|---|---|---|---|---|",
    ]
    verdicts = []
    for kind in ("as-is", "fixed"):
        for run in ("cold", "warm"):
            check = statistics.median(walls[(kind, run, "check")])
            fix = statistics.median(walls[(kind, run, "fix")])
            ratio = fix / check if check else float("inf")
            rows.append(f"| {kind} | {run} | {check:.2f} | {fix:.2f} | {ratio:.2f}x |")
            if kind == "fixed":
                mark = "PASS" if ratio <= 1.5 else "MISS"
                verdicts.append(
                    f"{mark}: nothing fixable, {run}: ems fix {ratio:.2f}x ems check (target <= 1.5x)"
                )
    return "\n".join(rows), verdicts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default = Path(sysconfig.get_paths()["stdlib"]) / "email"
    parser.add_argument(
        "path", nargs="?", type=Path, default=default, help=f"project folder (default {default})"
    )
    parser.add_argument("--reps", type=int, default=3, help="interleaved repetitions (default 3)")
    args = parser.parse_args(argv)
    name = args.path.resolve().name
    print(f"uptime: {os.getloadavg()} (load average)", flush=True)
    copies = prepare(args.path.resolve(), name)
    walls = bench(copies, args.reps)
    rows, verdicts = table(walls)
    print()
    print(f"{name}: median of {args.reps} interleaved runs; load average after: {os.getloadavg()}")
    print(rows)
    print("\n".join(verdicts))
    return 0 if all(v.startswith("PASS") for v in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
