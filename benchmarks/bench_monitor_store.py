"""The monitor's own cost: table size after a simulated week, and CPU per sampler tick.

Usage: ``.venv/bin/python benchmarks/bench_monitor_store.py [--interval 5] [--processes 3]``

The tick cost (one psutil sample, a probe, one store transaction: what the sampler thread
does once per interval) is measured as CPU time of the calling thread, which a loaded
machine does not inflate the way it inflates wall-clock round trips.

Writes a day of samples at a time through ``ems.store.monitor.record_batch`` (what the
samplers call) into a fresh store, running ``prune`` after each day (the samplers run it
hourly), for eight days; prints the tables' bytes (SQLite's dbstat) and row counts.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from ems.store import monitor as m
from ems.store import open_store

DAY = 86400.0


def simulate(root: Path, interval: float, processes: int, days: int = 8) -> tuple[int, int, float]:
    start = time.time() - days * DAY
    with open_store(root) as store:
        ids = [
            m.register_process(
                store, kind=f"k{n}", project=str(root), version="bench", interval_s=interval, pid=n
            )
            for n in range(processes)
        ]
        at = start
        began = time.perf_counter()
        while at < start + days * DAY:
            day = [
                m.Sample(
                    at + i * interval,
                    interval,
                    3.0,
                    80 * 2**20,
                    9,
                    30,
                    2,
                    5.0,
                    9.0,
                    12.0,
                    0,
                    0.4,
                    None,
                    20.0,
                    30.0,
                )
                for i in range(int(DAY / interval))
            ]
            for pid in ids:
                m.record_batch(store, pid, day, heartbeat_at=at + DAY)
            at += DAY
            m.prune(store, now=at)
        seconds = time.perf_counter() - began
        rows = int(store._query("SELECT COUNT(*) FROM monitor_samples")[0][0])
        return m.table_bytes(store), rows, seconds


def tick_cost(root: Path, ticks: int = 300) -> tuple[float, float]:
    """(CPU ms, wall ms) per sampler tick, averaged over ``ticks`` ticks into a real store."""
    from ems.runtime.monitor import ProcessMonitor
    from ems.runtime.sampler import Sampler

    def probe(span: float) -> dict[str, float]:
        return {"analyses": 3, "latency_p50_ms": 40.0, "latency_p95_ms": 60.0, "latency_max_ms": 70.0}

    sampler = Sampler(root, "bench", probe=probe)
    with open_store(root) as store:
        sampler.process_id = m.register_process(
            store, kind="bench", project=str(root), version="b", interval_s=5
        )
        monitor = ProcessMonitor()
        sampler.tick(store, monitor)  # warm: first transaction, imports
        cpu, wall = time.thread_time(), time.perf_counter()
        for _ in range(ticks):
            sampler.tick(store, monitor)
        return (time.thread_time() - cpu) / ticks * 1000, (time.perf_counter() - wall) / ticks * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--processes", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        cpu_ms, wall_ms = tick_cost(Path(tmp))
    print(
        f"one sampler tick: {cpu_ms:.2f} ms CPU ({wall_ms:.2f} ms wall): {cpu_ms / (args.interval * 10):.3f} % of"
        f" one core at a {args.interval:g} s interval"
    )
    with tempfile.TemporaryDirectory() as tmp:
        size, rows, seconds = simulate(Path(tmp), args.interval, args.processes)
    verdict = "PASS" if size < 10 * 2**20 else "MISS"
    print(
        f"a week of {args.processes} processes sampled every {args.interval:g} s: {size / 2**20:.2f} MB in the"
        f" monitor tables ({rows} sample rows), target under 10 MB: {verdict} (written and pruned in {seconds:.1f} s)"
    )
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
