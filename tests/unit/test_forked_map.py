"""``ems.runtime.forked.ForkedMap``: this process and forked children share a map, in order.

Real forks throughout: results must equal ``map``'s whatever the children do (die, are
killed, raise, send what cannot be pickled), arrive while later items are still being
computed, and leave no child process or file descriptor behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import ems.runtime.forked as forked
import ems.runtime.pool as pool
from ems.core.registry import load_rules
from ems.runtime.forked import ForkedMap

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork (POSIX)")

RULES = load_rules()
PARENT = os.getpid()


def _nothing() -> Callable[[], None]:
    return lambda: None


def _slow_square(item: int) -> tuple[int, int]:
    time.sleep(0.02)  # long enough that the children get their share, even on a loaded machine
    return item * item, os.getpid()


def _open_fds() -> set[int]:
    return {int(name) for name in os.listdir("/proc/self/fd")} if os.path.isdir("/proc/self/fd") else set()


def _mapped(func: Callable[[Any], Any], items: list[Any], jobs: int) -> list[Any]:
    """``list(ForkedMap(...))``, checking that every child it forked was reaped (only those:
    the test runner may have children of its own)."""
    mapped = ForkedMap(func, items, jobs, _nothing)
    pids = [pid for pid, _ in mapped._children.values()]
    assert pids
    results = list(mapped)
    for pid in pids:
        with pytest.raises(ChildProcessError):  # reaped: no zombie
            os.waitpid(pid, os.WNOHANG)
    return results


@pytest.mark.parametrize(("count", "jobs"), [(40, 2), (41, 4), (9, 3)])
def test_results_in_order_from_this_process_and_its_children(count: int, jobs: int) -> None:
    fds = _open_fds()
    results = _mapped(_slow_square, list(range(count)), jobs)
    assert [value for value, _ in results] == [item * item for item in range(count)]
    pids = {pid for _, pid in results}
    assert PARENT in pids and len(pids) >= 2  # this process worked too, and a child did
    assert _open_fds() == fds


def test_more_items_than_chunks_go_in_bigger_chunks() -> None:
    count = forked.MAX_CHUNKS * 2 + 3
    items = list(range(count))
    assert _mapped(lambda item: item + 1, items, 2) == [item + 1 for item in items]


def test_results_larger_than_a_pipe_arrive_whole() -> None:
    def big(item: int) -> bytes:
        time.sleep(0.002)
        return bytes([item % 256]) * 300_000

    results = _mapped(big, list(range(24)), 2)
    assert results == [bytes([item % 256]) * 300_000 for item in range(24)]


def _dies_in_child(item: int) -> tuple[int, int]:
    if os.getpid() != PARENT and item == 5:
        os._exit(9)
    return _slow_square(item)


def _killed_in_child(item: int) -> tuple[int, int]:
    if os.getpid() != PARENT and item >= 3:
        os.kill(os.getpid(), signal.SIGKILL)
    return _slow_square(item)


def _raises_in_child(item: int) -> tuple[int, int]:
    if os.getpid() != PARENT:
        raise RuntimeError("the child breaks")
    return _slow_square(item)


def _unpicklable(item: int) -> object:
    time.sleep(0.002)
    return (item, lambda: item) if os.getpid() != PARENT else (item, None)


@pytest.mark.parametrize("func", [_dies_in_child, _killed_in_child, _raises_in_child])
@pytest.mark.parametrize("jobs", [2, 3])
def test_a_failing_child_costs_time_not_results(func: Callable[[int], tuple[int, int]], jobs: int) -> None:
    fds = _open_fds()
    results = _mapped(func, list(range(30)), jobs)
    assert [value for value, _ in results] == [item * item for item in range(30)]
    assert _open_fds() == fds


def test_a_result_a_child_cannot_send_is_computed_here() -> None:
    results = _mapped(_unpicklable, list(range(20)), 2)
    assert [item for item, _ in results] == list(range(20))


def test_results_stream_before_the_last_item_is_computed(tmp_path: Path) -> None:
    """The last item waits until the first result has reached the caller: a map that
    yielded only once everything was done would never let it finish."""
    first_seen = tmp_path / "first-seen"

    def last_waits(item: int) -> bool:
        if item < 19:
            return True
        deadline = time.monotonic() + 10
        while not first_seen.exists():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    mapped = ForkedMap(last_waits, list(range(20)), 2, _nothing)
    assert next(mapped) is True
    first_seen.touch()
    assert all(mapped)


def test_closing_early_stops_and_reaps_the_children() -> None:
    fds = _open_fds()
    mapped = ForkedMap(lambda item: time.sleep(0.05) or item, list(range(400)), 3, _nothing)
    assert next(mapped) == 0
    pids = [pid for pid, _ in mapped._children.values()]
    assert len(pids) == 2
    started = time.monotonic()
    mapped.close()
    assert time.monotonic() - started < 5  # killed, not waited for through 400 items
    for pid in pids:
        with pytest.raises(ChildProcessError):  # reaped: no zombie
            os.waitpid(pid, os.WNOHANG)
    assert _open_fds() == fds


def test_the_workers_rule_set_is_set_while_working_here_and_in_children() -> None:
    def ruleset_seen(item: int) -> tuple[bool, int]:
        time.sleep(0.005)
        return pool.worker_ruleset() is RULES, os.getpid()

    assert pool.worker_ruleset() is None
    results = list(pool.ordered_map(ruleset_seen, list(range(30)), 2, RULES))
    assert all(seen for seen, _ in results)
    assert len({pid for _, pid in results}) == 2
    assert pool.worker_ruleset() is None  # put back between stretches of work


def test_no_process_to_be_had_means_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(forked.os, "fork", refuse)
    monkeypatch.setattr(pool, "can_fork", lambda: True)
    fds = _open_fds()
    results = list(pool.ordered_map(_slow_square, list(range(12)), 2, RULES))
    assert results == [(item * item, os.getpid()) for item in range(12)]
    assert _open_fds() == fds


_INTERRUPTED = textwrap.dedent(
    """
    import contextlib, json, os, sys, time
    from ems.core.registry import load_rules
    from ems.runtime.pool import ordered_map

    def slow(item):
        time.sleep(0.2)
        return item

    mapped = ordered_map(slow, list(range(100)), 3, load_rules())
    next(mapped)
    children = [pid for pid, _ in mapped._children.values()]
    try:  # (from before the test can signal)
        with contextlib.closing(mapped):  # as the scan does (its ``finally``)
            print(json.dumps(children), flush=True)
            for _ in mapped:
                pass
    except KeyboardInterrupt:
        try:
            os.waitpid(-1, os.WNOHANG)
            print("a child is left", flush=True)
        except ChildProcessError:
            print("interrupted, no child left", flush=True)
        sys.exit(130)
    """
)


@pytest.mark.parametrize("whole_group", [True, False])
def test_ctrl_c_stops_the_children(whole_group: bool) -> None:
    """Ctrl-C signals the terminal's whole process group; ``kill -INT`` only the parent."""
    process = subprocess.Popen(
        [sys.executable, "-c", _INTERRUPTED], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert process.stdout is not None
        children = json.loads(process.stdout.readline())
        assert len(children) == 2
        if whole_group:
            os.killpg(process.pid, signal.SIGINT)
        else:
            process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 130
    assert out.strip() == "interrupted, no child left"  # stopped and reaped before the caller's handler


def test_a_frame_that_makes_no_sense_is_ignored() -> None:
    """A frame for no chunk, an unreadable one, or one of the wrong length changes nothing:
    the chunk stays missing and is computed here (never a wrong result)."""
    import pickle
    import struct

    mapped = ForkedMap(_slow_square, list(range(10)), 2, _nothing)
    mapped.close()  # no child left: every missing chunk is computed here
    header = struct.Struct("<II")
    wrong_length = pickle.dumps([(1, 1), (2, 2)])
    for chunk, payload in ((9999, pickle.dumps([1])), (0, b"\x80\x05garbage"), (3, wrong_length)):
        mapped._frames(bytearray(header.pack(chunk, len(payload)) + payload))
    results = list(mapped)
    assert [value for value, _ in results] == [item * item for item in range(10)]
    assert {pid for _, pid in results} == {PARENT}


def test_what_the_children_inherit_is_frozen_while_they_run_then_thawed() -> None:
    """The parent's collector leaves the objects it shares with the children alone while
    they run (no walk, no copied page); ``close`` undoes the freeze it made, and leaves a
    caller's own freeze in place."""
    import gc

    assert gc.get_freeze_count() == 0
    mapped = ForkedMap(_slow_square, list(range(12)), 2, _nothing)
    assert gc.get_freeze_count() > 0
    assert [square for square, _ in mapped] == [i * i for i in range(12)]
    assert gc.get_freeze_count() == 0
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        assert [square for square, _ in ForkedMap(_slow_square, list(range(12)), 2, _nothing)] == [
            i * i for i in range(12)
        ]
        assert gc.get_freeze_count() >= frozen
    finally:
        gc.unfreeze()
