"""Hostile inputs and bugs: no traceback for the user, and exit codes CI can rely on.

0 clean, 1 findings, 2 usage or internal error (as ruff). ``ems fix`` treats what it
cannot read the way ``ems check`` does: an E902 finding, and the run goes on.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from checkout_ems import run_ems
from sample_projects import cached_results

from ems.cli import main as cli_main


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS file systems refuse names that are not UTF-8")
def test_a_file_name_that_is_not_utf8_is_checked_and_fixed_with_the_cache_on(tmp_path: Path) -> None:
    name = os.fsencode(tmp_path) + b"/undecodable_\xff.py"
    with open(name, "wb") as handle:
        handle.write(b"import os\n")
    for attempt in ("cold", "warm"):
        proc = run_ems("check", ".", cwd=tmp_path)
        assert proc.returncode == 1, (attempt, proc.stderr)
        assert "Traceback" not in proc.stderr and "F401" in proc.stdout, attempt
    assert cached_results(tmp_path)
    proc = run_ems("fix", ".", "--unsafe-fixes", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    with open(name, "rb") as handle:
        assert handle.read() == b""


def test_an_internal_error_exits_2_with_one_line_and_a_log_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import ems.cli.check as check

    def broken(*args: object) -> int:  # whatever _run's parameters are
        raise RuntimeError("something ems did not expect")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(check, "_run", broken)
    (tmp_path / "a.py").write_text("x = 1\n")
    code = cli_main.main(["check", "a.py"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1, err
    assert err.startswith("ems: internal error: RuntimeError: something ems did not expect")
    log = (tmp_path / ".ems" / "logs" / "ems.log").read_text()
    assert "internal error: RuntimeError" in log and "Traceback" in log


def test_findings_exit_1_and_a_clean_file_exits_0(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("import os\n")
    (tmp_path / "good.py").write_text("x = 1\n")
    assert run_ems("check", "bad.py", cwd=tmp_path).returncode == 1
    assert run_ems("check", "good.py", cwd=tmp_path).returncode == 0


def test_fix_reports_symlink_loops_and_dangling_links_as_e902_and_goes_on(tmp_path: Path) -> None:
    (tmp_path / "loop_a.py").symlink_to("loop_b.py")
    (tmp_path / "loop_b.py").symlink_to("loop_a.py")
    (tmp_path / "dangling.py").symlink_to("missing.py")
    (tmp_path / "ok.py").write_text("import os\nx = 1\n")
    check = run_ems("check", ".", "--no-source", cwd=tmp_path)
    assert check.returncode == 1 and check.stdout.count("E902") == 3
    for named in ((".",), ("loop_a.py", "dangling.py", "ok.py")):
        (tmp_path / "ok.py").write_text("import os\nx = 1\n")
        proc = run_ems("fix", *named, cwd=tmp_path)
        assert "Traceback" not in proc.stderr and "error:" not in proc.stderr, proc.stderr
        assert proc.returncode == 1, (named, proc.stderr)  # the E902 findings remain
        assert "loop_a.py:1:1: E902" in proc.stderr and "dangling.py:1:1: E902" in proc.stderr
        assert (tmp_path / "ok.py").read_text() == "x = 1\n", named  # the rest was fixed


def test_a_file_too_deeply_nested_for_libcst_is_left_untouched_with_one_line(tmp_path: Path) -> None:
    # The too-deep statement holds a finding (E711) of a shape only libcst fixes (`==None`:
    # libcst judges whether `is` may touch its operand), so libcst must read it.
    data = "import os\ny = " + " + ".join(["1"] * 900) + " ==None\n"
    target = tmp_path / "deep.py"
    target.write_text(data)
    proc = run_ems("fix", "deep.py", cwd=tmp_path)
    assert "Traceback" not in proc.stderr, proc.stderr[:2000]
    assert proc.stderr.strip().splitlines() == [
        "deep.py: the file is nested too deeply for libcst (RecursionError); not fixed"
    ]
    assert proc.returncode == 1
    assert target.read_text() == data


def test_fixes_made_as_text_edits_need_no_libcst_even_in_a_too_deep_file(tmp_path: Path) -> None:
    """F401 and E711 of these shapes are fixed as text edits (``ems.fixes.textedit``), and
    ``ast`` takes the deep statement: the file is fixed and verified as any other."""
    deep = "y = " + " + ".join(["1"] * 900)
    target = tmp_path / "deep.py"
    target.write_text("import os\n" + deep + " == None\n")
    proc = run_ems("fix", "deep.py", "--unsafe-fixes", cwd=tmp_path)
    assert proc.stderr == "", proc.stderr[:2000]
    assert proc.returncode == 0, proc.stdout
    assert target.read_text() == deep + " is None\n"


def test_a_too_deep_statement_without_a_finding_does_not_stop_other_fixes(tmp_path: Path) -> None:
    """libcst reads only the statements holding findings (``ems.fixes.slices``): a
    statement it cannot take elsewhere in the file no longer blocks the file's fixes."""
    deep = "y = " + " + ".join(["1"] * 900) + "\n"
    rest = "".join(f"def f{n}():\n    return {n}\n" for n in range(40))
    target = tmp_path / "deep.py"
    target.write_text("import os\n" + deep + rest)
    proc = run_ems("fix", "deep.py", cwd=tmp_path)
    assert proc.stderr == "", proc.stderr[:2000]
    assert proc.returncode == 0, proc.stdout
    assert target.read_text() == deep + rest
