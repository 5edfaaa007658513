"""The services the dashboard calls (outside its package): health rating, config editing,
the live watcher, the scripted demo repository."""

from __future__ import annotations

import subprocess
import time
import tomllib
from pathlib import Path

import pytest

from ems.core.config import ConfigError
from ems.runtime.config_edit import config_file_for, rule_settings, write_rule_settings
from ems.runtime.rating import GRADE_BANDS, health_rating

CODES = ("E711", "F401", "F821", "RUF100")


@pytest.mark.parametrize(
    ("counts", "lines", "grade"),
    [
        ({}, 1000, "A"),
        ({"warning": 1, "info": 2}, 1000, "A"),  # 5 points
        ({"error": 1}, 1000, "B"),  # 10
        ({"error": 1, "warning": 1}, 1000, "C"),  # 13
        ({"error": 5}, 1000, "D"),  # 50
        ({"error": 5, "info": 1}, 1000, "E"),  # 51
        ({"error": 1}, 100, "E"),  # 100 per 1,000 lines
        ({"hint": 500}, 10, "A"),  # hints weigh nothing
        ({"warning": 2}, 0, "B"),  # nothing counted: as if 1,000 lines
    ],
)
def test_health_rating_grades(counts: dict[str, int], lines: int, grade: str) -> None:
    assert health_rating(counts, lines).grade == grade


def test_health_rating_density_is_points_per_thousand_lines() -> None:
    rating = health_rating({"error": 1, "warning": 2, "info": 3}, 2000)
    assert rating.points == 10 + 6 + 3
    assert rating.density == pytest.approx(9.5)
    assert [g for g, _ in GRADE_BANDS] == ["A", "B", "C", "D"]


PYPROJECT = """\
# top comment
[project]
name = "x"  # the name

[tool.ems]
# why RUF100 is off
ignore = ["RUF100"]  # noisy here
unsafe-fixes = false

[tool.other]
keep = 1
"""


def test_disabling_a_rule_and_setting_a_severity_keeps_comments_and_order(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(PYPROJECT)
    assert write_rule_settings(path, CODES, enabled={"F401": False}, severities={"E711": "error"})
    text = path.read_text()
    assert text.startswith('# top comment\n[project]\nname = "x"  # the name\n')
    assert "# why RUF100 is off\n" in text and "# noisy here" in text
    assert text.index("[tool.ems]") < text.index("[tool.other]")
    data = tomllib.loads(text)
    assert data["tool"]["ems"]["ignore"] == ["RUF100", "F401"]
    assert data["tool"]["ems"]["severity"] == {"E711": "error"}
    assert data["tool"]["other"] == {"keep": 1}
    settings = rule_settings(path, CODES)
    assert not settings["F401"].enabled and settings["E711"].severity == "error"
    # and back
    assert write_rule_settings(path, CODES, enabled={"F401": True, "RUF100": True}, severities={"E711": None})
    settings = rule_settings(path, CODES)
    assert all(s.enabled for s in settings.values()) and settings["E711"].severity is None
    assert "# top comment" in path.read_text()


def test_a_prefix_ignore_cannot_be_overridden_silently(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text('[tool.ems]\nignore = ["F"]\n')
    with pytest.raises(ConfigError, match="prefix"):
        write_rule_settings(path, CODES, enabled={"F401": True})
    assert path.read_text() == '[tool.ems]\nignore = ["F"]\n'


def test_turning_a_rules_fixes_off_and_on_writes_unfixable_and_keeps_comments(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(PYPROJECT)
    assert rule_settings(path, CODES)["F401"].fixable
    assert write_rule_settings(path, CODES, fixable={"F401": False})
    assert tomllib.loads(path.read_text())["tool"]["ems"]["unfixable"] == ["F401"]
    assert "# why RUF100 is off\n" in path.read_text()
    assert not rule_settings(path, CODES)["F401"].fixable and rule_settings(path, CODES)["E711"].fixable
    assert not write_rule_settings(path, CODES, fixable={"F401": False})  # already off
    assert write_rule_settings(path, CODES, fixable={"F401": True})
    assert tomllib.loads(path.read_text())["tool"]["ems"]["unfixable"] == []
    assert rule_settings(path, CODES)["F401"].fixable


def test_a_fixable_list_gains_the_rule_turned_on_and_a_prefix_unfixable_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ems.toml"
    path.write_text('fixable = ["E"]\n')
    assert write_rule_settings(path, CODES, fixable={"F401": True})
    assert tomllib.loads(path.read_text()) == {"fixable": ["E"], "extend-fixable": ["F401"]}
    assert write_rule_settings(path, CODES, fixable={"F401": False})
    assert tomllib.loads(path.read_text()) == {"fixable": ["E"], "extend-fixable": []}
    path.write_text('unfixable = ["F"]\n')
    with pytest.raises(ConfigError, match="stays unfixable"):
        write_rule_settings(path, CODES, fixable={"F401": True})
    assert path.read_text() == 'unfixable = ["F"]\n'


def test_an_invalid_severity_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(PYPROJECT)
    with pytest.raises(ConfigError):
        write_rule_settings(path, CODES, severities={"E711": "fatal"})
    assert path.read_text() == PYPROJECT


def test_the_control_panel_edits_ems_toml_when_the_root_has_one(tmp_path: Path) -> None:
    assert config_file_for(tmp_path).name == "pyproject.toml"
    (tmp_path / "ems.toml").write_text("# mine\n")
    assert config_file_for(tmp_path).name == "ems.toml"
    write_rule_settings(tmp_path / "ems.toml", CODES, enabled={"F821": False})
    assert tomllib.loads((tmp_path / "ems.toml").read_text()) == {"ignore": ["F821"]}


def test_the_demo_repository_has_a_scripted_history_ending_at_examples_demo(demo_template: Path) -> None:
    log = subprocess.run(
        ["git", "log", "--format=%an|%ae|%at|%s"],
        cwd=demo_template,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert 8 <= len(log) <= 12
    authors = {line.split("|")[0] for line in log}
    assert len(authors) >= 3
    stamps = [int(line.split("|")[2]) for line in log]
    assert stamps == sorted(stamps, reverse=True) and stamps[0] - stamps[-1] > 30 * 86400
    demo = Path(__file__).resolve().parents[2] / "examples" / "demo"
    for source in demo.rglob("*"):
        if source.is_file() and ".ems" not in source.parts and "__pycache__" not in source.parts:
            rel = source.relative_to(demo)
            assert (demo_template / rel).read_bytes() == source.read_bytes(), rel
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=demo_template, capture_output=True, text=True
    )
    assert status.stdout == ""


def test_the_demo_script_refuses_to_replace_a_folder_it_did_not_make(tmp_path: Path) -> None:
    from conftest import load_demo_script

    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "keep.txt").write_text("precious")
    with pytest.raises(SystemExit, match="not a demo repository"):
        load_demo_script().build(tmp_path / "mine")
    assert (tmp_path / "mine" / "keep.txt").read_text() == "precious"


def test_history_records_introductions_and_removals_for_the_demo(demo_repo: Path) -> None:
    from ems.gitinfo.figures import recorded_figures
    from ems.store import open_store

    with open_store(demo_repo) as store:
        figures = recorded_figures(store)
    trend = figures.commits
    assert len(trend) == 11
    assert sum(p.introduced for p in trend) >= 16 and sum(p.removed for p in trend) >= 1
    assert trend[-1].open == 16
    assert {a.author for a in figures.authors} == {"Alice Martin", "Bob Chen", "Carol Diaz", "Dave Okafor"}


def test_the_recorded_figures_are_the_reports_after_each_walk(demo_repo: Path) -> None:
    """The History page counts the walk recorded in the store, ``ems history`` the walk it
    just made: both through ``history_figures``, so they agree — also after a narrower
    walk, when the store still knows commits the last walk did not visit."""
    from ems.gitinfo.figures import recorded_figures
    from ems.gitinfo.history import HistoryOptions
    from ems.gitinfo.repo import close_repositories
    from ems.gitinfo.report import build_history
    from ems.store import open_store

    with open_store(demo_repo) as store:
        whole = build_history(demo_repo, store, jobs=1)
        assert recorded_figures(store) == whole.figures()
        assert len(whole.figures().commits) == 11
        recent = build_history(demo_repo, store, HistoryOptions(max_commits=3), jobs=1)
        assert recorded_figures(store) == recent.figures()
    close_repositories()
    figures = recent.figures()
    assert [c.sha for c in figures.commits] == [c.sha for c in recent.commits]
    assert [(c.introduced, c.removed) for c in figures.commits] == [
        (len(c.introduced), len(c.removed)) for c in recent.commits
    ]
    assert figures.commits[-1].open == len(recent.findings)
    assert sum(a.commits for a in figures.authors) == 3


def test_the_watcher_rescans_and_records_after_a_save(demo_repo: Path) -> None:
    from ems.runtime.watch import ProjectWatcher
    from ems.store import open_store

    seen = []
    watcher = ProjectWatcher(demo_repo, seen.append).start()
    try:
        time.sleep(0.3)
        target = demo_repo / "inventory" / "report.py"
        target.write_text(target.read_text() + "\nimport re\n")
        deadline = time.monotonic() + 30
        while not seen and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        watcher.stop()
    assert seen, watcher.last_error
    assert len(seen[0].findings) == 17
    with open_store(demo_repo) as store:
        latest = store.scans(limit=1)[0]
    assert latest.source == "live" and latest.finding_count == 17 and latest.lines and latest.lines > 90


def test_a_cancelled_scan_records_nothing(demo_repo: Path) -> None:
    from ems.runtime.project_scan import ScanCancelled, scan_project
    from ems.store import open_store

    with open_store(demo_repo) as store:
        before = store.scans(limit=1)[0].id
    with pytest.raises(ScanCancelled):
        scan_project(demo_repo, jobs=1, cancelled=lambda: True)
    with open_store(demo_repo) as store:
        assert store.scans(limit=1)[0].id == before


def test_a_history_walk_stopped_by_its_progress_callback_records_nothing(demo_repo: Path) -> None:
    # The Control panel's Cancel stops the page's run inside the progress callback.
    from ems.gitinfo.history import walk_history
    from ems.gitinfo.repo import close_repositories
    from ems.store import open_store

    class Stop(Exception):
        pass

    def stop(stage: str, done: int, total: int) -> None:
        raise Stop

    with open_store(demo_repo) as store:
        run = store.history_run().id
        with pytest.raises(Stop):
            walk_history(demo_repo, store, jobs=1, progress=stop)
        close_repositories()
        assert store.history_run().id == run


def test_the_hotspot_chart_fits_its_axes_to_the_data_instead_of_starting_at_zero() -> None:
    import pandas as pd

    from ems.dashboard.components.charts import hotspot_scatter

    frame = pd.DataFrame(
        {
            "path": ["a.py", "b.py"],
            "score": [4.0, 9.0],
            "recent_changes": [6.0, 9.5],
            "changes": [7, 11],
            "findings": [3, 8],
            "lines": [60, 80],
            "findings_per_100_lines": [5.0, 10.0],
        }
    )
    encoding = hotspot_scatter(frame).to_dict()["encoding"]
    assert encoding["x"]["scale"]["zero"] is False
    assert encoding["y"]["scale"]["zero"] is False
