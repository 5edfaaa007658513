"""Read-side queries over the store for the faces that summarise it (the dashboard).

Aggregations run in SQLite (GROUP BY, joins) so a face never loads 100,000 finding rows
to count them. Every function takes an open ``Store`` and returns plain frozen rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
class WalkedCommit:
    """A commit of the recorded history walk and how many findings it introduced and removed."""

    sha: str
    timestamp: int  # unix time of the commit (its author date)
    author: str
    summary: str
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


# A current finding joined with its open lifetime (removed_sha IS NULL: the one that
# explains it; through the fingerprint index) and the commit that introduced it.
_FINDINGS_SQL = (
    "SELECT f.fingerprint, f.code, f.name, f.severity, f.path, f.line, f.column, f.end_line,"
    " f.end_column, f.message, f.fixable, COALESCE(h.introduced_sha, h.boundary_sha),"
    " h.introduced_sha IS NOT NULL, c.author, c.timestamp"
    " FROM findings f LEFT JOIN history h ON h.fingerprint = f.fingerprint AND h.removed_sha IS NULL"
    " LEFT JOIN commits c ON c.sha = COALESCE(h.introduced_sha, h.boundary_sha)"
)


def _row(r: tuple[Any, ...]) -> FindingRow:
    fingerprint, code, name, severity, path, line, column, end_line, end_column, message, *rest = r
    fixable, sha, exact, author, at = rest
    return FindingRow(
        fingerprint,
        code,
        name,
        severity,
        path,
        line,
        column,
        end_line,
        end_column,
        message,
        bool(fixable),
        sha,
        bool(exact),
        author,
        None if at is None else int(at),
    )


def findings(store: Store, scan_id: int) -> list[FindingRow]:
    """Every finding of ``scan_id`` with its introducing commit, in file order."""
    rows = store._query(
        _FINDINGS_SQL + " WHERE f.scan_id = ? ORDER BY f.path, f.line, f.column, f.code", (scan_id,)
    )
    return [_row(tuple(r)) for r in rows]


def finding(store: Store, scan_id: int, fingerprint: str) -> FindingRow | None:
    rows = store._query(
        _FINDINGS_SQL + " WHERE f.scan_id = ? AND f.fingerprint = ? LIMIT 1", (scan_id, fingerprint)
    )
    return _row(tuple(rows[0])) if rows else None


def walked_commits(store: Store) -> list[WalkedCommit]:
    """The commits of the recorded history walk, in walk order (oldest first), with their
    event counts (counted per commit in one pass over the events' index, then joined).
    The figures made of them have one home: ``ems.gitinfo.figures``."""
    rows = store._query(
        "SELECT c.sha, c.timestamp, c.author, c.summary, COALESCE(e.added, 0), COALESCE(e.gone, 0)"
        " FROM history_walk w JOIN commits c ON c.sha = w.sha"
        " LEFT JOIN (SELECT commit_sha, SUM(kind = 'introduced') AS added, SUM(kind = 'removed') AS gone"
        " FROM history_events GROUP BY commit_sha) e ON e.commit_sha = c.sha"
        " ORDER BY w.seq"
    )
    return [WalkedCommit(r[0], int(r[1]), r[2], r[3], int(r[4]), int(r[5])) for r in rows]


def open_before_walk(store: Store) -> int:
    """How many recorded findings were already there before the walked commits."""
    return int(store._query("SELECT COUNT(*) FROM history WHERE introduced_sha IS NULL")[0][0])


# ---------------------------------------------------------------- filtered findings


@dataclass(frozen=True)
class FindingFilter:
    """What the Findings page asks for; every field narrows the selection (empty: no limit).

    ``introduced_since``/``introduced_before`` are unix times of the introducing commit;
    ``unknown_origin`` keeps only findings whose introduction history does not know.
    """

    rules: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()
    path_contains: str = ""
    authors: tuple[str, ...] = ()
    introduced_since: int | None = None
    introduced_before: int | None = None
    unknown_origin: bool = False
    fixable: bool | None = None

    @property
    def needs_history(self) -> bool:
        """Whether matching needs the introducing commit (a join per finding)."""
        return bool(
            self.authors
            or self.unknown_origin
            or self.introduced_since is not None
            or self.introduced_before is not None
        )


GROUP_COLUMNS = {"rule": "f.code", "severity": "f.severity", "path": "f.path", "author": "c.author"}
_JOINS = (
    " LEFT JOIN history h ON h.fingerprint = f.fingerprint AND h.removed_sha IS NULL"
    " LEFT JOIN commits c ON c.sha = COALESCE(h.introduced_sha, h.boundary_sha)"
)


def _in(column: str, values: tuple[str, ...], params: list[object]) -> str:
    params.extend(values)
    return f"{column} IN ({','.join('?' * len(values))})"


def _where(scan_id: int, flt: FindingFilter) -> tuple[str, list[object]]:
    params: list[object] = [scan_id]
    clauses = ["f.scan_id = ?"]
    if flt.rules:
        clauses.append(_in("f.code", flt.rules, params))
    if flt.severities:
        clauses.append(_in("f.severity", flt.severities, params))
    if flt.path_contains:
        clauses.append("instr(f.path, ?) > 0")
        params.append(flt.path_contains)
    if flt.authors:
        clauses.append(_in("c.author", flt.authors, params))
    if flt.unknown_origin:
        clauses.append("c.sha IS NULL")
    if flt.introduced_since is not None:
        clauses.append("c.timestamp >= ?")
        params.append(flt.introduced_since)
    if flt.introduced_before is not None:
        clauses.append("c.timestamp < ?")
        params.append(flt.introduced_before)
    if flt.fixable is not None:
        clauses.append("f.fixable = ?")
        params.append(int(flt.fixable))
    return " WHERE " + " AND ".join(clauses), params


def count_findings(store: Store, scan_id: int, flt: FindingFilter) -> int:
    where, params = _where(scan_id, flt)
    joins = _JOINS if flt.needs_history else ""
    return int(store._query(f"SELECT COUNT(*) FROM findings f{joins}{where}", params)[0][0])


def filtered_findings(store: Store, scan_id: int, flt: FindingFilter, limit: int = 1000) -> list[FindingRow]:
    """The first ``limit`` findings matching ``flt`` in file order, with their origin."""
    where, params = _where(scan_id, flt)
    rows = store._query(
        _FINDINGS_SQL + where + " ORDER BY f.path, f.line, f.column, f.code LIMIT ?", [*params, limit]
    )
    return [_row(tuple(r)) for r in rows]


def group_counts(store: Store, scan_id: int, flt: FindingFilter, by: str) -> list[tuple[str | None, int]]:
    """Matching findings counted by ``by`` (one of ``GROUP_COLUMNS``), largest first."""
    column = GROUP_COLUMNS[by]
    where, params = _where(scan_id, flt)
    joins = _JOINS if flt.needs_history or by == "author" else ""
    rows = store._query(
        f"SELECT {column}, COUNT(*) FROM findings f{joins}{where} GROUP BY {column} ORDER BY 2 DESC, 1",
        params,
    )
    return [(r[0], int(r[1])) for r in rows]


def fixable_paths(store: Store, scan_id: int, flt: FindingFilter, code: str) -> list[str]:
    """Files with fixable findings of rule ``code`` among those matching ``flt``."""
    where, params = _where(scan_id, flt)
    joins = _JOINS if flt.needs_history else ""
    rows = store._query(
        f"SELECT DISTINCT f.path FROM findings f{joins}{where} AND f.code = ? AND f.fixable = 1 ORDER BY f.path",
        [*params, code],
    )
    return [r[0] for r in rows]


def known_authors(store: Store) -> list[str]:
    return [r[0] for r in store._query("SELECT DISTINCT author FROM commits ORDER BY author")]
