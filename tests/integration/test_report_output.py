"""The report is streamed (JSON and SARIF one finding at a time) and `-o` writes it atomically.

Streaming must give the bytes one ``json.dumps`` would; `-o` must keep a previous report whole
when the run fails half-way, keep the file's mode, and write to a device in place.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ems.cli.check import _write_report_file
from ems.cli.formats import write_pieces

SOURCE = 'import os\n\n\ndef f(x):\n    if x == None:\n        return f"a"\n'


def ems(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ems", *args], cwd=cwd, capture_output=True, text=True)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "ems.toml").write_text('select = ["F401", "F541", "E711"]\n')
    for i in range(30):
        (tmp_path / f"m{i:02}.py").write_text(SOURCE)
    return tmp_path


@pytest.mark.parametrize("form", ["json", "sarif"])
def test_output_file_and_stdout_hold_the_same_complete_document(project: Path, form: str) -> None:
    shown = ems("check", "--no-cache", "--format", form, ".", cwd=project)
    assert shown.returncode == 1, shown.stderr
    written = ems("check", "--no-cache", "--format", form, "-o", "report.out", ".", cwd=project)
    assert written.returncode == 1 and written.stdout == ""
    text = (project / "report.out").read_text(encoding="utf-8")
    assert text == shown.stdout
    document = json.loads(text)
    findings = document if form == "json" else document["runs"][0]["results"]
    assert len(findings) == 90
    assert text == json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    assert [p.name for p in project.iterdir() if p.name.startswith(".report.out")] == []


def test_an_existing_report_keeps_its_mode(project: Path) -> None:
    report = project / "report.json"
    report.write_text("old")
    report.chmod(0o640)
    assert ems("check", "--no-cache", "--format", "json", "-o", str(report), ".", cwd=project).returncode == 1
    assert stat.S_IMODE(report.stat().st_mode) == 0o640
    assert len(json.loads(report.read_text())) == 90


def test_a_run_failing_half_way_leaves_the_previous_report_whole(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    report.write_text("the previous report\n")

    def pieces() -> Iterator[str]:
        yield "[\n"
        raise RuntimeError("rendering failed")

    with pytest.raises(RuntimeError, match="rendering failed"):
        _write_report_file(report, pieces())
    assert report.read_text() == "the previous report\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_a_device_is_written_in_place_not_replaced(project: Path) -> None:
    before = os.stat("/dev/null")
    result = ems("check", "--no-cache", "--format", "sarif", "-o", "/dev/null", ".", cwd=project)
    assert result.returncode == 1, result.stderr
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_ino == before.st_ino


def test_pieces_are_written_in_batches() -> None:
    writes: list[str] = []

    class Stream:
        def write(self, text: str) -> int:
            writes.append(text)
            return len(text)

    pieces = ["x" * 1000] * 3000  # about three batches of a million characters
    write_pieces(Stream(), pieces)  # type: ignore[arg-type]
    assert "".join(writes) == "".join(pieces)
    assert 2 <= len(writes) <= 4
