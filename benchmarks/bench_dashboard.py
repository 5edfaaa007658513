"""Benchmark the dashboard's pages (AppTest script runs) on a large seeded store.

Usage (from the repository, with the project's venv):

    .venv/bin/python benchmarks/bench_dashboard.py                 # 100,000 findings
    .venv/bin/python benchmarks/bench_dashboard.py --findings 20000 --reps 3

What it does, and why:

* makes a project in a temporary folder: 2,000 Python files (60 lines each) committed in
  a git repository, so Hotspots runs its real ``git log`` and reads real files;
* seeds the store through the real store API (``Store.record_scan`` with 100,000
  ``StoredFinding``s spread over the 2,000 files and 40 rules; ``Store.replace_history``
  with 300 commits, an introduction event and a lifetime per finding, removals too):
  the same tables and indexes a real ``ems check --record`` and ``ems history`` fill;
* runs each page's script with ``streamlit.testing.v1.AppTest``: *cold* (Streamlit's
  ``cache_data``/``cache_resource`` cleared first: the first visit after a new scan) and
  *warm* (the same page again: what every refresh and every widget click costs), median of
  ``--reps`` runs each;
* prints a table against the targets (< 1 s warm, < 3 s cold per page) and the load
  average (the machine is shared: the figures move with it).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "src" / "ems" / "dashboard" / "app.py"
PAGES = ("overview", "findings", "history", "hotspots", "live", "control")
WARM_TARGET_S = 1.0
COLD_TARGET_S = 3.0
SEVERITIES = ("error", "warning", "warning", "warning", "info", "hint")


def make_project(root: Path, files: int) -> list[str]:
    paths = []
    body = "".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(20))
    for i in range(files):
        rel = f"pkg{i % 40}/mod{i}.py"
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f'"""Module {i}."""\n' + body)
        paths.append(rel)
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    ident = {"GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "b@example.com"}
    ident |= {"GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "b@example.com"}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "seed"]):
        subprocess.run(["git", *args], cwd=root, env={**env, **ident}, check=True)
    return paths


def seed_store(root: Path, paths: list[str], findings: int, commits: int) -> None:
    from ems import __version__
    from ems.store import CommitRow, HistoryEvent, Lifetime, ScanRecord, StoredFinding, open_store

    rng = random.Random(7)
    codes = [f"R{n:03d}" for n in range(40)]
    now = int(time.time())
    commit_rows = [
        CommitRow(
            f"{n:040x}",
            (f"{n - 1:040x}",) if n else (),
            f"Author {n % 12}",
            f"a{n % 12}@example.com",
            now - (commits - n) * 3600 * 7,
            f"Change number {n}",
        )
        for n in range(commits)
    ]
    rows, events, lives = [], [], []
    for n in range(findings):
        path = paths[n % len(paths)]
        code = codes[n % len(codes)]
        line = 1 + (n // len(paths)) % 60
        fp = f"{n:032x}"
        rows.append(
            StoredFinding(
                fp,
                code,
                f"rule-{code.lower()}",
                rng.choice(SEVERITIES),
                path,
                line,
                4,
                line,
                12,
                f"finding {n} of {code}",
                n % 3 == 0,
            )
        )
        intro = commit_rows[rng.randrange(commits)]
        events.append(HistoryEvent(intro.sha, "introduced", fp, code, path, line, f"finding {n}"))
        lives.append(Lifetime(fp, fp, code, path, line, f"finding {n}", intro.sha, None, None, n))
    for n in range(findings // 10):  # removed findings: history has more than the tip
        fp = f"gone{n:028x}"
        a, b = sorted(rng.sample(range(commits), 2))
        sha_a, sha_b = commit_rows[a].sha, commit_rows[b].sha
        events.append(HistoryEvent(sha_a, "introduced", fp, "R001", paths[n % len(paths)], 1, "gone"))
        events.append(HistoryEvent(sha_b, "removed", fp, "R001", paths[n % len(paths)], 1, "gone"))
        lives.append(
            Lifetime(fp, fp, "R001", paths[n % len(paths)], 1, "gone", sha_a, None, sha_b, findings + n)
        )
    with open_store(root) as store:
        store.replace_history(
            root=str(root),
            head_sha=commit_rows[-1].sha,
            branch="main",
            options={},
            ruleset_hash="bench",
            commits=commit_rows,
            events=events,
            lifetimes=lives,
            analysed=len(paths),
            duration_s=1.0,
        )
        record = ScanRecord(
            root=str(root),
            ems_version=__version__,
            config_hash="bench",
            files=len(paths),
            duration_s=1.0,
            source="bench",
            lines=61 * len(paths),
        )
        store.record_scan(record, rows)


def time_pages(reps: int) -> dict[str, tuple[float, float]]:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    results: dict[str, tuple[float, float]] = {}
    for page in PAGES:
        cold, warm = [], []
        for _ in range(reps):
            at = AppTest.from_file(str(APP), default_timeout=120)
            at.run()  # the session's first run (Overview), so switching pages works
            st.cache_data.clear()
            st.cache_resource.clear()
            if page != "overview":
                at.switch_page(f"views/{page}.py")
            started = time.perf_counter()
            at.run()
            cold.append(time.perf_counter() - started)
            if at.exception:
                raise SystemExit(f"{page}: {[e.value for e in at.exception]}")
            started = time.perf_counter()
            at.run()
            warm.append(time.perf_counter() - started)
        results[page] = (statistics.median(cold), statistics.median(warm))
        print(f"  {page:<10} cold {results[page][0]:6.3f} s   warm {results[page][1]:6.3f} s", flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--findings", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=2_000)
    parser.add_argument("--commits", type=int, default=300)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ems-bench-dashboard-") as tmp:
        root = Path(tmp) / "project"
        root.mkdir()
        started = time.perf_counter()
        paths = make_project(root, args.files)
        seed_store(root, paths, args.findings, args.commits)
        print(
            f"seeded {args.findings:,} findings over {args.files:,} files and {args.commits} commits "
            f"in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        os.chdir(root)
        os.environ["EMS_DASHBOARD_ROOT"] = str(root)
        os.environ.pop("EMS_DASHBOARD_LIVE", None)
        os.environ.pop("EMS_DASHBOARD_TOKEN", None)
        load = os.getloadavg()
        results = time_pages(args.reps)
        load_after = os.getloadavg()
    print(f"\nload average before {load[0]:.2f}, after {load_after[0]:.2f} ({os.cpu_count()} CPUs)")
    print(
        f"{'page':<10} {'cold s':>8} {'warm s':>8}   targets: cold < {COLD_TARGET_S:g} s, warm < {WARM_TARGET_S:g} s"
    )
    ok = True
    for page, (cold, warm) in results.items():
        verdict = "PASS" if cold < COLD_TARGET_S and warm < WARM_TARGET_S else "MISS"
        ok &= verdict == "PASS"
        print(f"{page:<10} {cold:8.3f} {warm:8.3f}   {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
