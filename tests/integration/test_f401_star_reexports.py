"""F401 in a module that another module of the project star-imports: a public name of a
module without `__all__` reaches the importer through `from ._constants import *`, so
removing it breaks the importer (`benchmarks/fix_audit.py` found it on the standard library:
`re/_constants.py`'s unused `MAXGROUPS`, which `re/_parser.py` reads through its star
import; `ems fix` made every module importing `re` fail). Such a name is reported but gets
no fix; a private name, or a module with `__all__`, keeps its fix; and a star import that
appears after a cached run withdraws the fix on the next (warm) run."""

from __future__ import annotations

import json
from pathlib import Path

from checkout_ems import run_ems, run_python

CONSTANTS = "from os import sep, getcwd as _getcwd\n\nMAXIMUM = 3\n"
PARSER = "from ._constants import *\n\n\ndef joined(a, b):\n    return a + sep + b\n"


def _project(root: Path, constants: str = CONSTANTS, parser: str | None = PARSER) -> None:
    (root / "pkg").mkdir()
    (root / "ems.toml").write_text("# project root\n")
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "_constants.py").write_text(constants)
    if parser is not None:
        (root / "pkg" / "_parser.py").write_text(parser)


def _offers(root: Path, *extra: str) -> dict[str, object]:
    done = run_ems("check", ".", "--exit-zero", "--format", "json", "--select", "F401", *extra, cwd=root)
    assert done.returncode == 0, done.stderr
    return {f["message"]: f["fix"] and f["fix"]["applied"] for f in json.loads(done.stdout)}


def test_a_star_imported_public_name_is_reported_but_not_removed(tmp_path: Path) -> None:
    _project(tmp_path)
    assert _offers(tmp_path, "--no-cache") == {
        "`os.sep` imported but unused": None,  # `pkg._parser` reads it through `*`
        "`os.getcwd` imported but unused": True,  # `_getcwd`: a star import leaves it out
    }
    done = run_ems("fix", ".", "--no-cache", cwd=tmp_path)
    assert "Fixed 1 finding" in done.stdout, done.stdout + done.stderr
    assert (tmp_path / "pkg" / "_constants.py").read_text() == "from os import sep\n\nMAXIMUM = 3\n"
    ran = run_python("import os, pkg._parser as p; assert p.joined('a', 'b') == 'a' + os.sep + 'b'", tmp_path)
    assert ran.returncode == 0, ran.stderr


def test_a_module_with_all_keeps_its_fix(tmp_path: Path) -> None:
    """`__all__` lists what a star import takes, and F401 does not report a name in it."""
    _project(
        tmp_path, CONSTANTS + '__all__ = ["MAXIMUM"]\n', "from ._constants import *\n\nLIMIT = MAXIMUM\n"
    )
    assert _offers(tmp_path, "--no-cache") == {
        "`os.sep` imported but unused": True,
        "`os.getcwd` imported but unused": True,
    }


def test_a_star_import_added_later_withdraws_the_cached_fix(tmp_path: Path) -> None:
    _project(tmp_path, parser=None)
    assert _offers(tmp_path)["`os.sep` imported but unused"] is True
    (tmp_path / "pkg" / "_parser.py").write_text(PARSER)
    assert _offers(tmp_path)["`os.sep` imported but unused"] is None
    (tmp_path / "pkg" / "_parser.py").unlink()
    assert _offers(tmp_path)["`os.sep` imported but unused"] is True
