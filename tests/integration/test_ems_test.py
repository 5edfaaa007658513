"""``ems test`` and the pytest plugin on sample projects: what is stored, how it groups.

Each test runs pytest in a subprocess on a project made in tmp_path and reads the real
store. Runs skip coverage unless the test is about coverage (it doubles a run's time).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sample_projects import (
    child_env,
    ems,
    ems_test,
    git,
    groups_by_state,
    make_project,
    write,
)

from ems.store import open_store
from ems.store import testruns as db

APP = """\
def parse(value):
    return int(value)


def level2(value):
    return parse(value)


def level1(value):
    return level2(value)
"""

TESTS = """\
import pytest

import app


def test_passes():
    assert app.parse("3") == 3


def test_assertion():
    total = 1 + 1
    assert total == 3


def test_three_calls_deep():
    app.level1("x")


def test_chained():
    try:
        {}["key"]
    except KeyError as exc:
        raise RuntimeError("lookup failed for 42") from exc


def test_group():
    raise ExceptionGroup("several", [ValueError("a 1"), TypeError("b")])


@pytest.fixture
def broken():
    raise OSError("no disk at /srv/data/x")


def test_fixture_error(broken):
    pass


@pytest.mark.parametrize("value", ["a", "b", "c", "d"])
def test_parametrised(value):
    assert app.parse(value) == 1
"""


def failures(root: Path, run_id: int) -> dict[str, db.FailureRow]:
    with open_store(root) as store:
        return {f.nodeid: f for f in db.run_failures(store, run_id)}


@pytest.fixture(scope="module")
def failing_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, dict]:
    root = make_project(
        tmp_path_factory.mktemp("failing") / "proj", {"app.py": APP, "tests/test_app.py": TESTS}
    )
    code, summary, _ = ems_test(root, "-q", "--tb=no")
    return root, code, summary


def test_exit_code_is_pytests_and_every_outcome_is_counted(failing_run) -> None:
    root, code, summary = failing_run
    assert code == 1
    assert summary["status"] == "complete"
    assert summary["counts"]["passed"] == 1
    assert summary["counts"]["failed"] == 8  # assertion, deep, chained, group, 4 parametrised
    assert summary["counts"]["error"] == 1
    with open_store(root) as store:
        run = db.get_run(store, summary["run"])
        assert run is not None and run.commit_sha == git(root, "rev-parse", "HEAD") and run.dirty is False
        outcomes = {r.nodeid: r.outcome for r in db.run_results(store, run.id)}
    assert outcomes["tests/test_app.py::test_passes"] == "passed"
    assert outcomes["tests/test_app.py::test_fixture_error"] == "error"


def test_assertion_failure_is_located_at_the_assert(failing_run) -> None:
    root, _, summary = failing_run
    f = failures(root, summary["run"])["tests/test_app.py::test_assertion"]
    assert f.exc_type == "AssertionError"
    assert (f.crash_path, f.crash_line, f.crash_function) == ("tests/test_app.py", 12, "test_assertion")
    assert "assert 2 == 3" in f.message


def test_exception_three_calls_deep_keeps_every_project_frame(failing_run) -> None:
    root, _, summary = failing_run
    f = failures(root, summary["run"])["tests/test_app.py::test_three_calls_deep"]
    frames = f.data["exceptions"][0]["frames"]
    assert [(fr["path"], fr["line"], fr["function"]) for fr in frames] == [
        ("tests/test_app.py", 16, "test_three_calls_deep"),
        ("app.py", 10, "level1"),
        ("app.py", 6, "level2"),
        ("app.py", 2, "parse"),
    ]
    assert frames[-1]["source"] == "return int(value)"
    assert (frames[-1]["column"], frames[-1]["end_column"]) == (11, 21)  # `int(value)`
    assert (f.crash_path, f.crash_line) == ("app.py", 2)
    assert not any("site-packages" in fr["path"] or "_pytest" in fr["path"] for fr in frames)


def test_chained_exception_records_its_cause(failing_run) -> None:
    root, _, summary = failing_run
    f = failures(root, summary["run"])["tests/test_app.py::test_chained"]
    primary, cause = f.data["exceptions"]
    assert (primary["type"], primary["relation"]) == ("RuntimeError", "primary")
    assert (cause["type"], cause["relation"], cause["parent"]) == ("KeyError", "cause", 0)
    assert cause["frames"][-1]["line"] == 21


def test_exception_group_records_its_members(failing_run) -> None:
    root, _, summary = failing_run
    f = failures(root, summary["run"])["tests/test_app.py::test_group"]
    kinds = [(e["type"], e["relation"]) for e in f.data["exceptions"]]
    assert kinds == [("ExceptionGroup", "primary"), ("ValueError", "member"), ("TypeError", "member")]
    assert f.crash_line == 27


def test_fixture_error_is_recorded_at_setup(failing_run) -> None:
    root, _, summary = failing_run
    f = failures(root, summary["run"])["tests/test_app.py::test_fixture_error"]
    assert (f.stage, f.exc_type, f.crash_function, f.crash_line) == ("setup", "OSError", "broken", 32)


def test_parametrised_test_failing_for_one_cause_is_one_group(failing_run) -> None:
    _, _, summary = failing_run
    param = [g for g in summary["groups"] if any("test_parametrised" in m for m in g["members"])]
    assert len(param) == 1
    assert len(param[0]["members"]) == 4
    assert param[0]["type"] == "ValueError"
    assert param[0]["message"] == "invalid literal for int() with base <n>: <str>"
    assert param[0]["crash"] == "app.py:2"
    # test_three_calls_deep reaches parse() through level1/level2: another path, another group.
    assert "tests/test_app.py::test_three_calls_deep" not in param[0]["members"]
    assert {g["state"] for g in summary["groups"]} == {"new"}
    assert len(summary["groups"]) == 6


def test_states_across_runs_new_ongoing_fixed_regressed(tmp_path: Path) -> None:
    root = make_project(
        tmp_path / "p",
        {
            "app.py": "def parse(v):\n    return int(v)\n",
            "tests/test_a.py": "import app\n\ndef test_parse():\n    assert app.parse('x') == 0\n\n"
            "def test_other():\n    assert 1 == 2\n",
        },
    )
    _, first, _ = ems_test(root)
    assert {g["state"] for g in first["groups"]} == {"new"}
    _, second, _ = ems_test(root, "tests/test_a.py::test_parse")  # a subset: test_other did not run
    assert {g["state"] for g in second["groups"]} == {"ongoing"} and len(second["groups"]) == 1
    write(root, {"app.py": "def parse(v):\n    return int(v) if v.isdigit() else 0\n"})
    _, third, _ = ems_test(root)
    states = groups_by_state(third)
    assert [g["type"] for g in states["fixed"]] == ["ValueError"]
    assert [g["type"] for g in states["ongoing"]] == ["AssertionError"]
    write(root, {"app.py": "def parse(v):\n    return int(v)\n"})
    _, fourth, _ = ems_test(root)
    assert [g["type"] for g in groups_by_state(fourth)["regressed"]] == ["ValueError"]
    assert fourth["previousRun"] == third["run"]
    with open_store(root) as store:
        group = next(g for g in db.groups(store) if g.exc_type == "ValueError")
        assert group.state == "regressed" and group.first_run_id == first["run"]
        assert [s for _, s, _ in db.group_history(store, group.fingerprint)] == [
            "new",
            "ongoing",
            "fixed",
            "regressed",
        ]


def test_text_summary_lists_groups_by_state(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", {"tests/test_a.py": "def test_a():\n    assert 1 == 2\n"})
    done = ems(root, "test", "--no-coverage", "-q")
    assert done.returncode == 1
    assert "failure groups: 1 new" in done.stdout
    assert "AssertionError: assert <n> == <n> at tests/test_a.py:2" in done.stdout
    assert "tests/test_a.py::test_a" in done.stdout


def test_collection_error_is_recorded_with_its_location(tmp_path: Path) -> None:
    root = make_project(
        tmp_path / "p",
        {
            "helper.py": "VALUE = 1 / 0\n",
            "tests/test_ok.py": "def test_ok():\n    pass\n",
            "tests/test_broken.py": "import helper\n\ndef test_never():\n    pass\n",
            "tests/test_missing.py": "import not_a_module_anywhere\n",
        },
    )
    code, summary, _ = ems_test(root)
    assert code == 2  # pytest: interrupted by collection errors
    assert summary["status"] == "complete"
    found = failures(root, summary["run"])
    broken = found["tests/test_broken.py"]
    assert (broken.stage, broken.exc_type, broken.crash_path, broken.crash_line) == (
        "collect",
        "ZeroDivisionError",
        "helper.py",
        1,
    )
    missing = found["tests/test_missing.py"]
    assert (missing.exc_type, missing.crash_path, missing.crash_line) == (
        "ModuleNotFoundError",
        "tests/test_missing.py",
        1,
    )
    assert summary["counts"]["error"] == 2


def test_xdist_workers_report_to_the_controller(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", {"app.py": APP, "tests/test_app.py": TESTS})
    code, summary, _ = ems_test(root, "-p", "xdist", "-n", "2", "--tb=line", "-q")
    assert code == 1
    assert summary["counts"] == {
        "passed": 1,
        "failed": 8,
        "error": 1,
        "skipped": 0,
        "xfailed": 0,
        "xpassed": 0,
    }
    assert len(summary["groups"]) == 6
    deep = failures(root, summary["run"])["tests/test_app.py::test_three_calls_deep"]
    assert [fr["function"] for fr in deep.data["exceptions"][0]["frames"]] == [
        "test_three_calls_deep",
        "level1",
        "level2",
        "parse",
    ]


def test_flaky_test_is_flagged_on_the_same_commit(tmp_path: Path) -> None:
    counter = tmp_path / "counter"
    root = make_project(
        tmp_path / "p",
        {
            "tests/test_f.py": f"from pathlib import Path\n\nCOUNTER = Path({str(counter)!r})\n\n"
            "def test_sometimes():\n"
            "    n = int(COUNTER.read_text()) if COUNTER.exists() else 0\n"
            "    COUNTER.write_text(str(n + 1))\n"
            "    assert n % 2 == 0\n\n"
            "def test_always():\n    assert True\n",
        },
    )
    ems_test(root)
    ems_test(root)
    from ems.testing.grouping import flaky_tests

    with open_store(root) as store:
        assert flaky_tests(db.outcome_history(store)) == ["tests/test_f.py::test_sometimes"]


def test_coverage_is_recorded_per_file(tmp_path: Path) -> None:
    root = make_project(
        tmp_path / "p",
        {
            "app.py": "def used():\n    return 1\n\n\ndef unused():\n    return 2\n",
            "tests/test_a.py": "import app\n\ndef test_used():\n    assert app.used() == 1\n",
        },
    )
    code, summary, _ = ems_test(root, coverage=True)
    assert code == 0
    with open_store(root) as store:
        files = {f.path: f for f in db.coverage(store, summary["run"])}
    assert files["app.py"].missing == (6,)
    assert files["app.py"].statements == 4 and files["app.py"].covered == 3
    assert files["tests/test_a.py"].missing == ()
    assert summary["coveragePercent"] is not None


def test_a_suite_that_cannot_start_is_reported_and_loses_nothing(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", {"tests/test_a.py": "def test_a():\n    assert 1 == 2\n"})
    _, first, _ = ems_test(root)
    code, summary, _stderr = ems_test(root, "--no-such-pytest-option")
    assert code == 4
    assert summary["status"] == "not-started"
    assert "usage error" in summary["message"] and "--no-such-pytest-option" in summary["message"]
    write(root, {"conftest.py": "import not_installed_anywhere\n"})
    code, summary, _ = ems_test(root)
    assert code == 4 and summary["status"] == "not-started"
    assert "not_installed_anywhere" in summary["message"]
    with open_store(root) as store:
        assert [g.state for g in db.groups(store)] == ["new"]  # untouched by the broken runs
        assert len(db.run_failures(store, first["run"])) == 1


def test_plain_pytest_is_unchanged_by_the_installed_plugin(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", {"tests/test_a.py": "def test_a():\n    assert 1 == 2\n"})

    def pytest_run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", *args],
            cwd=root,
            env=child_env(autoload=True),
            capture_output=True,
            text=True,
            timeout=120,
        )

    default = pytest_run()
    disabled = pytest_run("-p", "no:ems")
    strip = lambda text: "\n".join(line for line in text.splitlines() if " in " not in line)  # noqa: E731
    assert default.returncode == disabled.returncode == 1
    assert strip(default.stdout) == strip(disabled.stdout)
    assert not (root / ".ems").exists()
    listed = pytest_run("--trace-config", "--co")
    assert "ems.testing.pytest_plugin" in listed.stdout  # loaded (inert)
    assert "ems-recorder" not in listed.stdout


def test_pytest_dash_p_ems_records_into_the_store(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", {"tests/test_a.py": "def test_a():\n    assert 1 == 2\n"})
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "ems"],
        cwd=root,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "ems: run 1 recorded" in done.stdout
    with open_store(root) as store:
        [run] = db.runs(store)
        assert run.command[:1] == ("pytest",) and run.failed == 1


def test_a_project_outside_git_is_recorded_without_a_commit(tmp_path: Path) -> None:
    root = make_project(
        tmp_path / "p", {"tests/test_a.py": "def test_a():\n    assert 1 == 2\n"}, commit=False
    )
    code, summary, _ = ems_test(root)
    assert code == 1 and [g["state"] for g in summary["groups"]] == ["new"]
    with open_store(root) as store:
        run = db.get_run(store, summary["run"])
    assert run is not None and run.commit_sha is None and run.code_state is None
