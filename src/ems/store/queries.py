"""Read-side queries over the store for the faces that summarise it (the dashboard).

Aggregations run in SQLite (GROUP BY, joins) so a face never loads 100,000 finding rows
to count them. Every function takes an open ``Store`` and returns plain frozen rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from ems.store.db import Store


@dataclass(frozen=True)
class StoreState:
    """What a cached view depends on: it changes when a scan or a history walk is recorded."""

    scan_id: int | None
    history_run_id: int | None


@dataclass(frozen=True)
class FindingRow:
    """A finding of a recorded scan, with its introducing commit when history knows it."""

    fingerprint: str
    code: str
    name: str
    severity: str
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    message: str
    fixable: bool
    introduced_sha: str | None
    introduced_exact: bool
    author: str | None
    introduced_at: int | None  # unix time of the introducing commit


@dataclass(frozen=True)
class RuleCount:
    code: str
    name: str
    severity: str
    count: int
    fixable: int


@dataclass(frozen=True)
class ScanPoint:
    """One recorded scan's findings per severity (for the trend over scans)."""

    scan_id: int
    started_at: str
    commit_sha: str | None
    severity: str
    count: int


@dataclass(frozen=True)
class CommitPoint:
    """One walked commit: findings introduced and removed by it, and open after it."""

    sha: str
    timestamp: int
    author: str
    summary: str
    introduced: int
    removed: int
    open: int


@dataclass(frozen=True)
class AuthorRow:
    author: str
    commits: int
    introduced: int
    removed: int


def store_state(store: Store) -> StoreState:
    rows = store._query("SELECT (SELECT MAX(id) FROM scans), (SELECT MAX(id) FROM history_runs)")
    scan_id, run_id = rows[0]
    return StoreState(scan_id, run_id)


def severity_counts(store: Store, scan_id: int) -> dict[str, int]:
    rows = store._query(
        "SELECT severity, COUNT(*) FROM findings WHERE scan_id = ? GROUP BY severity", (scan_id,)
    )
    return {r[0]: int(r[1]) for r in rows}


def rule_counts(store: Store, scan_id: int) -> list[RuleCount]:
    rows = store._query(
        "SELECT code, MAX(name), MAX(severity), COUNT(*), SUM(fixable) FROM findings WHERE scan_id = ?"
        " GROUP BY code ORDER BY COUNT(*) DESC, code",
        (scan_id,),
    )
    return [RuleCount(r[0], r[1], r[2], int(r[3]), int(r[4] or 0)) for r in rows]


def path_counts(store: Store, scan_id: int) -> dict[str, int]:
    rows = store._query("SELECT path, COUNT(*) FROM findings WHERE scan_id = ? GROUP BY path", (scan_id,))
    return {r[0]: int(r[1]) for r in rows}


def scan_trend(store: Store, limit: int = 200) -> list[ScanPoint]:
    """Findings per severity for the ``limit`` most recent scans, oldest first."""
    rows = store._query(
        "SELECT s.id, s.started_at, s.commit_sha, f.severity, COUNT(f.scan_id)"
        " FROM (SELECT * FROM scans ORDER BY id DESC LIMIT ?) s"
        " LEFT JOIN findings f ON f.scan_id = s.id"
        " GROUP BY s.id, f.severity ORDER BY s.id",
        (limit,),
    )
    return [ScanPoint(r[0], r[1], r[2], r[3] or "none", int(r[4])) for r in rows]


FINDING_COLUMNS = (
    "fingerprint",
    "code",
    "name",
    "severity",
    "path",
    "line",
    "column",
    "end_line",
    "end_column",
    "message",
    "fixable",
    "introduced_sha",
    "introduced_exact",
    "author",
    "introduced_at",
)
# A current finding joined with its open lifetime (removed_sha IS NULL: the one that
# explains it; through the fingerprint index) and the commit that introduced it.
_FINDINGS_SQL = (
    "SELECT f.fingerprint, f.code, f.name, f.severity, f.path, f.line, f.column, f.end_line,"
    " f.end_column, f.message, f.fixable, COALESCE(h.introduced_sha, h.boundary_sha),"
    " h.introduced_sha IS NOT NULL, c.author, c.timestamp"
    " FROM findings f LEFT JOIN history h ON h.fingerprint = f.fingerprint AND h.removed_sha IS NULL"
    " LEFT JOIN commits c ON c.sha = COALESCE(h.introduced_sha, h.boundary_sha)"
)


def finding_records(store: Store, scan_id: int) -> list[tuple]:
    """Every finding of ``scan_id`` as plain tuples in ``FINDING_COLUMNS`` order (one query;
    no object per row: a table of 100,000 findings is built straight from these)."""
    rows = store._query(
        _FINDINGS_SQL + " WHERE f.scan_id = ? ORDER BY f.path, f.line, f.column, f.code", (scan_id,)
    )
    seen: set[str] = set()
    unique = []
    for r in rows:  # a fingerprint with two open lifetimes (rare): keep the first
        if r[0] not in seen:
            seen.add(r[0])
            unique.append(tuple(r))
    return unique


def _row(r: tuple) -> FindingRow:
    return FindingRow(*r[:10], bool(r[10]), r[11], bool(r[12]), r[13], None if r[14] is None else int(r[14]))


def findings(store: Store, scan_id: int) -> list[FindingRow]:
    """Every finding of ``scan_id`` with its introducing commit, in file order."""
    return sorted(
        (_row(r) for r in finding_records(store, scan_id)), key=lambda f: (f.path, f.line, f.column, f.code)
    )


def finding(store: Store, scan_id: int, fingerprint: str) -> FindingRow | None:
    rows = store._query(
        _FINDINGS_SQL + " WHERE f.scan_id = ? AND f.fingerprint = ? LIMIT 1", (scan_id, fingerprint)
    )
    return _row(tuple(rows[0])) if rows else None


# Events are counted per commit first (one pass over the events' index), then joined.
_EVENTS_PER_COMMIT = (
    "SELECT commit_sha, SUM(kind = 'introduced') AS added, SUM(kind = 'removed') AS gone"
    " FROM history_events GROUP BY commit_sha"
)


def commit_trend(store: Store) -> list[CommitPoint]:
    """The commits of the recorded history walk, oldest first, with their event counts.

    ``open`` counts the findings alive after the commit: those already there before the
    walked window (lifetimes with no introducing commit) plus introductions minus removals.
    """
    rows = store._query(
        "SELECT c.sha, c.timestamp, c.author, c.summary, COALESCE(e.added, 0), COALESCE(e.gone, 0)"
        f" FROM commits c LEFT JOIN ({_EVENTS_PER_COMMIT}) e ON e.commit_sha = c.sha"
        " ORDER BY c.timestamp, c.sha"
    )
    before = store._query("SELECT COUNT(*) FROM history WHERE introduced_sha IS NULL")[0][0]
    points: list[CommitPoint] = []
    alive = int(before or 0)
    for sha, stamp, author, summary, added, removed in rows:
        alive += int(added) - int(removed)
        points.append(CommitPoint(sha, int(stamp), author, summary, int(added), int(removed), alive))
    return points


def authors(store: Store) -> list[AuthorRow]:
    rows = store._query(
        "SELECT c.author, COUNT(*), COALESCE(SUM(e.added), 0), COALESCE(SUM(e.gone), 0)"
        f" FROM commits c LEFT JOIN ({_EVENTS_PER_COMMIT}) e ON e.commit_sha = c.sha"
        " GROUP BY c.author ORDER BY 3 DESC, 1"
    )
    return [AuthorRow(r[0], int(r[1]), int(r[2]), int(r[3])) for r in rows]
