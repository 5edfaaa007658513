"""A demo repository with a recorded scan and history, made by the real code in tmp_path."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "src" / "ems" / "dashboard" / "app.py"


def load_demo_script():
    spec = importlib.util.spec_from_file_location("demo_repo", REPO / "scripts" / "demo_repo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The scripted demo repository, built once; tests get a copy."""
    return load_demo_script().build(tmp_path_factory.mktemp("template") / "demo")


@pytest.fixture
def demo_repo(demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of the demo repository, scanned and with its history built; cwd is its root."""
    from ems.gitinfo.history import walk_history
    from ems.gitinfo.repo import close_repositories
    from ems.runtime.project_scan import scan_project
    from ems.store import open_store

    root = tmp_path / "demo"
    shutil.copytree(demo_template, root, symlinks=True)
    monkeypatch.chdir(root)
    monkeypatch.setenv("EMS_DASHBOARD_ROOT", str(root))
    monkeypatch.delenv("EMS_DASHBOARD_LIVE", raising=False)
    monkeypatch.delenv("EMS_DASHBOARD_TOKEN", raising=False)
    with open_store(root) as store:
        walk_history(root, store, jobs=1)
    close_repositories()
    scan_project(root, jobs=1)
    return root
