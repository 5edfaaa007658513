"""No lost edit: fixed files keep mode, owner, encoding, BOM and line endings; writes are
atomic, refused when the file changed since it was read, and leave no temporary file."""

from __future__ import annotations

import codecs
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ems.core.source import decode_source, encode_source
from ems.fixes import FileChanged, atomic_write, fix_all

SRC = Path(__file__).resolve().parents[2] / "src"


def fix_file(path: Path) -> bytes:
    """Read, fix and write one file the way ``ems fix`` does; returns the original bytes."""
    original = path.read_bytes()
    decoded = decode_source(original)
    result = fix_all(decoded.text, path.name, unsafe=True)
    assert result.changed, result
    atomic_write(path, encode_source(result.text, decoded.encoding, decoded.bom), expected=original)
    return original


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".ems-tmp"))


CASES = {
    "crlf.py": (
        b"import os\r\nif os == None:\r\n    y = f'a'\r\n",
        b"import os\r\nif os is None:\r\n    y = 'a'\r\n",
    ),
    "cr.py": (b"if x == None:\r    pass\r", b"if x is None:\r    pass\r"),
    "lf.py": (b"if x == None:\n    pass\n", b"if x is None:\n    pass\n"),
    "mixed.py": (b"a = 1\r\nif x == None:\n    pass\r", b"a = 1\r\nif x is None:\n    pass\r"),
    "bom.py": (
        codecs.BOM_UTF8 + b"s = '\xc3\xa9'\nt = s == None\n",
        codecs.BOM_UTF8 + b"s = '\xc3\xa9'\nt = s is None\n",
    ),
    "latin1.py": (
        b"# -*- coding: latin-1 -*-\ns = '\xe9t\xe9'\nt = s == None\n",
        b"# -*- coding: latin-1 -*-\ns = '\xe9t\xe9'\nt = s is None\n",
    ),
    "utf8_nonascii.py": ("s = 'é中🙂'; t = s == None\n".encode(), "s = 'é中🙂'; t = s is None\n".encode()),
    "no_final_newline.py": (b"t = x == None", b"t = x is None"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_fix_keeps_encoding_bom_and_line_endings(tmp_path: Path, name: str) -> None:
    before, after = CASES[name]
    path = tmp_path / name
    path.write_bytes(before)
    fix_file(path)
    assert path.read_bytes() == after
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("mode", [0o644, 0o600, 0o755, 0o640])
def test_fix_keeps_the_file_mode(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "script.py"
    path.write_bytes(b"#!/usr/bin/env python3\nif x == None:\n    pass\n")
    path.chmod(mode)
    fix_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == mode


@pytest.mark.skipif(not hasattr(os, "chown"), reason="no file ownership on this platform")
def test_fix_keeps_the_owner_when_run_as_root(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root can give a file to another user; non-root writes keep the writer's uid")
    path = tmp_path / "owned.py"
    path.write_bytes(b"if x == None:\n    pass\n")
    os.chown(path, 65534, 65534)
    fix_file(path)
    info = path.stat()
    assert (info.st_uid, info.st_gid) == (65534, 65534)


def test_fix_through_a_symlink_writes_the_target_and_keeps_the_link(tmp_path: Path) -> None:
    target = tmp_path / "real.py"
    target.write_bytes(b"if x == None:\n    pass\n")
    link = tmp_path / "link.py"
    link.symlink_to("real.py")
    fix_file(link)
    assert link.is_symlink()
    assert target.read_bytes() == b"if x is None:\n    pass\n"


def test_write_is_refused_when_the_file_changed_since_it_was_read(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    original = b"if x == None:\n    pass\n"
    path.write_bytes(original)
    users_edit = b"if x == None:\n    pass\n# typed by the user meanwhile\n"
    path.write_bytes(users_edit)
    with pytest.raises(FileChanged, match="changed on disk"):
        atomic_write(path, b"if x is None:\n    pass\n", expected=original)
    assert path.read_bytes() == users_edit
    assert _leftovers(tmp_path) == []


def test_write_is_refused_when_the_file_vanished(tmp_path: Path) -> None:
    path = tmp_path / "gone.py"
    with pytest.raises(FileChanged, match="cannot re-read"):
        atomic_write(path, b"x = 1\n", expected=b"x = 2\n")
    assert not path.exists()


@pytest.mark.parametrize("failing", ["fsync", "replace", "chmod"])
def test_failed_write_leaves_the_original_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    path = tmp_path / "keep.py"
    original = b"if x == None:\n    pass\n"
    path.write_bytes(original)

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, failing, boom)
    with pytest.raises(OSError, match="No space left"):
        atomic_write(path, b"if x is None:\n    pass\n", expected=original)
    monkeypatch.undo()
    assert path.read_bytes() == original
    assert _leftovers(tmp_path) == []


def test_interrupted_write_leaves_no_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "k.py"
    path.write_bytes(b"x = 1\n")

    def interrupt(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupt)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, b"x = 2\n")
    monkeypatch.undo()
    assert path.read_bytes() == b"x = 1\n"
    assert _leftovers(tmp_path) == []


def test_fix_all_is_idempotent_on_the_written_file(tmp_path: Path) -> None:
    path = tmp_path / "twice.py"
    path.write_bytes(b"import os\nif x == None:\n    y = f'a'\n")
    fix_file(path)
    once = path.read_bytes()
    again = fix_all(decode_source(once).text, "twice.py", unsafe=True)
    assert not again.changed and again.text.encode() == once


def test_ems_fix_command_keeps_everything(tmp_path: Path) -> None:
    """The same guarantees through ``ems fix`` (the CLI's own read/write path)."""
    for name, (before, _) in CASES.items():
        (tmp_path / name).write_bytes(before)
    (tmp_path / "crlf.py").chmod(0o755)
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    proc = subprocess.run(
        [sys.executable, "-m", "ems", "fix", ".", "--unsafe-fixes", "--no-cache"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    for name, (_, after) in CASES.items():
        assert (tmp_path / name).read_bytes() == after, name
    assert stat.S_IMODE((tmp_path / "crlf.py").stat().st_mode) == 0o755
    assert _leftovers(tmp_path) == []
