"""Benchmark ``ems history`` (cold and warm, with peak memory) against ``wily build``.

Usage::

    python benchmarks/bench_history.py [REPO] [--commits 300] [--skip-wily] [--jobs N]

Without REPO, a repository is generated under ``benchmarks/.work/``: real standard-library
modules of the running interpreter are added and grown block by block (top-level
definitions in their real order), commit by commit, by four authors, with a few renames.
Wily is installed into its own virtual environment under ``benchmarks/.work/`` by this
script (it pins old dependencies we keep out of the project's environment) and runs on a
clone, because ``wily build`` checks each revision out.

Peak memory is the largest sum of RSS over the measured process and its children,
sampled every 20 ms with psutil. Targets (issue 5): cold history ≥ 5× faster than wily,
warm run under 2 s.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
AUTHORS = [
    ("Ada Lovelace", "ada"),
    ("Grace Hopper", "grace"),
    ("Guido van Rossum", "guido"),
    ("Tim Peters", "tim"),
]


def _git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True
    ).stdout


def _blocks(text: str) -> list[str]:
    """A module split at its top-level statements (decorators stay with their def)."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return [text]
    lines = text.splitlines(keepends=True)
    starts = sorted(
        {min([n.lineno] + [d.lineno for d in getattr(n, "decorator_list", [])]) - 1 for n in tree.body} | {0}
    )
    return ["".join(lines[a:b]) for a, b in zip(starts, [*starts[1:], len(lines)], strict=True)]


def stdlib_sources(rng: random.Random, count: int) -> list[tuple[str, list[str]]]:
    lib = Path(sysconfig.get_paths()["stdlib"])
    picked = []
    for path in sorted(lib.glob("*.py")):
        text = path.read_text(encoding="utf-8", errors="replace")
        if 150 <= text.count("\n") <= 2500:
            picked.append((path.name, _blocks(text)))
    rng.shuffle(picked)
    return picked[:count]


def generate_repo(target: Path, commits: int, seed: int = 5) -> Path:
    """A repository of ``commits`` commits replaying real stdlib code growing over time."""
    if (target / ".git").is_dir() and _git(target, "rev-list", "--count", "HEAD").strip() == str(commits):
        return target
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    _git(target, "init", "-q", "-b", "main")
    rng = random.Random(seed)
    pending = stdlib_sources(rng, commits // 3 + 10)
    growing: dict[str, tuple[list[str], int]] = {}  # path -> (blocks, revealed)
    clock = 1_600_000_000
    base_env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    for number in range(commits):
        name, login = AUTHORS[rng.randrange(len(AUTHORS))]
        clock += rng.randrange(600, 86_400)
        unfinished = [p for p, (blocks, shown) in growing.items() if shown < len(blocks)]
        if pending and (number % 3 == 0 or not unfinished):
            module, blocks = pending.pop()
            path = f"pkg/{module}"
            growing[path] = (blocks, max(1, len(blocks) // 3))
            touched, message = [path], f"Add {module}"
        elif unfinished and rng.random() < 0.04 and number > 10:
            old = rng.choice(unfinished)
            new = old.replace("pkg/", "pkg/moved_", 1)
            _git(target, "mv", old, new)
            growing[new] = growing.pop(old)
            touched, message = [], f"Rename {old} to {new}"
        else:
            touched = rng.sample(unfinished, k=min(len(unfinished), rng.choice((1, 1, 2))))
            for path in touched:
                blocks, shown = growing[path]
                growing[path] = (blocks, min(len(blocks), shown + rng.randint(1, 4)))
            message = "Extend " + ", ".join(Path(p).name for p in touched)
        for path in touched:
            blocks, shown = growing[path]
            file = target / path
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text("".join(blocks[:shown]), encoding="utf-8")
            _git(target, "add", path)
        env = {
            **base_env,
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": f"{login}@example.com",
            "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": f"{login}@example.com",
            "GIT_AUTHOR_DATE": f"@{clock} +0000",
            "GIT_COMMITTER_DATE": f"@{clock} +0000",
        }
        _git(target, "commit", "-q", "--allow-empty", "-m", message, env=env)
    return target


def _tree_rss(proc: psutil.Process) -> int:
    """RSS of a process and its children; 0 for the ones that ended while being read."""
    total = 0
    members: list[psutil.Process] = [proc]
    with contextlib.suppress(psutil.Error):
        members += proc.children(recursive=True)
    for member in members:
        with contextlib.suppress(psutil.Error):
            total += member.memory_info().rss
    return total


def measure(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """(seconds, peak MiB over the process tree, stdout) of one command."""
    started = time.perf_counter()
    proc = psutil.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = 0
    chunks: list[bytes] = []
    import threading

    reader = threading.Thread(target=lambda: chunks.append(proc.stdout.read()))  # type: ignore[union-attr]
    reader.start()
    while proc.poll() is None:
        peak = max(peak, _tree_rss(proc))
        time.sleep(0.02)
    reader.join()
    seconds = time.perf_counter() - started
    err = proc.stderr.read().decode(errors="replace")  # type: ignore[union-attr]
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{err[-3000:]}")
    return seconds, peak / 2**20, b"".join(chunks).decode(errors="replace")


def ensure_wily() -> Path:
    venv = WORK / "wily-venv"
    wily = venv / "bin" / "wily"
    if not wily.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "wily"], check=True)
    return wily


def run_wily(repo: Path, commits: int) -> tuple[float, float]:
    wily = ensure_wily()
    clone = WORK / "wily-clone"
    shutil.rmtree(clone, ignore_errors=True)
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
    (clone / ".git" / "info" / "exclude").write_text(".wily/\n")
    cache = WORK / "wily-cache"  # wily caches per project in ~/.wily by default: a rerun would be warm
    shutil.rmtree(cache, ignore_errors=True)
    seconds, peak, _ = measure([str(wily), "--cache", str(cache), "build", "-n", str(commits), "."], clone)
    return seconds, peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", nargs="?", type=Path, help="a local git repository (default: generate one)")
    parser.add_argument("--commits", type=int, default=300)
    parser.add_argument("--jobs", type=int, default=None, help="ems analysis processes (default: CPU count)")
    parser.add_argument("--skip-wily", action="store_true")
    args = parser.parse_args()
    WORK.mkdir(exist_ok=True)
    repo = args.repo.resolve() if args.repo else generate_repo(WORK / "stdlib-replay", args.commits)
    walked = int(_git(repo, "rev-list", "--count", f"--max-count={args.commits}", "HEAD"))
    store = WORK / "bench-history.db"
    ems = [
        sys.executable,
        "-m",
        "ems",
        "history",
        str(repo),
        "--max-commits",
        str(args.commits),
        "--format",
        "json",
        "--store",
        str(store),
    ]
    if args.jobs:
        ems += ["--jobs", str(args.jobs)]
    results: dict[str, object] = {
        "repository": str(repo),
        "commits": walked,
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
    }
    for suffix in ("", "-wal", "-shm"):
        Path(str(store) + suffix).unlink(missing_ok=True)

    def fresh_store() -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(str(store) + suffix).unlink(missing_ok=True)

    single, single_peak, out = measure([*ems, "--jobs", "1"], repo)
    single_stats = json.loads(out)["stats"]
    fresh_store()
    cold, cold_peak, out = measure(ems, repo)
    stats = json.loads(out)["stats"]
    warm, warm_peak, out = measure(ems, repo)
    warm_stats = json.loads(out)["stats"]
    results["ems_cold_one_process"] = {
        "wall_seconds": round(single, 2),
        "peak_mib": round(single_peak, 1),
        **single_stats,
    }
    results["ems_cold"] = {"wall_seconds": round(cold, 2), "peak_mib": round(cold_peak, 1), **stats}
    results["ems_warm"] = {"wall_seconds": round(warm, 2), "peak_mib": round(warm_peak, 1), **warm_stats}
    if not args.skip_wily:
        wily_s, wily_peak = run_wily(repo, args.commits)
        results["wily_build"] = {"wall_seconds": round(wily_s, 2), "peak_mib": round(wily_peak, 1)}
        results["speedup_cold_vs_wily"] = round(wily_s / cold, 1)
        results["speedup_cold_one_process_vs_wily"] = round(wily_s / single, 1)
    (WORK / "history-results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    print()
    print("| run | commits | seconds | peak MiB | blobs analysed |")
    print("|---|---|---|---|---|")
    print(
        f"| ems history, cold, 1 process | {walked} | {single:.2f} | {single_peak:.0f} | "
        f"{single_stats['analysed_blobs']} |"
    )
    print(f"| ems history, cold | {walked} | {cold:.2f} | {cold_peak:.0f} | {stats['analysed_blobs']} |")
    print(f"| ems history, warm | {walked} | {warm:.2f} | {warm_peak:.0f} | {warm_stats['analysed_blobs']} |")
    if "wily_build" in results:
        print(
            f"| wily build | {walked} | {results['wily_build']['wall_seconds']:.2f} | "  # type: ignore[index]
            f"{results['wily_build']['peak_mib']:.0f} | - |"
        )  # type: ignore[index]
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
