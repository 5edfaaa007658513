"""Which way ``ordered_map`` maps, by thread count and item count (``ems.runtime.pool``).

Each case runs in a fresh interpreter: a fork server, once started, outlives the call.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from ems.runtime.pool import MIN_PARALLEL_FILES, MIN_SPAWNED_ITEMS

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork (POSIX)")

_SCRIPT = textwrap.dedent(
    """
    import json, os, sys, threading, time
    from ems.core.registry import load_rules
    from ems.runtime.pool import ordered_map

    def where(item):
        time.sleep(0.03)  # long enough for a child to take its share on a loaded machine
        return os.getpid()

    def main():
        count, threaded = int(sys.argv[1]), sys.argv[2] == "1"
        stop = threading.Event()
        if threaded:  # as in the server, or a check whose monitor started its sampler
            threading.Thread(target=stop.wait, daemon=True).start()
        mapped = ordered_map(where, list(range(count)), 2, load_rules())
        pids = list(mapped)
        mapped.close()
        stop.set()
        print(json.dumps({
            "here": os.getpid(),
            "pids": sorted(set(pids)),
            "multiprocessing": "multiprocessing.pool" in sys.modules,
        }))

    if __name__ == "__main__":
        main()
    """
)


def _run(count: int, threaded: bool, tmp_path: object) -> dict[str, object]:
    script = os.path.join(str(tmp_path), "policy.py")  # a file: forkserver/spawn re-import __main__
    with open(script, "w", encoding="utf-8") as handle:
        handle.write(_SCRIPT)
    done = subprocess.run(
        [sys.executable, script, str(count), "1" if threaded else "0"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(done.stdout)


def test_few_items_with_threads_are_mapped_here_without_a_fork_server(tmp_path: object) -> None:
    """Starting a fork server and workers costs more than a few dozen files (the scan's
    second phase, once a long check's monitor has started its thread)."""
    assert MIN_PARALLEL_FILES <= 12 < MIN_SPAWNED_ITEMS
    out = _run(12, True, tmp_path)
    assert out["pids"] == [out["here"]]
    assert out["multiprocessing"] is False


def test_many_items_with_threads_go_to_a_pool_that_does_not_fork_this_process(tmp_path: object) -> None:
    out = _run(MIN_SPAWNED_ITEMS + 6, True, tmp_path)
    pids = out["pids"]
    assert isinstance(pids, list) and out["here"] not in pids and pids
    assert out["multiprocessing"] is True


def test_without_threads_this_process_and_a_forked_child_share_the_items(tmp_path: object) -> None:
    out = _run(12, False, tmp_path)
    pids = out["pids"]
    assert isinstance(pids, list) and out["here"] in pids and len(pids) == 2
    assert out["multiprocessing"] is False  # no multiprocessing pool, nor its imports
