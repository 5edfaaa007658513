"""EMS106's fix when `field` is not imported, or imported but otherwise unused: what
``ems check`` marks fixable is what ``ems fix --unsafe-fixes`` fixes, and the result runs.

`field` unused: F401 removes the import and EMS106's fix, computed in the same pass,
fails verification with it (`field` undefined); in the next pass EMS106's fix adds the
import back, so both findings are fixed. `field` not imported: the fix adds it to the
`from dataclasses import ...` line. A module binding `field` itself gets `import
dataclasses` and `dataclasses.field`; one that binds `dataclasses` too gets no fix.
"""

from __future__ import annotations

import json
from pathlib import Path

from checkout_ems import run_ems, run_python

_HEAD = "from dataclasses import dataclass{}\n\n\n@dataclass\nclass Box:\n"
FILES = {
    "unused.py": _HEAD.format(", field") + "    items: list = []\n    seen: dict = {}\n",
    "missing.py": _HEAD.format("") + "    items: list = []\n    tags: set = {'a'}\n",
    "module.py": "import dataclasses\n\n\n@dataclasses.dataclass\nclass Box:\n    items: list = []\n",
    "own.py": _HEAD.format("") + "    field: int = 0\n    items: list = []\n",
    "both.py": "from dataclasses import dataclass\n\ndataclasses = None\n\n\n@dataclass\nclass Box:\n"
    "    field: int = 0\n    items: list = []\n",
}
FIXED = {
    "unused.py": _HEAD.format(", field")
    + "    items: list = field(default_factory=list)\n    seen: dict = field(default_factory=dict)\n",
    "missing.py": _HEAD.format(", field")
    + "    items: list = field(default_factory=list)\n    tags: set = field(default_factory=lambda: {'a'})\n",
    "module.py": "import dataclasses\n\n\n@dataclasses.dataclass\nclass Box:\n"
    "    items: list = dataclasses.field(default_factory=list)\n",
    # the class's own `field` attribute: `import dataclasses`, `dataclasses.field`
    "own.py": "from dataclasses import dataclass\nimport dataclasses\n\n\n@dataclass\nclass Box:\n"
    "    field: int = 0\n    items: list = dataclasses.field(default_factory=list)\n",
    # `field` and `dataclasses` both bound otherwise: no fix
    "both.py": FILES["both.py"],
}


def _findings(project: Path) -> list[dict[str, object]]:
    done = run_ems("check", ".", "--no-cache", "--exit-zero", "--format", "json", cwd=project)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_ems106_is_fixed_whether_field_is_unused_or_not_imported(tmp_path: Path) -> None:
    for name, text in FILES.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    before = _findings(tmp_path)
    offers = {(f["path"], f["code"], f["line"]): f["fix"] for f in before if f["code"] in ("EMS106", "F401")}
    assert offers == {
        ("unused.py", "F401", 1): {"title": "Remove unused import", "safety": "safe", "applied": True},
        **{
            (path, "EMS106", line): {
                "title": "Use `field(default_factory=...)`",
                "safety": "unsafe",
                "applied": False,  # hidden: `ems fix --unsafe-fixes` applies it
            }
            for path, line in (("unused.py", 6), ("unused.py", 7), ("missing.py", 6), ("missing.py", 7))
        },
        ("module.py", "EMS106", 6): {
            "title": "Use `field(default_factory=...)`",
            "safety": "unsafe",
            "applied": False,
        },
        ("own.py", "EMS106", 7): {
            "title": "Use `field(default_factory=...)`",
            "safety": "unsafe",
            "applied": False,
        },
        ("both.py", "EMS106", 9): None,  # `field` and `dataclasses` mean something else: no fix
    }
    marked = sum(1 for fix in offers.values() if fix)
    done = run_ems("fix", ".", "--no-cache", "--unsafe-fixes", cwd=tmp_path)
    assert f"Fixed {marked} findings" in done.stdout, done.stdout + done.stderr
    for name, text in FIXED.items():
        assert (tmp_path / name).read_text(encoding="utf-8") == text, name
    left = {(f["path"], f["code"]) for f in _findings(tmp_path) if f["code"] in ("EMS106", "F401")}
    assert left == {("both.py", "EMS106")}
    for name in ("unused", "missing", "module", "own"):
        ran = run_python(f"import {name}; assert {name}.Box().items == []", tmp_path)
        assert ran.returncode == 0, ran.stderr


def test_safe_fixes_alone_remove_the_unused_field_and_leave_ems106_fixable(tmp_path: Path) -> None:
    """`ems fix` without unsafe fixes applies F401 only (as `ems check` marked it); EMS106
    then still offers its (unsafe) fix, which now adds the import."""
    (tmp_path / "unused.py").write_text(FILES["unused.py"], encoding="utf-8")
    done = run_ems("fix", ".", "--no-cache", cwd=tmp_path)
    assert "Fixed 1 finding" in done.stdout, done.stdout + done.stderr
    assert (
        (tmp_path / "unused.py").read_text(encoding="utf-8").startswith("from dataclasses import dataclass\n")
    )
    after = [f for f in _findings(tmp_path) if f["code"] == "EMS106"]
    assert [f["fix"] and f["fix"]["safety"] for f in after] == ["unsafe", "unsafe"]
    run_ems("fix", ".", "--no-cache", "--unsafe-fixes", cwd=tmp_path)
    assert (tmp_path / "unused.py").read_text(encoding="utf-8") == FIXED["unused.py"]
