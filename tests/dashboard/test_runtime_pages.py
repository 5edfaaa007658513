"""The Tests and Runtime errors pages by AppTest, on a store written by real ``ems test``/``ems run``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[2] / "src" / "ems" / "dashboard" / "app.py"
sys.path.insert(0, str(APP.parents[3] / "tests" / "integration"))
from sample_projects import ems, make_project, write  # noqa: E402

APP_PY = "def parse(value):\n    return int(value)\n\n\ndef unused():\n    return 2\n"
TESTS = (
    "import pytest\n\nimport app\n\n\n"
    "@pytest.mark.parametrize('v', ['x', 'y', '3'])\n"
    "def test_parse(v):\n"
    "    assert app.parse(v) == 3\n\n\n"
    "def test_wrong():\n"
    "    assert 1 == 2\n"
)
SCRIPT = "import app\napp.parse('nope')\n"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_project(
        tmp_path_factory.mktemp("pages") / "proj",
        {"app.py": APP_PY, "tests/test_app.py": TESTS, "script.py": SCRIPT},
    )
    assert ems(root, "test", "--no-coverage", "-q").returncode == 1
    write(root, {"tests/test_app.py": TESTS.replace("assert 1 == 2", "assert 2 == 2")})
    assert ems(root, "test", "-q").returncode == 1  # with coverage; test_wrong fixed
    assert ems(root, "run", "--", sys.executable, "script.py").returncode == 1
    return root


def page(root: Path, script: str, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("EMS_DASHBOARD_ROOT", str(root))
    monkeypatch.delenv("EMS_DASHBOARD_LIVE", raising=False)
    monkeypatch.delenv("EMS_DASHBOARD_TOKEN", raising=False)
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    at.switch_page(script).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def text(at: AppTest) -> str:
    parts = [e.value for e in at.markdown] + [e.value for e in at.caption] + [e.value for e in at.subheader]
    parts += (
        [str(e.value) for e in at.info]
        + [str(e.value) for e in at.success]
        + [str(e.value) for e in at.warning]
    )
    return "\n".join(str(p) for p in parts)


def test_tests_page_shows_runs_groups_states_slowest_and_coverage(
    recorded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = page(recorded, "views/tests.py", monkeypatch)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Latest run"] == "#2" and metrics["Passed"] == "2" and metrics["Failed"] == "2"
    body = text(at)
    for heading in ("Runs over time", "Failure groups", "Flaky tests", "Slowest tests", "Coverage"):
        assert heading in body
    groups = at.dataframe[0].value
    assert list(groups["state"]) == ["ongoing"] and list(groups["members"]) == [2]
    assert list(groups["crash"]) == ["app.py:2"]
    # Show fixed groups too.
    at.multiselect(key="tests_states").set_value(["ongoing", "fixed"]).run()
    groups = at.dataframe[0].value
    assert sorted(groups["state"]) == ["fixed", "ongoing"]
    # The open group's detail: members, frames and the source where it raised.
    at.selectbox(key="tests_group").set_value(
        next(o for o in at.selectbox(key="tests_group").options if "ValueError" in o)
    ).run()
    assert "state **ongoing**" in text(at)
    frames = [d.value for d in at.dataframe if "function" in d.value.columns]
    assert list(frames[0]["function"]) == ["test_parse", "parse"]
    assert "run 1: new → run 2: ongoing" in text(at)
    # Coverage per file, and the uncovered lines of app.py.
    coverage = next(d.value for d in at.dataframe if "statements" in d.value.columns)
    assert "app.py" in list(coverage["path"])
    at.selectbox(key="tests_cov_file").set_value("app.py").run()
    html = "\n".join(h.proto.body for h in at.get("html"))
    assert "background:#ffd7d7" in html and "return 2" in html


def test_runtime_errors_page_shows_captured_groups(recorded: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = page(recorded, "views/runtime_errors.py", monkeypatch)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Program runs"] == "1" and metrics["Open groups"] == "1"
    groups = next(d.value for d in at.dataframe if "commands" in d.value.columns)
    assert list(groups["type"]) == ["ValueError"] and list(groups["crash"]) == ["app.py:2"]
    assert "invalid literal for int() with base <n>: <str>" in list(groups["message"])
    assert "state **new**" in text(at)


def test_pages_explain_what_to_run_when_nothing_is_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_project(tmp_path / "empty", {"a.py": ""})
    assert "Run `ems test`" in text(page(root, "views/tests.py", monkeypatch))
    assert "ems run -- python app.py" in text(page(root, "views/runtime_errors.py", monkeypatch))
