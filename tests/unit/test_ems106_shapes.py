"""EMS106's shapes: `@dc.dataclass` under `import dataclasses as dc`, and a module that binds
`field` some other way (a method's loop variable, a class attribute, a module-level name),
where the fix now writes `dataclasses.field` and adds `import dataclasses` (a new
`from dataclasses import field` would be shadowed by, or shadow, the other `field`: F402).
A module that binds `dataclasses` too gets no fix. The language server's incremental
analysis gives the same findings as a full one when another statement starts binding one
of the names, and the fixed modules run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ems.core.analyse import analyse
from ems.core.config import Config
from ems.core.incremental import IncrementalAnalyser
from ems.core.model import Report
from ems.core.registry import load_rules
from ems.fixes.engine import fix_all

RULES = load_rules()
CONFIG = Config()
LOOP = (
    "from dataclasses import dataclass, fields\n\n\n@dataclass\nclass Box:\n    seen: list = []\n\n"
    "    def show(self):\n        for field in fields(self):\n            print(field.name)\n"
)
NEW_IMPORT = "from dataclasses import dataclass, fields\nimport dataclasses\n"
WRITTEN = "    seen: list = dataclasses.field(default_factory=list)\n"


def _ems106(text: str) -> list[tuple[str, str]]:
    """(how the fix spells `field`, what it imports) per EMS106 finding; ("", "") no fix."""
    report = analyse(text, "box.py", Config(select=("EMS106",)), RULES)
    return [(f.datum("field"), f.datum("import")) for f in report.findings]


def _runs(text: str, tmp_path: Path, check: str) -> None:
    (tmp_path / "box.py").write_text(text, encoding="utf-8")
    ran = subprocess.run(
        [sys.executable, "-c", f"import box; {check}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stderr


@pytest.mark.parametrize(
    ("text", "spelled"),
    [
        (
            LOOP.replace("    def show", "    def _unused").replace("for field in", "for item in"),
            ("field", "1"),
        ),
        (LOOP, ("dataclasses.field", "module")),
        (LOOP.replace("\n\n\n@", "\nfield = None\n\n\n@"), ("dataclasses.field", "module")),
        (
            LOOP.replace("    seen: list = []\n", "    field: int = 0\n    seen: list = []\n"),
            ("dataclasses.field", "module"),
        ),
        # a function around the class with a parameter `field` (no binding `binds_anywhere` sees)
        (
            "from dataclasses import dataclass\n\n\ndef make(field):\n    @dataclass\n    class Box:\n"
            "        seen: list = []\n\n    return Box\n",
            ("dataclasses.field", "module"),
        ),
        # `dataclasses` bound too (a variable, a parameter around the class): no fix
        (LOOP.replace("\n\n\n@", "\ndataclasses = None\n\n\n@"), ("", "")),
        (
            "from dataclasses import dataclass\n\n\ndef make(field, dataclasses):\n    @dataclass\n    class Box:\n"
            "        seen: list = []\n\n    return Box\n",
            ("", ""),
        ),
        # `import dataclasses` already there: spelled from it, nothing to import
        ("import dataclasses\n" + LOOP, ("dataclasses.field", "")),
    ],
)
def test_how_the_fix_spells_field(text: str, spelled: tuple[str, str]) -> None:
    assert _ems106(text) == [spelled]


def test_a_method_binding_field_gets_dataclasses_field_and_runs(tmp_path: Path) -> None:
    result = fix_all(LOOP, "box.py", CONFIG, unsafe=True, ruleset=RULES)
    assert not result.failures, result.failures
    assert result.text == LOOP.replace("from dataclasses import dataclass, fields\n", NEW_IMPORT).replace(
        "    seen: list = []\n", WRITTEN
    )
    _runs(result.text, tmp_path, "box.Box().show(); assert box.Box().seen == []")


def test_a_class_inside_a_function_with_a_field_parameter(tmp_path: Path) -> None:
    text = (
        "from dataclasses import dataclass\n\n\ndef make(field):\n    @dataclass\n    class Box:\n"
        "        seen: list = []\n\n    return Box\n"
    )
    result = fix_all(text, "box.py", CONFIG, unsafe=True, ruleset=RULES)
    assert "import dataclasses\n" in result.text
    assert "        seen: list = dataclasses.field(default_factory=list)\n" in result.text
    _runs(result.text, tmp_path, "assert box.make(1)().seen == []")


def test_an_aliased_dataclasses_module_is_recognised_and_spelled(tmp_path: Path) -> None:
    text = "import dataclasses as dc\n\n\n@dc.dataclass(frozen=True)\nclass Box:\n    seen: dict = {}\n"
    assert _ems106(text) == [("dc.field", "")]
    result = fix_all(text, "box.py", CONFIG, unsafe=True, ruleset=RULES)
    assert result.text == text.replace("= {}", "= dc.field(default_factory=dict)")
    _runs(result.text, tmp_path, "assert box.Box().seen == {}")
    # a `dc` that is not the dataclasses module: not a dataclass
    assert _ems106(text.replace("import dataclasses as dc", "import attrs as dc")) == []


def _comparable(report: Report) -> list[tuple[object, ...]]:
    return sorted((f.code, f.range, f.message, f.data, f.fixable) for f in report.findings)


@pytest.mark.parametrize(
    "edited",
    [
        # a method of the class itself that stops binding `field` (the class-body path compared
        # what the method's stub binds, which hides its body, and kept the class's findings)
        LOOP.replace(
            "for field in fields(self):\n            print(field.name)",
            "for item in fields(self):\n            print(item.name)",
        ),
        LOOP.replace("\n\n\n@", "\ndataclasses = None\n\n\n@"),
        LOOP.replace(
            "from dataclasses import dataclass, fields\n",
            "import dataclasses as dc\nfrom dataclasses import fields\n",
        ).replace("@dataclass", "@dc.dataclass"),
    ],
)
def test_the_incremental_analysis_rechecks_the_class_when_a_name_changes_elsewhere(edited: str) -> None:
    analyser = IncrementalAnalyser()
    for text in (LOOP, edited, LOOP):
        report = analyser.analyse(text, "box.py", CONFIG, RULES)
        assert _comparable(report) == _comparable(analyse(text, "box.py", CONFIG, RULES))
        analyser.prepare()
