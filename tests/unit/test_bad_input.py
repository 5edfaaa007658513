"""Bad input never crashes anything: the engine, the project scan and ``ems check``.

Every case is judged the way the interpreter judges it: a file ``python3 FILE`` rejects
before running gets E999, a file it runs gets no E999. Files that cannot be read at all
(FIFOs, symlink loops, unreadable, dangling links) get E902, and the rest of the scan
goes on. The corpus is built in a temporary folder by ``build_corpus``.
"""

from __future__ import annotations

import codecs
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ems.core import Report, analyse
from ems.core.config import ConfigResolver
from ems.core.registry import load_rules
from ems.core.source import SourceText, decode_source
from ems.runtime.scan import read_source, scan

TEXTWRAP = Path(textwrap.__file__).read_bytes()


@dataclass(frozen=True)
class Case:
    name: str
    data: bytes
    rejected: bool  # does ``python3 FILE`` refuse it before running?
    oracle: bool = True  # run python3 on it to confirm ``rejected`` (harmless content only)


def _nested_blocks(depth: int) -> bytes:
    return b"".join(b" " * i + b"if True:\n" for i in range(depth)) + b" " * depth + b"pass\n"


BIG_LINE = b"value_%d = {'key': [1, 2, 3], 'other': None}  # padding padding padding\n"


def _ten_megabytes() -> bytes:
    """10 MB: a realistic generated module (data tables) ending in one long docstring."""
    head = b"".join(BIG_LINE % i for i in range(20_000))
    body = b"x" * (10 * 2**20 - len(head) - 20)
    return head + b'DATA = """' + body + b'"""\n'


CASES: tuple[Case, ...] = (
    Case("syntax_error.py", b"def f(:\n    pass\n", True),
    Case("truncated_module.py", TEXTWRAP[: len(TEXTWRAP) // 2 + 7], True),
    Case("truncated_in_string.py", b'x = """never closed\ny = 1\n', True),
    Case("truncated_mid_utf8.py", "s = 'é中🙂'\n".encode()[:-4], True),
    Case("invalid_utf8.py", b"x = 1\ny = '\xff\xfe'\n", True),
    Case("invalid_utf8_comment_line1.py", b"x = 1  # caf\xe9\n", True),
    Case("invalid_utf8_comment_line5.py", b"a = 1\nb = 2\nc = 3\nd = 4\ne = 5  # caf\xe9\n", True),
    Case("bom.py", codecs.BOM_UTF8 + b"x = 1\nif x == None:\n    pass\n", False),
    Case("bom_only.py", codecs.BOM_UTF8, False),
    Case("bom_with_latin1_cookie.py", codecs.BOM_UTF8 + b"# -*- coding: latin-1 -*-\nx = 1\n", True),
    Case("latin1_cookie.py", b"# -*- coding: latin-1 -*-\nx = '\xe9'\n", False),
    Case("unknown_encoding.py", b"# -*- coding: klingon -*-\nx = 1\n", True),
    Case("nul_byte.py", b"x = 1\x00\n", True),
    Case("nul_in_comment.py", b"x = 1  # \x00\n", True),
    Case("mixed_newlines.py", b"x = 1\r\ny = 2\rz = 3\nw = x == None\r\n", False),
    Case("cr_only.py", b"x = 1\ry = x == None\r", False),
    Case("form_feeds.py", b"\x0cimport os\n\x0c\ndef f():\n\x0c    return os\n\x0c", False),
    Case("form_feed_resets_indent.py", b"def f():\n    \x0creturn 1\n", True),
    Case("tabs.py", b"if True:\n\tx = 1\n\tif x:\n\t\ty = 2\n", False),
    Case("tabs_and_spaces.py", b"if True:\n\tif True:\n\t\tx = 1\n        y = 2\n", True),
    Case("nesting_1000_parens.py", b"x = " + b"(" * 1000 + b"1" + b")" * 1000 + b"\n", True),
    Case("nesting_1000_lists.py", b"x = " + b"[" * 1000 + b"]" * 1000 + b"\n", True),
    Case("nesting_1000_blocks.py", _nested_blocks(1000), True),
    Case("nesting_99_blocks.py", _nested_blocks(99), False),
    Case("nesting_190_parens.py", b"x = " + b"(" * 190 + b"1" + b")" * 190 + b"\n", False),
    Case("sum_900_terms.py", b"x = " + b" + ".join([b"1"] * 900) + b"\nif x == None:\n    pass\n", False),
    Case("sum_100000_terms.py", b"x = " + b" + ".join([b"1"] * 100_000) + b"\n", True),
    Case("unary_100000.py", b"x = " + b"-" * 100_000 + b"1\n", True),
    Case("binary_noise.py", bytes((i * 197 + 13) % 256 for i in range(4096)), True),
    Case("elf_header.py", b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 4, True),
    Case("empty.py", b"", False),
    Case("only_newlines.py", b"\n\r\n\r" * 100, False),
    Case("nonascii_syntax_error.py", "s = 'é中🙂' + (1 +\n".encode(), True),
    Case("lone_surrogate_escape.py", b"x = '\\ud800'\n", False),
    Case("ten_megabytes.py", _ten_megabytes(), False, oracle=False),
)


def _python_rejects(path: Path) -> bool:
    """True when ``python3 FILE`` fails before running (no runtime traceback)."""
    proc = subprocess.run(
        [sys.executable, "-I", "-S", str(path)], capture_output=True, text=True, errors="replace", timeout=60
    )
    return proc.returncode != 0 and "Traceback (most recent call last)" not in proc.stderr


def _assert_positions_inside(report: Report, data: bytes) -> None:
    try:
        src = SourceText(decode_source(data).text)
    except ValueError:
        src = SourceText(data.decode("utf-8", errors="replace"))
    lines = src.lines
    for finding in report.findings:
        for pos in (finding.range.start, finding.range.end):
            assert 1 <= pos.line <= max(len(lines), 1), (finding, len(lines))
            assert 0 <= pos.column <= len(src.line(pos.line)), (finding, src.line(pos.line)[:80])
        assert finding.range.start <= finding.range.end, finding


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_engine_judges_bad_input_like_the_interpreter(case: Case, tmp_path: Path) -> None:
    started = time.monotonic()
    report = analyse(case.data, case.name)
    assert time.monotonic() - started < 30
    assert report.syntax_error is case.rejected
    codes = [f.code for f in report.findings]
    if case.rejected:
        assert codes == ["E999"]
        assert report.findings[0].message.startswith("SyntaxError: ")
    else:
        assert "E999" not in codes and "EMS901" not in codes, report.findings
    _assert_positions_inside(report, case.data)
    if case.oracle:
        path = tmp_path / case.name
        path.write_bytes(case.data)
        assert _python_rejects(path) is case.rejected


def test_syntax_error_column_counts_characters_not_bytes() -> None:
    report = analyse("s = 'é中🙂' + (1 +\n".encode(), "x.py")
    (finding,) = report.findings
    assert (finding.line, finding.column) == (1, 12)  # the '(' (python3 says column 13, 1-based)


@pytest.mark.parametrize("first", ["x = (1 +", "x = ('é' +"])
def test_syntax_error_spanning_lines_ends_inside_its_last_line(first: str) -> None:
    """CPython converts a multi-line error's end offset with the first line's text (fuzz find)."""
    report = analyse(f"{first}\n  '中中' 2)\n", "x.py")
    (finding,) = report.findings
    assert (finding.range.end.line, finding.range.end.column) == (2, 8)  # after `'中中' 2`


def _special_files(root: Path) -> dict[str, str]:
    """Non-regular and unreadable entries; name -> expected code (or '' for none)."""
    os.mkfifo(root / "fifo.py")
    (root / "loop_a.py").symlink_to("loop_b.py")
    (root / "loop_b.py").symlink_to("loop_a.py")
    (root / "dangling.py").symlink_to("does_not_exist.py")
    (root / "x.py").mkdir()  # a directory named like a module: scanned as a folder
    (root / "x.py" / "inner.py").write_bytes(b"y = None == 1\n")
    (root / "sub").mkdir()
    (root / "sub" / "back").symlink_to("..", target_is_directory=True)  # a folder loop
    (root / "sub" / "ok.py").write_bytes(b"ok = 1\n")
    return {
        "fifo.py": "E902",
        "loop_a.py": "E902",
        "loop_b.py": "E902",
        "dangling.py": "E902",
        "x.py/inner.py": "E711",
        "sub/ok.py": "",
    }


def build_corpus(root: Path) -> dict[str, str]:
    """Write every case plus the special files; name -> expected finding code ('' = none)."""
    expected = {}
    for case in CASES:
        (root / case.name).write_bytes(case.data)
        expected[case.name] = "E999" if case.rejected else ""
    expected.update(_special_files(root))
    return expected


@pytest.fixture(scope="module")
def corpus() -> Iterator[tuple[Path, dict[str, str]]]:
    root = Path(tempfile.mkdtemp(prefix="ems-bad-input-"))
    try:
        expected = build_corpus(root)
        yield root, expected
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _codes_by_file(results: list[tuple[str, str]], root: Path) -> dict[str, set[str]]:
    by_file: dict[str, set[str]] = {}
    for path, code in results:
        rel = Path(path)
        rel = rel.relative_to(root) if rel.is_absolute() else rel
        by_file.setdefault(rel.as_posix(), set()).add(code)
    return by_file


@pytest.mark.parametrize("jobs", [1, 2])
def test_project_scan_reports_every_bad_file_and_goes_on(
    corpus: tuple[Path, dict[str, str]], jobs: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, expected = corpus
    monkeypatch.chdir(root)
    resolver = ConfigResolver(load_rules().codes, default_root=root)
    started = time.monotonic()
    results = list(scan([Path(".")], resolver, jobs=jobs, use_cache=False))
    assert time.monotonic() - started < 120
    seen = {r.display: r for r in results}
    for name, code in expected.items():
        assert name in seen, f"{name} missing from the scan"
        codes = {f.code for f in seen[name].report.findings}
        if code in ("E999", "E902"):
            assert codes == {code}, (name, seen[name].report.findings)
        elif code:
            assert code in codes, name
        else:
            assert not codes & {"E999", "E902", "EMS901"}, (name, codes)
    assert not any(name.startswith("sub/back") for name in seen), "followed a folder symlink loop"


def test_named_special_paths_get_a_clear_message(corpus: tuple[Path, dict[str, str]]) -> None:
    root, _ = corpus
    assert "not a regular file" in str(read_source(root / "fifo.py"))
    assert "Too many levels of symbolic links" in str(read_source(root / "loop_a.py"))
    assert "No such file" in str(read_source(root / "dangling.py"))
    assert "is a directory" in str(read_source(root / "x.py"))


def _ems(*args: str, cwd: Path, user: bool = False, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "ems", *args]
    if user and os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "root without setpriv: cannot make a file unreadable to test it"
        command = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


def test_cli_check_reports_every_bad_file(corpus: tuple[Path, dict[str, str]]) -> None:
    root, expected = corpus
    proc = _ems("check", ".", "--no-cache", "--format", "json", cwd=root)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    by_file = _codes_by_file([(f["path"], f["code"]) for f in json.loads(proc.stdout)], root)
    for name, code in expected.items():
        if code:
            assert code in by_file.get(name, set()), (name, by_file.get(name))
        else:
            assert not by_file.get(name, set()) & {"E999", "E902", "EMS901"}, (name, by_file.get(name))


def test_cli_check_on_named_special_paths_does_not_hang(corpus: tuple[Path, dict[str, str]]) -> None:
    root, _ = corpus
    names = ["fifo.py", "loop_a.py", "dangling.py", "x.py", "binary_noise.py"]
    proc = _ems("check", *names, "--no-cache", "--format", "json", cwd=root, timeout=60)
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    by_file = _codes_by_file([(f["path"], f["code"]) for f in json.loads(proc.stdout)], root)
    assert by_file["fifo.py"] == {"E902"}
    assert by_file["loop_a.py"] == {"E902"}
    assert by_file["dangling.py"] == {"E902"}
    assert by_file["binary_noise.py"] == {"E999"}
    assert "E711" in by_file["x.py/inner.py"]


def test_a_fifo_beside_an_unused_import_does_not_hang_the_reexport_question(tmp_path: Path) -> None:
    """Judging an unused import's fix asks which files import it; that must not open a FIFO
    named *.py (``open`` would block until a writer comes), in ``check`` nor in ``fix``."""
    os.mkfifo(tmp_path / "fifo.py")
    (tmp_path / "a.py").write_bytes(b"import sys\n")
    proc = _ems("check", ".", "--no-cache", "--format", "json", cwd=tmp_path, timeout=60)
    assert proc.returncode == 1, proc.stderr[-2000:]
    found = {(f["path"], f["code"], f["fix"] is not None) for f in json.loads(proc.stdout)}
    assert found == {("a.py", "F401", True), ("fifo.py", "E902", False)}
    fixed = _ems("fix", ".", cwd=tmp_path, timeout=60)
    assert fixed.returncode == 1, fixed.stderr[-2000:]  # the E902 remains
    assert (tmp_path / "a.py").read_bytes() == b""


def test_cli_check_on_a_missing_path_says_so(corpus: tuple[Path, dict[str, str]]) -> None:
    proc = _ems("check", "missing.py", "--no-cache", cwd=corpus[0], timeout=60)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "missing.py" in proc.stderr


def _dropped_user_cannot_import_ems(cwd: Path, src: Path | None = None) -> str | None:
    """Why the user ``_ems(user=True)`` drops to cannot run ems from this checkout's ``src``
    (a clone under a 0700 folder, or under /root), or None when it can."""
    if os.geteuid() != 0:
        return None
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None  # _ems says so itself
    src = src or Path(__file__).resolve().parents[2] / "src"
    env = {**os.environ, "PYTHONPATH": str(src)}
    # This checkout's ems, not another one the interpreter finds (an editable install).
    code = "import ems, sys; ems.__file__.startswith(sys.argv[1]) or sys.exit(f'ems is {ems.__file__}')"
    probe = subprocess.run(
        [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c", code, str(src)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    if probe.returncode == 0:
        return None
    last = (probe.stderr.strip().splitlines() or ["no output"])[-1]
    return f"uid 65534 cannot import ems from this checkout ({last}); clone it where others can read"


def test_unreadable_file_is_reported_and_the_scan_goes_on() -> None:
    """chmod 000 does not stop root, so the check runs as ``nobody`` when we are root."""
    root = Path(tempfile.mkdtemp(prefix="ems-unreadable-"))
    try:
        root.chmod(0o755)
        reason = _dropped_user_cannot_import_ems(root)
        if reason is not None:
            pytest.skip(reason)
        (root / "secret.py").write_bytes(b"x = 1\n")
        (root / "secret.py").chmod(0)
        (root / "fine.py").write_bytes(b"if y == None:\n    pass\n")
        proc = _ems("check", ".", "--no-cache", "--format", "json", cwd=root, user=True)
        assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
        by_file = _codes_by_file([(f["path"], f["code"]) for f in json.loads(proc.stdout)], root)
        assert by_file["secret.py"] == {"E902"}
        assert "E711" in by_file["fine.py"]
        message = next(f["message"] for f in json.loads(proc.stdout) if f["path"].endswith("secret.py"))
        assert "Permission denied" in message
        assert stat.S_IMODE((root / "secret.py").stat().st_mode) == 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_a_checkout_the_dropped_user_cannot_read_gives_the_skip_its_reason(tmp_path: Path) -> None:
    """The test above skips, with why, for a clone under a 0700 folder (or /root): there
    ``nobody`` cannot import ems, and a failure would say nothing about ems."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv, as the test above does")
    private = tmp_path / "private"
    shutil.copytree(Path(__file__).resolve().parents[2] / "src" / "ems", private / "src" / "ems")
    private.chmod(0o700)
    reason = _dropped_user_cannot_import_ems(tmp_path, private / "src")
    assert reason is not None and reason.startswith("uid 65534 cannot import ems from this checkout (")
    assert f"ems is {Path(__file__).resolve().parents[2]}" in reason, reason  # not the private copy


def test_cli_text_output_escapes_terminal_control_characters(tmp_path: Path) -> None:
    (tmp_path / "esc.py").write_bytes(b"x = 1\nif x == None:  # \x1b]0;pwned\x07 \x1b[2J\n    pass\n")
    proc = _ems("check", "esc.py", "--no-cache", "--color", "never", cwd=tmp_path, timeout=60)
    assert "E711" in proc.stdout
    assert "\x1b" not in proc.stdout and "\x07" not in proc.stdout


def test_a_path_with_a_nul_byte_gets_the_default_config(tmp_path: Path) -> None:
    """An editor may send a URI that names no file (``file:///%00``): resolving it must not
    raise ValueError deep inside ``os.path.realpath``."""
    from ems.core.config import ConfigResolver

    resolver = ConfigResolver((), {"ignore": ("F401",)}, default_root=tmp_path)
    config = resolver.for_path(Path("/odd\x00dir/x.py"))
    assert config.root == tmp_path and config.ignore == ("F401",)


def test_an_editor_path_with_a_nul_resolves_to_nothing_instead_of_raising() -> None:
    """An editor URI may carry %00: the server's runtime diagnostics and hover resolve the
    document's path, and ``Path.resolve`` raises ValueError on a NUL."""
    from ems.server.documents import resolved

    assert resolved("/tmp/a\x00b.py") is None
    assert resolved(None) is None
    assert resolved("x.py") == Path("x.py").resolve()
