"""A pool's workers share one import of what they all need (libcst, to judge fixes):
``ordered_map(preload=)`` imports it before the workers start, and only when a pool starts.

Each case runs in a fresh interpreter, where nothing has imported libcst yet.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ems.core import Config, load_rules
from ems.core.model import Safety
from ems.core.registry import RuleSet
from ems.core.rule import Rule
from ems.fixes.lazy import CST_MODULES, FIX_MODULES, fix_modules

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork (POSIX)")

_SCRIPT = textwrap.dedent(
    """
    import json, os, sys, time
    from ems.core.registry import load_rules
    from ems.runtime.pool import ordered_map

    def seen(item):
        # whether the worker had libcst before its own code asked for it; slow enough
        # that this process (which takes its share) does not finish before a child starts
        time.sleep(0.02)
        return os.getpid(), "libcst" in sys.modules

    asked = []

    def preload():
        asked.append(True)
        return ("libcst",)

    jobs, count = int(sys.argv[1]), int(sys.argv[2])
    mapped = ordered_map(seen, list(range(count)), jobs, load_rules(), preload=preload)
    results = list(mapped)
    mapped.close()
    print(json.dumps({"asked": bool(asked), "parent": os.getpid(), "results": results}))
    """
)


def _run(jobs: int, count: int) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(jobs), str(count)], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def test_a_pool_s_workers_start_with_the_preloaded_modules() -> None:
    out = _run(2, 16)
    assert out["asked"] is True
    results = out["results"]
    assert isinstance(results, list)
    assert {pid for pid, _ in results} - {out["parent"]}, "no worker process ran"
    assert all(had for _, had in results)


@pytest.mark.parametrize(("jobs", "count"), [(1, 16), (2, 3)])
def test_no_pool_no_preload(jobs: int, count: int) -> None:
    """In-process (one job, or too few items for a pool): nothing is imported ahead."""
    out = _run(jobs, count)
    assert out["asked"] is False
    results = out["results"]
    assert isinstance(results, list)
    assert not any(had for _, had in results)


_LAZY_SCRIPT = textwrap.dedent(
    """
    import json, os, sys, time
    from ems.core.registry import lazy_rules
    from ems.runtime.pool import ordered_map

    def seen(item):
        # which rule modules the process had before its own work; slow enough that this
        # process (which takes its share) does not finish before a child starts
        time.sleep(0.02)
        return os.getpid(), "ems.rules.f401_unused_import" in sys.modules

    ruleset = lazy_rules()
    before = "ems.rules.f401_unused_import" in sys.modules
    mapped = ordered_map(seen, list(range(16)), 2, ruleset)
    results = list(mapped)
    mapped.close()
    print(json.dumps({"before": before, "parent": os.getpid(), "results": results}))
    """
)


def test_forked_workers_inherit_the_rules_loaded_once_before_they_start() -> None:
    """A lazily loaded rule set is loaded by the parent before it forks: each child
    importing the rule modules afresh repeated that import's whole cost."""
    done = subprocess.run([sys.executable, "-c", _LAZY_SCRIPT], capture_output=True, text=True, check=True)
    out = json.loads(done.stdout)
    assert out["before"] is False
    results = out["results"]
    assert {pid for pid, _ in results} - {out["parent"]}, "no worker process ran"
    assert all(had for _, had in results)


def test_fix_modules_only_when_a_rule_with_a_fix_is_selected(tmp_path: Path) -> None:
    rules = load_rules()
    assert fix_modules([Config(root=tmp_path)], rules) == FIX_MODULES
    assert fix_modules([Config(root=tmp_path, select=("E9",))], rules) == ()
    assert fix_modules([Config(root=tmp_path, select=("E9",)), Config(root=tmp_path)], rules) == FIX_MODULES


def test_libcst_is_not_preloaded_when_every_selected_fix_has_a_text_route(tmp_path: Path) -> None:
    """Every built-in fix has a text route (``Rule.text_fix``); a plug-in rule whose fix
    is libcst's alone brings libcst back into the preload when it is selected."""
    rules = load_rules()
    assert all(rule.has_text_fix() for rule in rules.rules if rule.has_fix())
    assert fix_modules([Config(root=tmp_path, select=("F", "E9"))], rules) == FIX_MODULES
    assert fix_modules([Config(root=tmp_path, select=("F", "B006"))], rules) == FIX_MODULES

    class LibcstOnly(Rule):
        code = "XYZ001"
        name = "libcst-only"
        summary = explanation = "a plug-in's rule with a libcst fix only"
        fix_safety = Safety.SAFE

    assert not LibcstOnly.has_text_fix()
    with_plugin = RuleSet([*rules.rules, LibcstOnly])
    assert fix_modules([Config(root=tmp_path)], with_plugin) == FIX_MODULES + CST_MODULES
    assert fix_modules([Config(root=tmp_path, select=("F",))], with_plugin) == FIX_MODULES
