"""`ems check --watch` as a subprocess: it checks, waits, and checks again when a file changes."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ems.runtime.watch import watch_targets

WAIT_S = 30.0  # a deadline for events that must come, not a speed assertion


class Watching:
    """A running ``ems check --watch``, its output lines gathered as they come (standard error
    joined to standard output, so status lines and reports keep the order they were written)."""

    def __init__(self, cwd: Path, *args: str) -> None:
        env = dict(os.environ)
        env.pop("FORCE_COLOR", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ems", "check", "--watch", "--no-source", *args],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, text: str) -> list[str]:
        """Every line up to the first containing ``text``; fails if it never comes."""
        deadline = time.monotonic() + WAIT_S
        taken: list[str] = []
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            taken.append(line)
            self.seen.append(line)
            if text in line:
                return taken
        pytest.fail(f"no line with {text!r}; seen: {self.seen}")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=WAIT_S)
        finally:
            if self.process.poll() is None:
                self.process.kill()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "ems.toml").write_text('select = ["F401"]\n')
    (tmp_path / "a.py").write_text("import os\n")
    return tmp_path


def test_a_saved_change_is_checked_again_and_ctrl_c_ends_the_watch(project: Path) -> None:
    watch = Watching(project, ".")
    try:
        first = watch.wait_for("Watching for changes")
        assert "Found 1 error in 1 file (1 checked)." in first
        (project / "notes.txt").write_text("not Python: no new check\n")
        (project / "a.py").write_text("import os\nimport sys\n")
        again = watch.wait_for("Found 2 errors")
        assert any("1 file changed, checking again" in line for line in again)
        assert "a.py:2:8: F401 `sys` imported but unused [*]" in again
        watch.wait_for("Watching for changes")
        (project / "ems.toml").write_text('selekt = ["E711"]\n')  # a bad setting: said, watch goes on
        watch.wait_for("selekt")
        watch.wait_for("Watching for changes")
        (project / "ems.toml").write_text('select = ["E711"]\n')
        watch.wait_for("All checks passed")
    finally:
        code = watch.stop()
    assert code == 0
    assert not any("Traceback" in line for line in watch.seen)


def test_a_named_file_is_watched_alone(project: Path) -> None:
    (project / "b.py").write_text("import re\n")
    watch = Watching(project, "a.py")
    try:
        watch.wait_for("Watching for changes")
        (project / "b.py").write_text("import re\nimport json\n")  # not checked: no run
        (project / "a.py").write_text("x = 1\n")
        after = watch.wait_for("All checks passed")
        assert not any("b.py" in line for line in after)
        assert sum("checking again" in line for line in after) == 1
        watch.wait_for("Watching for changes")
        (project / "ems.toml").write_text('select = ["F"]\n')  # the named file's settings
        (project / "a.py").write_text("import os\n")
        watch.wait_for("Found 1 error in 1 file")
    finally:
        assert watch.stop() == 0


def test_stdin_and_missing_paths_are_refused(project: Path) -> None:
    for args in (["-"], ["nope.py"]):
        result = subprocess.run(
            [sys.executable, "-m", "ems", "check", "--watch", *args],
            cwd=project,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=WAIT_S,
        )
        assert result.returncode == 2, result
        assert result.stderr.startswith("ems: ") and ("stdin" in result.stderr or "nope.py" in result.stderr)


def test_watch_targets_keep_folders_whole_and_files_alone(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    (tmp_path / "one.py").write_text("")
    targets = watch_targets([tmp_path / "pkg", tmp_path / "pkg" / "sub", tmp_path / "one.py"])
    root = tmp_path.resolve()
    assert targets.roots == (root,)  # pkg and sub are inside one.py's folder
    assert targets.concerns(str(root / "pkg" / "sub" / "x.py"))
    assert targets.concerns(str(root / "one.py"))
    assert not targets.concerns(str(root / "two.py"))  # beside the named file, not named
    assert not targets.concerns(str(root / "pkg" / "notes.txt"))
    assert not targets.concerns(str(root / "pkg" / ".ems" / "x.py"))
    assert targets.concerns(str(root / "pkg" / "pyproject.toml"))
    assert targets.concerns(str(root / "ems.toml"))  # beside the named file: its settings
