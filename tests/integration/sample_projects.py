"""Small sample projects (git repositories in tmp_path) for the runtime-error tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Ann",
    "GIT_AUTHOR_EMAIL": "ann@example.com",
    "GIT_COMMITTER_NAME": "Ann",
    "GIT_COMMITTER_EMAIL": "ann@example.com",
}
# The sample's own pytest config, so nothing of ems's (addopts, plugins' ini) leaks in.
PYTEST_INI = "[pytest]\naddopts = -p no:cacheprovider\n"
TIMEOUT = 120


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=root, env={**os.environ, **GIT_ENV}, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def make_project(root: Path, files: dict[str, str], *, commit: bool = True) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    write(root, {"pytest.ini": PYTEST_INI, ".gitignore": "__pycache__/\n*.pyc\n", **files})
    if commit:
        git(root, "init", "-q")
        git(root, "add", "-A")
        git(root, "commit", "-qm", "sample")
    return root


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def child_env(*, autoload: bool = False, **extra: str) -> dict[str, str]:
    """The environment of a sample run. Without ``autoload`` pytest loads no installed
    plug-in but those named with ``-p`` (ems's own test plug-ins cost ~1 s a run here)."""
    # FORCE_COLOR would colour output the tests read as text.
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "EMS_")) and k != "FORCE_COLOR"
    }
    env.update(GIT_ENV)
    if not autoload:
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env.update(extra)
    return env


def ems(root: Path, *args: str, timeout: float = TIMEOUT, **env: str) -> subprocess.CompletedProcess[str]:
    """``ems ARGS`` run in ``root``, its output captured as UTF-8 text (``env``: added)."""
    return subprocess.run(
        [sys.executable, "-m", "ems", *args],
        cwd=root,
        env=child_env(**env),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
    )


def ems_test(root: Path, *pytest_args: str, coverage: bool = False) -> tuple[int, dict[str, Any], str]:
    """Run ``ems test --format json``; (exit code, summary, stderr)."""
    opts = ["test", "--format", "json"] + ([] if coverage else ["--no-coverage"])
    done = ems(root, *opts, *pytest_args)
    try:
        summary = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise AssertionError(
            f"no JSON summary (exit {done.returncode}):\n{done.stdout}\n{done.stderr}"
        ) from None
    return done.returncode, summary, done.stderr


def groups_by_state(summary: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for group in summary["groups"]:
        out.setdefault(group["state"], []).append(group)
    return out


def cached_results(root: Path) -> int:
    """How many results the project's result cache holds (its table in ``.ems/ems.db``)."""
    import sqlite3

    conn = sqlite3.connect(root / ".ems" / "ems.db")
    try:
        return int(conn.execute("SELECT COUNT(*) FROM result_entries").fetchone()[0])
    finally:
        conn.close()
