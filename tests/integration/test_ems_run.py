"""``ems run`` and ``ems.capture.install()``: a program's exceptions recorded and grouped."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sample_projects import child_env, ems, make_project

from ems.store import open_store
from ems.store import testruns as db

APP = """\
import logging
import sys

log = logging.getLogger("shop")
SECRET = "card-4111-1111"


def price(order_id):
    try:
        return {"a-1": 3}[order_id]
    except KeyError:
        log.exception("no price for %s", order_id)


def total(values):
    return sum(int(v) for v in values)


price("order-17")
price("order-18")
total([SECRET, sys.argv[1]])
"""


def run_json(root: Path, *command: str) -> tuple[int, dict]:
    done = ems(root, "run", "--format", "json", "--", *command)
    return done.returncode, json.loads(done.stdout)


def test_a_failing_script_makes_one_group_per_cause_and_rerunning_adds_none(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", {"app.py": APP})
    code, first = run_json(root, sys.executable, "app.py", "7")
    assert code == 1  # the program's exit code
    assert first["captured"] is True
    assert sorted((g["type"], g["state"]) for g in first["groups"]) == [
        ("KeyError", "new"),
        ("ValueError", "new"),
    ]
    code, second = run_json(root, sys.executable, "app.py", "7")
    assert code == 1
    assert sorted((g["type"], g["state"]) for g in second["groups"]) == [
        ("KeyError", "ongoing"),
        ("ValueError", "ongoing"),
    ]
    with open_store(root) as store:
        groups = db.groups(store, kind="run")
        assert len(groups) == 2
        logged = next(g for g in groups if g.exc_type == "KeyError")
        assert (logged.crash_path, logged.crash_line, logged.crash_function) == ("app.py", 10, "price")
        assert logged.occurrences == 4  # two per run
        rows = db.run_failures(store, second["run"])
    by_type = {r.exc_type: r for r in rows}
    assert by_type["KeyError"].logger == "shop" and by_type["KeyError"].stage == "logged"
    assert by_type["ValueError"].stage == "uncaught"
    frames = by_type["ValueError"].data["exceptions"][0]["frames"]
    assert [(f["function"], f["line"]) for f in frames] == [
        ("<module>", 21),
        ("total", 16),
        ("total.<locals>.<genexpr>", 16),
    ]
    stored = json.dumps([r.data for r in rows])
    assert "card-4111" not in stored and "order-17" not in stored  # values parameterised
    assert by_type["ValueError"].message == "invalid literal for int() with base <n>: <str>"


def test_fixing_the_program_fixes_its_groups(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", {"app.py": "import sys\nraise SystemError(sys.argv[1])\n"})
    _, first = run_json(root, sys.executable, "app.py", "x")
    assert [g["state"] for g in first["groups"]] == ["new"]
    (root / "app.py").write_text("x = 1\n")
    code, second = run_json(root, sys.executable, "app.py", "x")
    assert code == 0
    assert [g["state"] for g in second["groups"]] == ["fixed"]


def test_capture_install_in_a_program_started_otherwise(tmp_path: Path) -> None:
    root = make_project(
        tmp_path / "p",
        {
            "worker.py": "import ems.capture\nems.capture.install()\n\ndef job():\n    raise LookupError('job 12 lost')\n\njob()\n"
        },
    )
    done = subprocess.run(
        [sys.executable, "worker.py"], cwd=root, env=child_env(), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1 and "LookupError" in done.stderr
    with open_store(root) as store:
        [run] = db.runs(store, kind="run")
        assert run.status == "complete"
        [group] = db.groups(store)
        assert (group.exc_type, group.message, group.crash_line, group.state) == (
            "LookupError",
            "job <n> lost",
            5,
            "new",
        )


def test_a_command_that_cannot_start_is_reported(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", {"a.py": ""})
    done = ems(root, "run", "--", "no-such-program-anywhere")
    assert done.returncode == 127
    assert "cannot run 'no-such-program-anywhere'" in done.stderr
    assert ems(root, "run").returncode == 2
