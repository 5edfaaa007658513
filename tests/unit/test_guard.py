"""GuardedAnalyser: a hanging or crashing analysis costs one file's findings, never the caller.

The misbehaving rules below live in this module so the worker process can import them
(the ruleset is pickled by reference and sent with the request).
"""

from __future__ import annotations

import ast
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from ems.core import Report, analyse, load_rules
from ems.core.config import Config
from ems.core.registry import RuleSet
from ems.core.rule import AnalysisContext, Hit, Rule
from ems.rules.ems902_analysis_timeout import AnalysisTimeout
from ems.rules.ems903_analysis_crash import AnalysisCrash
from ems.runtime.guard import GuardedAnalyser, TextEdit, is_guard_failure
from ems.runtime.monitor import RULE_ERROR, TIMEOUT, WORKER_CRASH, WORKER_RESTART, EventCounter
from ems.runtime.recovery import RestartPolicy


class HangingRule(Rule):
    code = "EMS990"
    name = "test-hang"
    summary = explanation = "loops forever when the file mentions HANG"

    def check(self, ctx: AnalysisContext) -> Iterator[Hit]:
        while "HANG" in ctx.source.text:
            time.sleep(0.05)
        return iter(())


class SegfaultRule(Rule):
    code = "EMS991"
    name = "test-segfault"
    summary = explanation = "kills its own process with SIGSEGV when the file mentions SEGV"

    def check(self, ctx: AnalysisContext) -> Iterator[Hit]:
        if "SEGV" in ctx.source.text:
            os.kill(os.getpid(), signal.SIGSEGV)
        return iter(())


class StackOverflowRule(Rule):
    code = "EMS992"
    name = "test-stack-overflow"
    summary = explanation = "overflows the C stack when the file mentions DEEP"

    def check(self, ctx: AnalysisContext) -> Iterator[Hit]:
        if "DEEP" in ctx.source.text:
            sys.setrecursionlimit(10**8)  # lets C-level recursion (repr) run off the C stack
            nested: list = []
            for _ in range(200_000):
                nested = [nested]
            repr(nested)
        return iter(())


class RaisingRule(Rule):
    code = "EMS993"
    name = "test-raises"
    summary = explanation = "raises on every file"

    def check(self, ctx: AnalysisContext) -> Iterator[Hit]:
        raise ValueError("broken rule")


class ConstantRule(Rule):
    code = "EMS994"
    name = "test-constant"
    summary = explanation = "flags every integer constant"
    node_types = (ast.Constant,)

    def visit(self, node: ast.AST, ctx: AnalysisContext) -> Iterator[Hit]:
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            yield ctx.hit(node, "an integer")


FAULTY = RuleSet(
    rules=(HangingRule, SegfaultRule, StackOverflowRule, ConstantRule),
    origins=(),
)


@pytest.fixture(scope="module")
def guard() -> Iterator[GuardedAnalyser]:
    # these tests crash the worker on purpose many times: no crash-loop bound here
    policy = RestartPolicy(max_restarts=1000)
    with GuardedAnalyser(timeout=2.0, events=EventCounter(), restart_policy=policy) as analyser:
        analyser.start()
        yield analyser


def _codes(report: Report) -> list[str]:
    return [f.code for f in report.findings]


def test_results_equal_in_process_analysis(guard: GuardedAnalyser) -> None:
    text = "import os\nif x == None:\n    pass\ny = f'plain'\n"
    assert guard.analyse(text, "a.py") == analyse(text, "a.py")
    assert not is_guard_failure(guard.analyse(text, "a.py"))
    assert guard.analyse(text.encode(), "a.py") == analyse(text.encode(), "a.py")


def test_hang_times_out_and_worker_is_replaced(guard: GuardedAnalyser) -> None:
    before_pid = guard.worker_pid
    timeouts = guard.events.count(TIMEOUT)
    started = time.monotonic()
    report = guard.analyse("x = 1  # HANG\n", "hang.py", ruleset=FAULTY, timeout=0.5)
    assert time.monotonic() - started < 5
    assert _codes(report) == [AnalysisTimeout.code]
    assert is_guard_failure(report)
    assert "0.5 s" in report.findings[0].message
    assert guard.events.count(TIMEOUT) == timeouts + 1
    after = guard.analyse("x = 1\n", "ok.py", ruleset=FAULTY)
    assert _codes(after) == ["EMS994"]
    assert guard.worker_pid not in (None, before_pid)


@pytest.mark.parametrize(("marker", "why"), [("SEGV", "SIGSEGV"), ("DEEP", "SIG")])
def test_crash_is_reported_and_worker_is_replaced(guard: GuardedAnalyser, marker: str, why: str) -> None:
    crashes = guard.events.count(WORKER_CRASH)
    restarts = guard.events.count(WORKER_RESTART)
    # a stack overflow takes a few seconds to die here (the kernel grows the stack page by page)
    report = guard.analyse(f"x = 1  # {marker}\n", "crash.py", ruleset=FAULTY, timeout=30)
    assert _codes(report) == [AnalysisCrash.code]
    assert is_guard_failure(report)
    assert why in report.findings[0].message
    assert guard.events.count(WORKER_CRASH) == crashes + 1
    assert guard.events.count(WORKER_RESTART) == restarts + 1
    assert _codes(guard.analyse("y = 2\n", "ok.py", ruleset=FAULTY)) == ["EMS994"]


def test_worker_killed_mid_request_recovers(guard: GuardedAnalyser) -> None:
    guard.analyse("x = 1\n", "warm.py")
    pid = guard.worker_pid
    assert pid is not None
    killer = threading.Timer(0.3, os.kill, (pid, signal.SIGKILL))
    killer.start()
    report = guard.analyse("x = 1  # HANG\n", "victim.py", ruleset=FAULTY, timeout=10)
    killer.join()
    assert _codes(report) == [AnalysisCrash.code]
    assert "SIGKILL" in report.findings[0].message
    assert _codes(guard.analyse("z = 3\n", "ok.py", ruleset=FAULTY)) == ["EMS994"]


def test_worker_killed_while_idle_is_replaced_transparently(guard: GuardedAnalyser) -> None:
    guard.analyse("x = 1\n", "warm.py")
    pid = guard.worker_pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    assert _codes(guard.analyse("x = 1\n", "after.py", ruleset=FAULTY)) == ["EMS994"]


def test_rule_errors_are_counted_and_other_rules_still_report(guard: GuardedAnalyser) -> None:
    ruleset = RuleSet(rules=(RaisingRule, ConstantRule), origins=())
    before = guard.events.count(RULE_ERROR)
    report = guard.analyse("x = 1\n", "r.py", ruleset=ruleset)
    assert sorted(_codes(report)) == ["EMS901", "EMS994"]
    assert guard.events.count(RULE_ERROR) == before + 1


def test_concurrent_callers_get_their_own_results(guard: GuardedAnalyser) -> None:
    results: dict[int, list[str]] = {}

    def call(i: int) -> None:
        report = guard.analyse(f"v{i} = {i}\n" + "w = None == v\n" * (i % 2), f"f{i}.py")
        results[i] = [f.path for f in report.findings] + [report.path]

    threads = [threading.Thread(target=call, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(set(paths) == {f"f{i}.py"} for i, paths in results.items())
    assert len(results) == 8


def test_spawn_start_method_works_too() -> None:
    with GuardedAnalyser(timeout=5, start_method="spawn") as analyser:
        assert "E711" in _codes(analyser.analyse("if a == None:\n    pass\n", "s.py"))
        assert analyser.events.count(WORKER_RESTART) == 0


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="timeout"):
        GuardedAnalyser(timeout=0)
    with pytest.raises(ValueError, match="start method"):
        GuardedAnalyser(start_method="fork")


def test_closed_guard_stops_its_worker() -> None:
    analyser = GuardedAnalyser(timeout=5)
    analyser.start()
    pid = analyser.worker_pid
    assert pid is not None
    analyser.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("worker still running after close()")
    with pytest.raises(RuntimeError, match="closed"):
        analyser.start()


def test_worker_over_its_memory_limit_is_recycled() -> None:
    events = EventCounter()
    with GuardedAnalyser(timeout=5, events=events, max_worker_rss=1) as analyser:
        analyser.analyse("x = 1\n", "m.py")
        first = analyser.worker_pid
        assert events.count(WORKER_RESTART) == 1
        analyser.analyse("x = 1\n", "m.py")
        assert analyser.worker_pid != first


def test_default_rules_are_those_of_the_parent(guard: GuardedAnalyser) -> None:
    codes = set(load_rules().codes)
    report = guard.analyse("if a == None:\n    pass\n", "d.py")
    assert {f.code for f in report.findings} <= codes


def test_memory_watch_can_recycle_the_worker() -> None:
    """How a face wires the two: past the limit, the worker is replaced (and counted)."""
    from ems.runtime.monitor import CACHE_DROP, MemoryWatch

    events = EventCounter()
    with GuardedAnalyser(timeout=5, events=events) as analyser:
        analyser.analyse("x = 1\n", "m.py")
        first = analyser.worker_pid
        watch = MemoryWatch(limit=1, events=events, cooldown=0)
        watch.register("analysis-worker", analyser.recycle)
        assert watch.check() is True
        assert events.count(CACHE_DROP) == 1 and events.count(WORKER_RESTART) == 1
        assert "E711" in _codes(analyser.analyse("if a == None:\n    pass\n", "m.py"))
        assert analyser.worker_pid not in (None, first)
        assert events.snapshot()["counts"]["worker_restarts"] == 1


def test_a_call_runs_in_the_worker_with_the_default_rules_standing_in(guard: GuardedAnalyser) -> None:
    import operator

    assert guard.call("power", pow, 2, 10) == 1024
    assert guard.call("pid", os.getpid) == guard.worker_pid != os.getpid()
    # the default rule set is not pickled: the worker's own stands in for it, same codes
    assert guard.call("codes", operator.attrgetter("codes"), load_rules()) == load_rules().codes


def test_a_call_that_hangs_crashes_or_raises_is_a_guard_failure_and_the_worker_recovers(
    guard: GuardedAnalyser,
) -> None:
    from ems.runtime.guard import GuardFailure

    timeouts, crashes = guard.events.count(TIMEOUT), guard.events.count(WORKER_CRASH)
    started = time.monotonic()
    with pytest.raises(GuardFailure, match=r"sleepy fix stopped after 0.5 s"):
        guard.call("sleepy fix", time.sleep, 60, timeout=0.5)
    assert time.monotonic() - started < 10
    assert guard.events.count(TIMEOUT) == timeouts + 1
    with pytest.raises(GuardFailure, match=r"crashed on fatal fix \(killed by SIGABRT\)"):
        guard.call("fatal fix", os.abort, timeout=30)
    assert guard.events.count(WORKER_CRASH) == crashes + 1
    with pytest.raises(GuardFailure, match=r"bad fix raised ValueError"):
        guard.call("bad fix", int, "not a number")
    assert _codes(guard.analyse("x = 1\n", "ok.py", ruleset=FAULTY)) == ["EMS994"]
    assert guard.call("after", pow, 3, 2) == 9


def test_idle_collection_waits_for_a_pause_before_a_full_one(monkeypatch: pytest.MonkeyPatch) -> None:
    from ems.runtime import guard

    collected: list[int] = []
    monkeypatch.setattr(guard.gc, "collect", lambda generation=2: collected.append(generation) or 0)
    every = guard._FULL_COLLECTION_EVERY

    def poll(answers: dict[float, bool]) -> Callable[[float], bool]:
        return lambda timeout: answers[timeout]

    typing = poll({0: False, guard._QUIET_BEFORE_FULL_S: True})  # the next keystroke came
    paused = poll({0: False, guard._QUIET_BEFORE_FULL_S: False})
    waiting = poll({0: True})  # a request is already there: no collection at all

    assert guard.collect_when_idle(waiting, every, 0) == 0 and collected == []
    assert guard.collect_when_idle(paused, every - 1, 0) == 0 and collected == [1]
    assert guard.collect_when_idle(typing, every, 0) == 0 and collected == [1, 1]
    assert guard.collect_when_idle(paused, every + 3, 0) == every + 3 and collected == [1, 1, 1, 2]


def _versions() -> list[str]:
    """Versions of one document as an editor makes them: typing, a line added, one removed,
    the start and the end changed, a character outside the BMP, everything replaced."""
    text = "import os\n\n\ndef f(a):\n    return a + 1\n\n\nclass C:\n    x = 1\n"
    out = [text]
    for new in (
        text.replace("a + 1", "a + 12"),
        text.replace("a + 1", "a + 12").replace("    x = 1\n", "    x = 1\n    y = os\n"),
        text.replace("import os\n", ""),
        "# \U0001f600 head\n" + text + "z = f(2)\n",
        "print(undefined_name)\n",
    ):
        out.append(new)
    return out


def test_an_edited_documents_versions_are_sent_as_edits_and_equal_a_whole_analysis() -> None:
    """After the first version only what changed crosses the pipe (``TextEdit``), and each
    version's report equals the in-process analysis of its whole text."""
    with GuardedAnalyser(timeout=20.0) as guard:
        guard.start()
        assert guard._conn is not None
        sent: list[object] = []
        real_send = guard._conn.send

        def recording(message: object) -> None:
            sent.append(message)
            real_send(message)

        guard._conn.send = recording  # type: ignore[method-assign]
        for text in _versions():
            assert guard.analyse(text, "doc.py", edited=True) == analyse(text, "doc.py")
    edits = [m[1] for m in sent if isinstance(m, tuple) and isinstance(m[1], TextEdit)]
    assert len(edits) == len(_versions())
    assert edits[0].base == 0 and all(e.base for e in edits[1:])  # one whole text, then edits
    assert edits[1].middle == "2" and len(edits[2].middle) < 20


def test_an_edit_of_a_text_the_worker_does_not_hold_is_answered_from_the_whole_text(
    guard: GuardedAnalyser,
) -> None:
    """A replaced worker (or one that let the text go) answers "stale" and gets the whole text."""
    first, second = _versions()[:2]
    guard.analyse(first, "held.py", edited=True)
    pid = guard.worker_pid
    assert pid is not None
    guard._held["held.py"] = (10**9, first)  # a version the worker never saw
    assert guard.analyse(second, "held.py", edited=True) == analyse(second, "held.py")
    assert guard.worker_pid == pid  # no crash, no replacement: only the text resent
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    third = _versions()[2]
    assert guard.analyse(third, "held.py", edited=True) == analyse(third, "held.py")


def test_a_text_edit_applies_to_its_base() -> None:
    old = "abc\ndef\n"
    assert TextEdit(1, 2, 2, 3, "XY").apply(old) == "abXYef\n"
    assert TextEdit(0, 1, 0, 0, "whole").apply("") == "whole"


async def test_an_edit_awaited_on_the_loop_equals_a_whole_analysis_and_falls_back_when_it_must() -> None:
    """``analyse_async``: the first version (no base in the worker) and a large edit go
    through a thread; small edits are sent and read by the loop; each report is the
    in-process analysis's."""
    from concurrent.futures import ThreadPoolExecutor

    executor = ThreadPoolExecutor(max_workers=1)
    with GuardedAnalyser(timeout=20.0) as guard:
        guard.start()
        for text in [*_versions(), _versions()[0] + "x = 1\n" * 5000]:
            assert await guard.analyse_async(text, "doc.py", Config(), executor=executor) == analyse(
                text, "doc.py"
            )
        assert guard.texts_sent == {"wholeTexts": 1, "textEdits": len(_versions())}
    executor.shutdown()


async def test_a_hang_or_crash_awaited_on_the_loop_is_reported_and_the_worker_replaced() -> None:
    from concurrent.futures import ThreadPoolExecutor

    executor = ThreadPoolExecutor(max_workers=1)
    policy = RestartPolicy(max_restarts=1000)
    with GuardedAnalyser(timeout=2.0, events=EventCounter(), restart_policy=policy) as guard:
        guard.start()
        config = Config()
        assert _codes(await guard.analyse_async("z = 3\n", "f.py", config, FAULTY, executor=executor)) == [
            "EMS994"
        ]
        report = await guard.analyse_async("z = 3\nHANG = 1\n", "f.py", config, FAULTY, executor=executor)
        assert _codes(report) == ["EMS902"]
        assert guard.events.count(TIMEOUT) == 1
        assert _codes(await guard.analyse_async("z = 4\n", "f.py", config, FAULTY, executor=executor)) == [
            "EMS994"
        ]
        await guard.analyse_async("z = 5\n", "f.py", config, FAULTY, executor=executor)  # held again
        report = await guard.analyse_async("z = 5\nSEGV = 1\n", "f.py", config, FAULTY, executor=executor)
        assert _codes(report) == ["EMS903"]
        assert _codes(await guard.analyse_async("z = 6\n", "f.py", config, FAULTY, executor=executor)) == [
            "EMS994"
        ]
    executor.shutdown()
