"""What a cached F401 judgement depended on: a change re-judges only a changed answer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ems.fixes.reexports import dependency, names_imported_from, recheck


def _touch(path: Path, text: str) -> None:
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text)
    later = max(before + 1_000_000_000, path.stat().st_mtime_ns)
    os.utime(path, ns=(later, later))


def test_a_tree_change_keeps_the_row_unless_the_answer_changes(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.py", tmp_path / "b.py", tmp_path / "c.py"
    _touch(a, "import os\nimport sys\n")
    _touch(b, "X = 1\n")
    at_stake = frozenset({"os", "sys"})
    recorded = dependency(str(a), at_stake)
    assert recorded is not None
    assert recheck(str(a), recorded)  # nothing changed
    _touch(c, "from b import X\n")  # a new file, importing nothing from a
    assert recheck(str(a), recorded)  # the same answer: the row is kept
    _touch(b, "from a import os\n")  # now a re-export
    assert names_imported_from(str(a)) == {"os"}
    assert not recheck(str(a), recorded)
    again = dependency(str(a), at_stake)
    assert again is not None and again != recorded
    _touch(c, "from a import json\n")  # a name not at stake: the answer is the same
    assert recheck(str(a), again)
    b.unlink()  # the importer goes: no longer a re-export
    assert not recheck(str(a), again)
    assert recheck(str(a), recorded)
    assert not recheck(str(a), "not json")


def test_words_before_import_finds_every_word_the_pattern_finds() -> None:
    """The scan by ``bytes.find`` stands in for the regular expression it replaced (50x
    faster on the stdlib): never a word fewer, on tricky text and on ems's own sources."""
    import re
    from pathlib import Path

    from ems.fixes.importindex import words_before_import

    pattern = re.compile(rb"(\w+)[\s\\]*import\b")
    samples = [
        b"from a.b import c\nfrom .compat import (x,\n y)\nimport os\n",
        b"from pkg \\\n    import name\nreimport = 1\nimportlib.import_module('x')\n",
        b"x = 'from q import r'  # from z import w\nimport",
    ]
    own = [p.read_bytes() for p in (Path(__file__).resolve().parents[2] / "src" / "ems").rglob("*.py")]
    for data in samples + own:
        assert set(pattern.findall(data)) <= words_before_import(data)
    assert words_before_import(samples[0]) == {b"b", b"compat"}
    assert words_before_import(samples[1]) == {b"pkg", b"re"}


def test_a_worker_told_the_scans_fingerprint_discovers_the_project_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker the scan did not fork (``spawn``: a process with threads) is told the
    project's fingerprint: it discovers the project once, not once per judged file."""
    import ems.fixes.reexports as reexports

    (tmp_path / "ems.toml").write_text("")  # a project root
    _touch(tmp_path / "a.py", "import os\n")
    _touch(tmp_path / "b.py", "from a import os\n")
    calls: list[str] = []
    real = reexports.project_files

    def counted(root: str, project: bool) -> dict[str, tuple[int, int]]:
        calls.append(root)
        return real(root, project)

    monkeypatch.setattr(reexports, "project_files", counted)
    index = reexports.index_for(str(tmp_path), True)
    assert len(calls) == 1
    with reexports.expecting(str(tmp_path), index.fingerprint):
        for _ in range(3):
            assert reexports.names_imported_from(str(tmp_path / "a.py")) == {"os"}
    assert len(calls) == 1
    assert reexports.names_imported_from(str(tmp_path / "a.py")) == {"os"}  # no scan: look again
    assert len(calls) == 2
