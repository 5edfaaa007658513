"""Verification's guard rules (``engine.verifying``): F821, F811 (and F701, F702, F706) run on every fixed text
whatever the user selected, in the same analysis as the selected rules (no analysis more),
and their findings are neither fixed nor reported unless selected. Analyses are counted
with a wrapper around the engine's ``analyse``, never timed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ems.core import Config, load_rules
from ems.core.analyse import analyse
from ems.core.model import Fixability, Report
from ems.fixes import engine

JOINT = "from dataclasses import dataclass, field\n\n\n@dataclass\nclass Box:\n    items: list = []\n"
FIXED = JOINT.replace("= []", "= field(default_factory=list)")
# a new undefined name, a shadowed one, a `break`/`continue`/`return` outside its block
GUARDS = {"F821", "F811", "F701", "F702", "F706"}


@pytest.fixture
def analyses(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Config]]:
    """Every text the fix engine analyses, with the configuration, in order."""
    seen: list[tuple[str, Config]] = []
    real: Callable[..., Report] = engine.analyse

    def counting(text: str, path: str, config: Config, *args: Any, **kwargs: Any) -> Report:
        seen.append((text, config))
        return real(text, path, config, *args, **kwargs)

    monkeypatch.setattr(engine, "analyse", counting)
    return seen


def test_the_guard_rules_are_added_only_when_the_selection_lacks_them() -> None:
    rules = load_rules()
    config = Config()
    assert engine.verifying(config, rules, "m.py") == (config, frozenset())
    assert engine.verifying(Config(select=("F", "E9")), rules, "m.py")[1] == frozenset()
    checking, guards = engine.verifying(Config(select=("F401", "EMS106")), rules, "m.py")
    assert guards == GUARDS
    assert checking.selected(rules.codes, "m.py") == {"F401", "EMS106", *GUARDS}
    # an ignored guard is run by verification all the same; a per-file ignore still holds
    ignoring = Config(ignore=("F821",), per_file_ignores=(("m.py", ("E711",)),))
    checking, guards = engine.verifying(ignoring, rules, "m.py")
    assert guards == {"F821"}
    assert checking.selected(rules.codes, "m.py") == ignoring.selected(rules.codes, "m.py") | {"F821"}


def test_a_narrow_selection_fixes_as_the_full_one_with_as_many_analyses(
    analyses: list[tuple[str, Config]],
) -> None:
    """The joint batch fails (F821: `field` undefined), F401 is applied, then EMS106's fix
    adds the import back: the same passes and analyses whether F821 is selected or not."""
    counts = []
    for select in (("F401", "EMS106"), ("F401", "EMS106", "F821")):
        analyses.clear()
        result = engine.fix_all(JOINT, "box.py", Config(select=select), unsafe=True)
        assert result.text == FIXED
        assert sorted(code for code, _ in result.applied) == ["EMS106", "F401"]
        assert not result.failures and result.passes == 3
        counts.append(len(analyses))
    assert counts[0] == counts[1] <= 4, counts


def test_fixability_judged_from_the_scan_s_report(analyses: list[tuple[str, Config]]) -> None:
    """``with_fixability`` gets the report of the user's selection (no F821): the texts it
    verifies are analysed with the guards, and the judged text's own guard findings are
    found (by the guard rules alone) only once a fixed text has some: one analysis more
    than with F821 selected, here where the joint batch leaves `field` undefined."""
    counts = []
    for select in (("F401", "EMS106"), ("F401", "EMS106", *GUARDS)):
        config = Config(select=select)
        report = analyse(JOINT, "box.py", config)
        analyses.clear()
        judged = engine.with_fixability(JOINT, "box.py", config, load_rules(), report)
        marks = {f.code: f.fixability for f in judged.findings}
        assert marks == {"F401": Fixability.SAFE, "EMS106": Fixability.HIDDEN}
        counts.append(len(analyses))
        if len(select) == 2:
            alone = [c.select for _, c in analyses if c.select == tuple(sorted(GUARDS))]
            assert len(alone) == 1, analyses  # the judged text, once
    assert counts[0] == counts[1] + 1, counts


def test_guard_findings_are_neither_fixed_nor_reported() -> None:
    """F811's fix (a repeated import) is not applied under ``--select F401``, and the
    remaining findings are the selected rules' only."""
    text = "import os\nimport os\nimport sys\n\nprint(os.sep, missing)\n"
    result = engine.fix_all(text, "m.py", Config(select=("F401",)))
    assert result.text == "import os\nimport os\n\nprint(os.sep, missing)\n"
    assert [f.code for f in result.remaining] == []
    assert not result.failures


def test_an_undefined_name_the_text_had_does_not_block_a_fix() -> None:
    """The judged text's own undefined name is found again after the fix: not new."""
    text = "import sys\n\nprint(missing)\n"
    config = Config(select=("F401",))
    report = analyse(text, "m.py", config)
    (finding,) = report.findings
    fix = engine.fixes_for(text, finding, "m.py", config, report=report)
    assert fix is not None
