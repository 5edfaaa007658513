"""Test runs, captured program runs, failures, failure groups and coverage in the store.

Data access only: ``ems.testing.record`` decides fingerprints and states and calls these
inside one ``Store.transaction()`` (so a run and its group states land together or not at
all); the faces read through the query functions at the bottom. Values are plain: a failure's
full data (frames, chain) is kept as the JSON the plugin produced.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ems.store.db import Store
from ems.testing.normalise import parameterise

KIND_TEST = "test"
KIND_RUN = "run"
RUNNING = "running"
COMPLETE = "complete"
NOT_STARTED = "not-started"
INTERRUPTED = "interrupted"
OPEN_STATES = ("new", "ongoing", "regressed")  # a group in one of these is a current problem


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class NewRun:
    kind: str
    root: str
    command: tuple[str, ...]
    ems_version: str
    commit_sha: str | None = None
    branch: str | None = None
    dirty: bool | None = None
    code_state: str | None = None
    started_at: str = ""


@dataclass(frozen=True)
class TestRun:
    __test__ = False

    id: int
    kind: str
    started_at: str
    finished_at: str | None
    root: str
    command: tuple[str, ...]
    commit_sha: str | None
    branch: str | None
    dirty: bool | None
    code_state: str | None
    status: str
    exit_code: int | None
    duration_s: float | None
    passed: int
    failed: int
    errors: int
    skipped: int
    xfailed: int
    xpassed: int
    message: str | None
    ems_version: str

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.errors + self.skipped + self.xfailed + self.xpassed


@dataclass(frozen=True)
class FailureRow:
    id: int
    run_id: int
    fingerprint: str
    nodeid: str
    stage: str
    exc_type: str
    message: str
    crash_path: str | None
    crash_line: int | None
    crash_function: str | None
    logger: str | None
    data: dict[str, object]
    recorded_at: str


@dataclass(frozen=True)
class FailureGroup:
    fingerprint: str
    kind: str
    exc_type: str
    message: str
    crash_path: str | None
    crash_line: int | None
    crash_function: str | None
    crash_source: str | None
    state: str
    first_run_id: int
    first_seen: str
    first_commit: str | None
    last_run_id: int
    last_seen: str
    last_commit: str | None
    state_run_id: int
    occurrences: int


@dataclass(frozen=True)
class TestOutcome:
    __test__ = False

    run_id: int
    nodeid: str
    outcome: str
    duration_s: float
    path: str | None
    line: int | None


@dataclass(frozen=True)
class CoverageFile:
    run_id: int
    path: str
    statements: int
    covered: int
    missing: tuple[int, ...]
    percent: float


_RUN_COLUMNS = (
    "id, kind, started_at, finished_at, root, command, commit_sha, branch, dirty, code_state, status,"
    " exit_code, duration_s, passed, failed, errors, skipped, xfailed, xpassed, message, ems_version"
)
_FAILURE_COLUMNS = (
    "id, run_id, fingerprint, nodeid, stage, exc_type, message, crash_path, crash_line, crash_function,"
    " logger, data, recorded_at"
)
_GROUP_COLUMNS = (
    "fingerprint, kind, exc_type, message, crash_path, crash_line, crash_function, crash_source, state,"
    " first_run_id, first_seen, first_commit, last_run_id, last_seen, last_commit, state_run_id, occurrences"
)


def _run(r: Sequence[object]) -> TestRun:
    values = list(r)
    values[5] = tuple(json.loads(str(values[5])))
    values[8] = None if values[8] is None else bool(values[8])
    return TestRun(*values)  # type: ignore[arg-type]


def _failure(r: Sequence[object]) -> FailureRow:
    values = list(r)
    values[11] = json.loads(str(values[11]))
    return FailureRow(*values)  # type: ignore[arg-type]


# ---------------------------------------------------------------- writing


def create_run(conn: sqlite3.Connection, run: NewRun) -> int:
    cursor = conn.execute(
        "INSERT INTO test_runs (kind, started_at, root, command, commit_sha, branch, dirty, code_state,"
        " status, ems_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            run.kind,
            run.started_at or now(),
            run.root,
            json.dumps(list(run.command)),
            run.commit_sha,
            run.branch,
            None if run.dirty is None else int(run.dirty),
            run.code_state,
            RUNNING,
            run.ems_version,
        ),
    )
    return int(cursor.lastrowid or 0)


def add_results(
    conn: sqlite3.Connection, run_id: int, rows: Iterable[tuple[str, str, float, str | None, int | None]]
) -> None:
    """(nodeid, outcome, duration, path, line) per test."""
    conn.executemany(
        "INSERT INTO test_results (run_id, nodeid, outcome, duration_s, path, line) VALUES (?, ?, ?, ?, ?, ?)",
        [(run_id, *row) for row in rows],
    )


def add_failure(conn: sqlite3.Connection, run_id: int, fingerprint: str, failure: Mapping[str, Any]) -> None:
    """One failure; ``failure`` is ``Failure.to_dict()`` (its crash and primary are indexed)."""
    crash = failure.get("crash") or {}
    primary = failure["exceptions"][0]
    conn.execute(
        f"INSERT INTO failures ({_FAILURE_COLUMNS.replace('id, ', '', 1)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            run_id,
            fingerprint,
            failure["nodeid"],
            failure["when"],
            primary["type"],
            primary["message"],
            crash.get("path"),
            crash.get("line"),
            crash.get("function"),
            failure.get("logger"),
            json.dumps(failure, ensure_ascii=False),
            now(),
        ),
    )


def add_coverage(conn: sqlite3.Connection, run_id: int, files: Iterable[CoverageFile]) -> None:
    conn.executemany(
        "INSERT OR REPLACE INTO coverage_files (run_id, path, statements, covered, missing, percent)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(run_id, f.path, f.statements, f.covered, json.dumps(list(f.missing)), f.percent) for f in files],
    )


def finish_run(
    conn: sqlite3.Connection,
    run_id: int,
    *,
    status: str,
    exit_code: int | None,
    duration_s: float | None,
    counts: Mapping[str, int] | None = None,
    message: str | None = None,
) -> None:
    counts = counts or {}
    conn.execute(
        "UPDATE test_runs SET finished_at = ?, status = ?, exit_code = ?, duration_s = ?, passed = ?,"
        " failed = ?, errors = ?, skipped = ?, xfailed = ?, xpassed = ?, message = ? WHERE id = ?",
        (
            now(),
            status,
            exit_code,
            duration_s,
            counts.get("passed", 0),
            counts.get("failed", 0),
            counts.get("error", 0),
            counts.get("skipped", 0),
            counts.get("xfailed", 0),
            counts.get("xpassed", 0),
            message,
            run_id,
        ),
    )


def run_in(conn: sqlite3.Connection, run_id: int) -> TestRun | None:
    row = conn.execute(f"SELECT {_RUN_COLUMNS} FROM test_runs WHERE id = ?", (run_id,)).fetchone()
    return _run(row) if row else None


def failures_in(conn: sqlite3.Connection, run_id: int) -> list[FailureRow]:
    rows = conn.execute(f"SELECT {_FAILURE_COLUMNS} FROM failures WHERE run_id = ? ORDER BY id", (run_id,))
    return [_failure(r) for r in rows.fetchall()]


def nodeids_in(conn: sqlite3.Connection, run_id: int) -> list[str]:
    """Tests that ran (not skipped) in the run."""
    rows = conn.execute(
        "SELECT nodeid FROM test_results WHERE run_id = ? AND outcome != 'skipped'", (run_id,)
    ).fetchall()
    return [r[0] for r in rows]


def standings(conn: sqlite3.Connection, kind: str) -> dict[str, tuple[str, frozenset[str]]]:
    """Each group of ``kind``: (state, the members that failed in its last failing run)."""
    groups = conn.execute(
        "SELECT fingerprint, state, last_run_id FROM failure_groups WHERE kind = ?", (kind,)
    ).fetchall()
    members: dict[tuple[str, int], set[str]] = {}
    if groups:
        for fp, run_id, nodeid in conn.execute(
            "SELECT f.fingerprint, f.run_id, f.nodeid FROM failures f JOIN failure_groups g"
            " ON g.fingerprint = f.fingerprint AND g.last_run_id = f.run_id WHERE g.kind = ?",
            (kind,),
        ):
            members.setdefault((fp, run_id), set()).add(nodeid)
    return {fp: (state, frozenset(members.get((fp, last), ()))) for fp, state, last in groups}


def apply_states(
    conn: sqlite3.Connection, run: TestRun, states: Mapping[str, str], failures: Sequence[FailureRow]
) -> None:
    """Write the run's group states and bring each group's summary up to date."""
    by_fp: dict[str, list[FailureRow]] = {}
    for f in failures:
        by_fp.setdefault(f.fingerprint, []).append(f)
    seen = run.finished_at or run.started_at
    for fp, state in states.items():
        mine = by_fp.get(fp, [])
        conn.execute(
            "INSERT OR REPLACE INTO group_states (run_id, fingerprint, state, failures) VALUES (?, ?, ?, ?)",
            (run.id, fp, state, len(mine)),
        )
        if not mine:  # fixed: only the state moves
            conn.execute(
                "UPDATE failure_groups SET state = ?, state_run_id = ? WHERE fingerprint = ?",
                (state, run.id, fp),
            )
            continue
        first = mine[0]
        crash = first.data.get("crash") or {}
        conn.execute(
            f"INSERT INTO failure_groups ({_GROUP_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(fingerprint) DO UPDATE SET exc_type = excluded.exc_type, message = excluded.message,"
            " crash_path = excluded.crash_path, crash_line = excluded.crash_line,"
            " crash_function = excluded.crash_function, crash_source = excluded.crash_source,"
            " state = excluded.state, last_run_id = excluded.last_run_id, last_seen = excluded.last_seen,"
            " last_commit = excluded.last_commit, state_run_id = excluded.state_run_id,"
            " occurrences = failure_groups.occurrences + excluded.occurrences",
            (
                fp,
                run.kind,
                first.exc_type,
                parameterise(first.message),
                first.crash_path,
                first.crash_line,
                first.crash_function,
                crash.get("source") if isinstance(crash, dict) else None,
                state,
                run.id,
                seen,
                run.commit_sha,
                run.id,
                seen,
                run.commit_sha,
                run.id,
                len(mine),
            ),
        )


# ---------------------------------------------------------------- reading (the faces)


def runs(store: Store, kind: str | None = None, limit: int = 100) -> list[TestRun]:
    """Newest first."""
    if kind is None:
        rows = store._query(f"SELECT {_RUN_COLUMNS} FROM test_runs ORDER BY id DESC LIMIT ?", (limit,))
    else:
        rows = store._query(
            f"SELECT {_RUN_COLUMNS} FROM test_runs WHERE kind = ? ORDER BY id DESC LIMIT ?", (kind, limit)
        )
    return [_run(r) for r in rows]


def get_run(store: Store, run_id: int) -> TestRun | None:
    rows = store._query(f"SELECT {_RUN_COLUMNS} FROM test_runs WHERE id = ?", (run_id,))
    return _run(rows[0]) if rows else None


def latest_run_id(store: Store) -> int:
    """The newest run of any kind (0 if none): what the server and the dashboard watch."""
    return int(store._query("SELECT COALESCE(MAX(id), 0) FROM test_runs")[0][0])


def previous_complete_run(store: Store, kind: str, before: int) -> TestRun | None:
    rows = store._query(
        f"SELECT {_RUN_COLUMNS} FROM test_runs WHERE kind = ? AND status = ? AND id < ? ORDER BY id DESC LIMIT 1",
        (kind, COMPLETE, before),
    )
    return _run(rows[0]) if rows else None


def run_failures(store: Store, run_id: int) -> list[FailureRow]:
    return [
        _failure(r)
        for r in store._query(
            f"SELECT {_FAILURE_COLUMNS} FROM failures WHERE run_id = ? ORDER BY id", (run_id,)
        )
    ]


def run_states(store: Store, run_id: int) -> dict[str, str]:
    rows = store._query("SELECT fingerprint, state FROM group_states WHERE run_id = ?", (run_id,))
    return {str(fingerprint): str(state) for fingerprint, state in rows}


def run_results(store: Store, run_id: int) -> list[TestOutcome]:
    rows = store._query(
        "SELECT run_id, nodeid, outcome, duration_s, path, line FROM test_results WHERE run_id = ? ORDER BY nodeid",
        (run_id,),
    )
    return [TestOutcome(*r) for r in rows]


def groups(store: Store, kind: str | None = None, states: Sequence[str] | None = None) -> list[FailureGroup]:
    """Failure groups, most recently seen first."""
    sql = f"SELECT {_GROUP_COLUMNS} FROM failure_groups WHERE 1 = 1"
    params: list[object] = []
    if kind is not None:
        sql += " AND kind = ?"
        params.append(kind)
    if states:
        sql += f" AND state IN ({','.join('?' * len(states))})"
        params.extend(states)
    return [FailureGroup(*r) for r in store._query(sql + " ORDER BY last_run_id DESC, fingerprint", params)]


def group(store: Store, fingerprint: str) -> FailureGroup | None:
    rows = store._query(f"SELECT {_GROUP_COLUMNS} FROM failure_groups WHERE fingerprint = ?", (fingerprint,))
    return FailureGroup(*rows[0]) if rows else None


def group_failures(store: Store, fingerprint: str, run_id: int | None = None) -> list[FailureRow]:
    """The group's failures in one run (default: the last run it failed in)."""
    if run_id is None:
        found = group(store, fingerprint)
        if found is None:
            return []
        run_id = found.last_run_id
    rows = store._query(
        f"SELECT {_FAILURE_COLUMNS} FROM failures WHERE fingerprint = ? AND run_id = ? ORDER BY nodeid, id",
        (fingerprint, run_id),
    )
    return [_failure(r) for r in rows]


def group_history(store: Store, fingerprint: str) -> list[tuple[int, str, int]]:
    """(run id, state, failures) for every run that changed or confirmed the group's state."""
    rows = store._query(
        "SELECT run_id, state, failures FROM group_states WHERE fingerprint = ? ORDER BY run_id",
        (fingerprint,),
    )
    return [(int(r[0]), str(r[1]), int(r[2])) for r in rows]


def open_failures(store: Store) -> list[FailureRow]:
    """The latest failures of every group that is still a problem (what the editor shows)."""
    rows = store._query(
        f"SELECT {', '.join('f.' + c.strip() for c in _FAILURE_COLUMNS.split(','))} FROM failures f"
        " JOIN failure_groups g ON g.fingerprint = f.fingerprint AND g.last_run_id = f.run_id"
        f" WHERE g.state IN ({','.join('?' * len(OPEN_STATES))}) ORDER BY f.id",
        OPEN_STATES,
    )
    return [_failure(r) for r in rows]


def outcome_history(store: Store, limit_runs: int = 200) -> list[tuple[str, str, str]]:
    """(nodeid, code state, outcome) over the newest complete test runs: flaky-test input."""
    rows = store._query(
        "SELECT r.nodeid, t.code_state, r.outcome FROM test_results r JOIN test_runs t ON t.id = r.run_id"
        " WHERE t.id IN (SELECT id FROM test_runs WHERE kind = 'test' AND status = 'complete'"
        " ORDER BY id DESC LIMIT ?)",
        (limit_runs,),
    )
    return [(str(r[0]), str(r[1] or ""), str(r[2])) for r in rows]


def slowest(store: Store, run_id: int, limit: int = 20) -> list[TestOutcome]:
    rows = store._query(
        "SELECT run_id, nodeid, outcome, duration_s, path, line FROM test_results WHERE run_id = ?"
        " ORDER BY duration_s DESC LIMIT ?",
        (run_id, limit),
    )
    return [TestOutcome(*r) for r in rows]


def latest_coverage_run(store: Store) -> int | None:
    rows = store._query("SELECT MAX(run_id) FROM coverage_files")
    return int(rows[0][0]) if rows and rows[0][0] is not None else None


def coverage(store: Store, run_id: int) -> list[CoverageFile]:
    rows = store._query(
        "SELECT run_id, path, statements, covered, missing, percent FROM coverage_files WHERE run_id = ?"
        " ORDER BY path",
        (run_id,),
    )
    return [CoverageFile(r[0], r[1], r[2], r[3], tuple(json.loads(r[4])), r[5]) for r in rows]
