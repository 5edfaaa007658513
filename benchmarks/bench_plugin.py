"""The ems pytest plugin's overhead on a real test suite (ems's own), in one interleaved run.

Usage::

    python benchmarks/bench_plugin.py [PYTEST ARGS …] [--repeat 3]

Default suite: ``tests/unit``. Each round runs every configuration once, in turn, so a
machine whose load changes affects them alike; the median CPU time (user + system of the
whole process tree) and wall time of each are printed.
Configurations:

* ``off``      ``pytest -p no:ems`` — the plugin's entry module not even imported;
* ``inert``    ``pytest`` — ems installed, plugin not asked for (must equal ``off``);
* ``-p ems``   ``pytest -p ems`` — every result and failure recorded into the store;
* ``ems test --no-coverage`` — the same through ``ems test`` (its own process, git context);
* ``ems test`` — with coverage.py measuring the suite.

The store written is a temporary copy of the project's (``EMS`` runs use ``--store``); plain
``pytest -p ems`` records into the checkout's ``.ems/ems.db``, which is git-ignored.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of the process tree, exit code).

    CPU time (user + system of the finished children) is the steadier figure on a loaded
    machine: waiting for a core does not count in it.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args, pytest_args = parser.parse_known_args()
    pytest_args = pytest_args or ["tests/unit"]
    py = sys.executable
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    with tempfile.TemporaryDirectory() as tmp:
        store = str(Path(tmp) / "ems.db")
        configs = {
            "off (-p no:ems)": [py, "-m", "pytest", "-q", "-p", "no:ems", *pytest_args],
            "inert (installed)": [py, "-m", "pytest", "-q", *pytest_args],
            "pytest -p ems": [py, "-m", "pytest", "-q", "-p", "ems", *pytest_args],
            "ems test --no-coverage": [
                py,
                "-m",
                "ems",
                "test",
                "--no-coverage",
                "--store",
                store,
                "-q",
                *pytest_args,
            ],
            "ems test (coverage)": [py, "-m", "ems", "test", "--store", store, "-q", *pytest_args],
        }
        walls: dict[str, list[float]] = {name: [] for name in configs}
        cpus: dict[str, list[float]] = {name: [] for name in configs}
        codes: dict[str, set[int]] = {name: set() for name in configs}
        for _ in range(args.repeat):
            for name, argv in configs.items():
                wall, cpu, code = timed(argv, env)
                walls[name].append(wall)
                cpus[name].append(cpu)
                codes[name].add(code)
    base_wall = statistics.median(walls["off (-p no:ems)"])
    base_cpu = statistics.median(cpus["off (-p no:ems)"])
    print(f"suite: pytest {' '.join(pytest_args)}; {args.repeat} interleaved rounds; load {os.getloadavg()}")
    print(
        f"{'configuration':<24} {'CPU s':>7} {'vs off':>7} {'wall s':>7} {'vs off':>7}  CPU runs            exit"
    )
    for name in configs:
        cpu, wall = statistics.median(cpus[name]), statistics.median(walls[name])
        runs = ", ".join(f"{v:.2f}" for v in cpus[name])
        print(
            f"{name:<24} {cpu:7.2f} {cpu / base_cpu:6.2f}x {wall:7.2f} {wall / base_wall:6.2f}x  {runs:<19} "
            f"{sorted(codes[name])}"
        )


if __name__ == "__main__":
    main()
