"""A few changed files are analysed in one forked child while the parent goes on
(``ems.runtime.pool._Background``). These tests drive real forks: the child's results
must equal in-process ones, and any failure of the child must cost time, never results."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import ems.runtime.pool as pool
import ems.runtime.scan as project
import ems.store.cache as cache_mod
from ems.core.config import ConfigResolver
from ems.core.registry import load_rules
from ems.runtime.scan import scan, scan_as_ready

RULES = load_rules()
PARENT = os.getpid()

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork (POSIX)")


def _square_with_pid(item: int) -> tuple[int, int]:
    return item * item, os.getpid()


def _fails_in_child(item: int) -> int:
    if os.getpid() != PARENT:
        raise RuntimeError("the child breaks")
    return item + 1


def _dies_in_child(item: int) -> int:
    if os.getpid() != PARENT:
        os._exit(9)
    return item * 10


def test_results_come_from_a_child_and_in_order() -> None:
    background = pool._Background(_square_with_pid, [1, 2, 3], RULES)
    results = list(background)
    assert [value for value, _ in results] == [1, 4, 9]
    assert {pid for _, pid in results} != {PARENT}  # really computed elsewhere
    background.close()


@pytest.mark.parametrize("func, expected", [(_fails_in_child, [2, 3]), (_dies_in_child, [10, 20])])
def test_a_failing_child_costs_time_not_results(func: object, expected: list[int]) -> None:
    background = pool._Background(func, [1, 2], RULES)  # type: ignore[arg-type]
    assert list(background) == expected
    background.close()


def test_closing_early_reaps_the_child() -> None:
    background = pool._Background(_square_with_pid, [5], RULES)
    pid = background._pid
    assert pid is not None
    background.close()
    with pytest.raises(ChildProcessError):  # already reaped: no zombie left behind
        os.waitpid(pid, os.WNOHANG)


def _project(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(root)  # display paths are relative to the working directory
    # Trust stats at once (the real window is 2 s after a write, ctime included).
    monkeypatch.setattr(cache_mod, "RACY_NS", 0)
    for index in range(12):
        (root / f"m{index}.py").write_text(f'value_{index} = f"x"\n', encoding="utf-8")
    old = 1_600_000_000 * 10**9
    for path in root.glob("*.py"):
        os.utime(path, ns=(old, old))


def test_a_changed_file_in_a_warm_project_is_analysed_in_the_background(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(tmp_path, monkeypatch)
    resolver = ConfigResolver(RULES.codes, default_root=tmp_path)
    cold = [(r.display, r.report.findings) for r in scan([tmp_path], resolver, ruleset=RULES)]
    changed = tmp_path / "m7.py"
    changed.write_text("import os\n", encoding="utf-8")
    os.utime(changed, ns=(1_700_000_000 * 10**9,) * 2)
    log = tmp_path / "pids.log"
    original = project._analyse_task

    def logging_task(task: project._Task, ruleset: object = None) -> project._Outcome:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(f"{task.display} {os.getpid()}\n")
        return original(task, ruleset)  # type: ignore[arg-type]

    monkeypatch.setattr(project, "_analyse_task", logging_task)
    monkeypatch.setattr(pool, "can_fork", lambda: True)  # whatever threads the runner has
    arrived = list(scan_as_ready([tmp_path], resolver, ruleset=RULES, jobs=2))
    assert arrived[-1][1].display == "m7.py"  # the cached results came first
    name, pid = log.read_text().split()
    assert name == "m7.py" and int(pid) != os.getpid()
    by_name = {r.display: r.report.findings for _, r, _ in arrived}
    assert [f.code for f in by_name["m7.py"]] == ["F401"]
    assert {name: findings for name, findings in cold if name != "m7.py"} == {
        name: findings for name, findings in by_name.items() if name != "m7.py"
    }
    # The child's result went into the cache: the next run reads nothing.
    log.unlink()
    again = [(r.display, r.report.findings) for r in scan([tmp_path], resolver, ruleset=RULES)]
    assert dict(again)["m7.py"] == by_name["m7.py"]
    assert not log.exists() or "m7.py" not in log.read_text()


def test_jobs_one_keeps_the_analysis_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _project(tmp_path, monkeypatch)
    resolver = ConfigResolver(RULES.codes, default_root=tmp_path)
    list(scan([tmp_path], resolver, ruleset=RULES))
    (tmp_path / "m3.py").write_text("import sys\n", encoding="utf-8")
    started: list[int] = []
    monkeypatch.setattr(pool, "_Background", lambda *a: started.append(1))
    results = list(scan([tmp_path], resolver, ruleset=RULES, jobs=1))
    assert started == []
    by_name = {r.display: r.report.findings for r in results}
    assert [f.code for f in by_name["m3.py"]] == ["F401"]


def test_no_process_to_be_had_means_in_process_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(pool.os, "fork", refuse)
    monkeypatch.setattr(pool, "can_fork", lambda: True)
    opened = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None
    results = list(pool.ordered_map(_square_with_pid, [2, 3], 2, RULES, background=True))
    assert [value for value, _ in results] == [4, 9]
    assert {pid for _, pid in results} == {os.getpid()}
    if opened is not None:
        assert len(os.listdir("/proc/self/fd")) == opened  # the pipe was closed again
