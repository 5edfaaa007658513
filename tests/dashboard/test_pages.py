"""Every page, run by AppTest against a store filled by the real scan and history code."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[2] / "src" / "ems" / "dashboard" / "app.py"

TIMEOUT = 60


def app() -> AppTest:
    return AppTest.from_file(str(APP), default_timeout=TIMEOUT)


def texts(at: AppTest) -> str:
    parts = [e.value for e in at.markdown] + [e.value for e in at.caption] + [e.value for e in at.title]
    parts += (
        [e.value for e in at.subheader] + [str(e.value) for e in at.info] + [str(e.value) for e in at.success]
    )
    parts += [str(e.value) for e in at.error] + [str(e.value) for e in at.warning]
    return "\n".join(str(p) for p in parts)


def run_page(page: str) -> AppTest:
    at = app().run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_overview_shows_the_rating_its_formula_and_counts(demo_repo: Path) -> None:
    at = app().run()
    assert not at.exception, [e.value for e in at.exception]
    text = texts(at)
    assert "Health rating" in text
    assert "How the rating is computed" in text and "per 1,000 lines" in text
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Findings"] == "16"


@pytest.mark.parametrize(
    ("page", "key_text"),
    [
        ("views/findings.py", "Findings"),
        ("views/history.py", "Walked 11 commits"),
        ("views/hotspots.py", "Formula"),
        ("views/live.py", "Latest scan"),
        ("views/control.py", "Rules"),
    ],
)
def test_every_page_renders_without_an_exception(demo_repo: Path, page: str, key_text: str) -> None:
    at = run_page(page)
    assert key_text in texts(at) or key_text in [m.label for m in at.metric]


def count_line(at: AppTest) -> str:
    return next(m.value for m in at.markdown if " of " in m.value and "findings" in m.value)


def findings_page(**filters: object) -> AppTest:
    at = run_page("views/findings.py")
    for key, value in filters.items():
        widget = (
            at.text_input(key=key)
            if key == "f_path"
            else (at.selectbox(key=key) if key in ("f_age", "f_fixable") else at.multiselect(key=key))
        )
        widget.set_value(value)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    return at


def test_findings_filters_by_rule_severity_path_author_age_and_fixability(demo_repo: Path) -> None:
    assert count_line(findings_page()) == "**16** of 16 findings"
    assert count_line(findings_page(f_rule=["F401"])) == "**4** of 16 findings"
    assert count_line(findings_page(f_rule=["F401"], f_path="models.py")) == "**2** of 16 findings"
    assert count_line(findings_page(f_severity=["error"])).startswith("**")
    # storage.py's E722, EMS101, EMS102, XPL001/print, F401 sys, F821 totl ... by Bob and Dave
    bob = count_line(findings_page(f_author=["Bob Chen"]))
    dave = count_line(findings_page(f_author=["Dave Okafor"]))
    assert bob != "**0** of 16 findings" and dave != "**0** of 16 findings"
    # the newest commits are days old, the oldest ten weeks: both age windows are non-empty
    recent = count_line(findings_page(f_age="last 7 days"))
    old = count_line(findings_page(f_age="older than 30 days"))
    assert recent != "**0** of 16 findings" and old != "**0** of 16 findings"
    fixable = int(count_line(findings_page(f_fixable="fixable")).split("**")[1])
    unfixable = int(count_line(findings_page(f_fixable="not fixable")).split("**")[1])
    assert fixable + unfixable == 16 and fixable > 0 and unfixable > 0


def test_grouping_by_rule_counts_each_rule(demo_repo: Path) -> None:
    at = findings_page()
    at.radio(key="f_group").set_value("rule").run()
    grouped = at.dataframe[0].value
    assert dict(zip(grouped["rule"], grouped["findings"], strict=True))["F401"] == 4


def test_a_finding_opens_with_source_explanation_and_introducing_commit(demo_repo: Path) -> None:
    at = findings_page(f_rule=["F821"])
    text = texts(at)
    assert "F821" in text and "storage.py:38" in text
    assert "Dave Okafor" in text  # introduced by "Tidy the total value loop"
    html = "".join(h.proto.body for h in at.get("html"))
    assert "return totl" in html and "background:#fff3b0" in html
    explanation = [c.value for c in at.code]
    from ems.core.registry import load_rules
    from ems.core.rule import explain

    assert explain(load_rules().get("F821")) in explanation


def test_a_finding_the_history_does_not_know_says_so_instead_of_none(demo_repo: Path) -> None:
    """A finding only in the working tree (not committed) has no history row: the table's
    author column and the detail say "not in history", never ``None``."""
    from ems.runtime.project_scan import scan_project

    (demo_repo / "scratch.py").write_text("import json\n")
    scan_project(demo_repo, jobs=1)
    at = findings_page(f_path="scratch.py")
    table = at.dataframe[-1].value
    assert list(table["path"]) == ["scratch.py"]
    assert list(table["author"]) == ["not in history"]
    assert list(table["introduced"]) == [""]
    assert "not in the recorded history: not committed yet" in texts(at)
    at.radio(key="f_group").set_value("author").run()
    assert list(at.dataframe[0].value["author"]) == ["not in history"]
    everything = findings_page().dataframe[-1].value
    assert everything["author"].notna().all()
    assert "Dave Okafor" in set(everything["author"])
    known = everything[everything["author"] != "not in history"]["introduced"]
    assert len(known) == len(everything) - 1
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", day) for day in known)


def test_fix_preview_then_apply_changes_the_file_and_rescans(demo_repo: Path) -> None:
    at = findings_page(f_rule=["F541"])
    at.button(key="preview_fix").click().run()
    assert not at.exception
    diff = next(c.value for c in at.code if c.language == "diff")
    assert '-            return f"no price"' in diff and '+            return "no price"' in diff
    at.button(key="apply_single").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert 'return "no price"' in (demo_repo / "inventory" / "models.py").read_text()
    assert any("Applied to inventory/models.py" in s.value for s in at.success)
    assert any("Re-scanned: 15 findings" in s.value for s in at.success)
    # the fix and the re-scan went through the dashboard's event bus to the Live page's log
    at.switch_page("views/live.py").run()
    assert not at.exception, [e.value for e in at.exception]
    log = at.dataframe[-1].value
    assert "fix applied" in list(log["event"]) and "scan recorded" in list(log["event"])
    assert any("inventory/models.py: F541" in d for d in log["detail"])
    # the scans table gives each scan's time in UTC under its header, not "+00:00" per cell
    scans = next(df for df in at.dataframe if "seconds" in df.value.columns)
    assert json.loads(scans.proto.columns)["at"]["label"] == "at (UTC)"
    assert all(moment.tzinfo is not None for moment in scans.value["at"])


def test_apply_is_refused_when_the_file_changed_since_the_preview(demo_repo: Path) -> None:
    at = findings_page(f_rule=["F541"])
    at.button(key="preview_fix").click().run()
    models = demo_repo / "inventory" / "models.py"
    edited = models.read_text() + "\n# edited meanwhile\n"
    models.write_text(edited)
    at.button(key="apply_single").click().run()
    assert not at.exception
    assert models.read_text() == edited
    assert any("changed since the preview" in w.value for w in at.warning)


def test_bulk_apply_of_a_rules_safe_fixes_shows_the_whole_diff_first(demo_repo: Path) -> None:
    at = findings_page(f_rule=["F401"])
    at.selectbox(key="bulk_rule").set_value("F401").run()
    at.button(key="bulk_preview").click().run()
    diff = next(c.value for c in at.code if c.language == "diff")
    for name in ("models.py", "report.py", "storage.py"):
        assert f"a/inventory/{name}" in diff
    models = demo_repo / "inventory" / "models.py"
    assert "import os\n" in models.read_text()  # nothing written before Apply
    at.button(key="apply_bulk").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "import os\n" not in models.read_text() and "import json\n" not in models.read_text()
    assert "import sys\n" not in (demo_repo / "inventory" / "storage.py").read_text()
    assert any("Re-scanned: 12 findings" in s.value for s in at.success)


def test_suppress_adds_the_noqa_comment_the_language_server_would(demo_repo: Path) -> None:
    at = findings_page(f_rule=["F821"])
    at.button(key="preview_noqa").click().run()
    at.button(key="apply_single").click().run()
    assert not at.exception
    assert "    return totl  # noqa: F821\n" in (demo_repo / "inventory" / "storage.py").read_text()


def test_control_panel_writes_pyproject_keeping_comments(demo_repo: Path) -> None:
    pyproject = demo_repo / "pyproject.toml"
    pyproject.write_text(
        "# the demo's settings\n"
        + pyproject.read_text().replace("[tool.ems]\n", "[tool.ems]\n# keep RUF100 off\n")
    )
    at = run_page("views/control.py")
    at.selectbox(key="cp_rule").set_value("F401").run()
    at.toggle(key="cp_enabled_F401").set_value(False)
    at.selectbox(key="cp_severity_F401").set_value("error")
    at.toggle(key="cp_fixable_F401").set_value(False)
    next(b for b in at.button if b.label.startswith("Save to")).click().run()
    assert not at.exception, [e.value for e in at.exception]
    text = pyproject.read_text()
    assert text.startswith("# the demo's settings\n") and "# keep RUF100 off\n" in text
    assert 'ignore = ["RUF100", "F401"]' in text
    assert 'F401 = "error"' in text
    assert 'unfixable = ["F401"]' in text
    import tomllib

    assert tomllib.loads(text)["project"]["name"] == "inventory-demo"


def test_control_panel_offers_the_fix_switch_only_for_a_rule_with_a_fix(demo_repo: Path) -> None:
    at = run_page("views/control.py")
    at.selectbox(key="cp_rule").set_value("F821").run()
    assert at.toggle(key="cp_fixable_F821").disabled
    at.selectbox(key="cp_rule").set_value("F401").run()
    assert not at.toggle(key="cp_fixable_F401").disabled and at.toggle(key="cp_fixable_F401").value


def control_panel_events(button: str) -> list[tuple[str, str]]:
    """Click a Control panel button, then read the Live page's event log (the dashboard's bus)."""
    at = run_page("views/control.py")
    at.button(key=button).click().run()
    assert not at.exception, [e.value for e in at.exception]
    at.switch_page("views/live.py").run()
    log = at.dataframe[-1].value
    return list(zip(log["event"], log["detail"], strict=True))


def test_control_panel_runs_a_scan(demo_repo: Path) -> None:
    assert any(e == "scan recorded" and "in 4 files" in d for e, d in control_panel_events("cp_scan"))


def test_control_panel_builds_history_through_the_history_service(demo_repo: Path) -> None:
    """The button runs ``build_history`` (as ``ems history`` does): HistoryBuilt reaches the bus."""
    events = control_panel_events("cp_history")
    assert any(e == "history built" and d.startswith("11 commits to ") for e, d in events)


def test_the_new_code_gate_fails_with_the_reason_and_passes_at_head(demo_repo: Path) -> None:
    at = app().run()
    at.text_input(key="gate_ref").set_value("HEAD~2")
    next(b for b in at.button if b.label == "Check the gate").click().run()
    assert not at.exception, [e.value for e in at.exception]
    failed = [e.value for e in at.error]
    assert any(v.startswith("Gate failed: 3 finding(s) new since HEAD~2") for v in failed), failed
    at.text_input(key="gate_ref").set_value("HEAD")
    next(b for b in at.button if b.label == "Check the gate").click().run()
    assert any("Gate passed" in s.value for s in at.success)


def test_the_history_page_shows_the_figures_of_the_history_report(demo_repo: Path) -> None:
    """The page's commit and author tables are ``HistoryReport.figures()`` of the walk
    (one home: ``ems.gitinfo.figures``), newest commit first."""
    from ems.gitinfo.repo import close_repositories
    from ems.gitinfo.report import build_history
    from ems.store import open_store

    with open_store(demo_repo) as store:
        report = build_history(demo_repo, store, jobs=1)
    close_repositories()
    figures = report.figures()
    at = run_page("views/history.py")
    tables = [df.value for df in at.dataframe]
    commits = next(t for t in tables if "summary" in t.columns and "open" in t.columns)
    people = next(t for t in tables if list(t.columns) == ["author", "commits", "introduced", "removed"])
    shown = list(
        zip(commits["commit"], commits["introduced"], commits["removed"], commits["open"], strict=True)
    )
    assert shown == [(c.sha[:10], c.introduced, c.removed, c.open) for c in reversed(figures.commits)]
    assert len(shown) == 11 and shown[0][3] == len(report.findings) == 16
    assert [tuple(row) for row in people.itertuples(index=False)] == [
        (a.author, a.commits, a.introduced, a.removed) for a in figures.authors
    ]
    # Commit times show as minutes, the zone named once in the header, not "+00:00" per cell.
    table = next(df for df in at.dataframe if "summary" in df.value.columns)
    date_column = json.loads(table.proto.columns)["date"]
    assert date_column["label"] == "date (UTC)"
    assert date_column["type_config"]["format"] == "YYYY-MM-DD HH:mm"
    walked = next(c.value for c in at.caption if c.value.startswith("Walked"))
    assert re.search(r"\(\d{4}-\d\d-\d\d \d\d:\d\d UTC\)\.$", walked), walked
    assert "+00:00" not in walked


def test_stored_times_show_to_the_minute_in_utc() -> None:
    from ems.dashboard.components.common import utc_minute

    assert utc_minute("2026-12-06T00:54:24+00:00") == "2026-12-06 00:54 UTC"
    assert utc_minute("2026-12-06T02:54:24+02:00") == "2026-12-06 00:54 UTC"
    assert utc_minute("not a time") == "not a time"
