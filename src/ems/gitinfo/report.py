"""The history report as data: what ``ems history`` prints and the dashboard shows.

``build_history`` walks the history (``ems.gitinfo.history``) and assembles one
``HistoryReport``: the findings at the tip with the commit that introduced each (and git
blame if asked), the findings removed and by whom, every walked commit with the findings
it introduced and removed, churn and hotspots. Faces only render it; ``as_dict`` is the
JSON form (``ems history --format json``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ems.gitinfo.churn import HOTSPOT_FORMULA, FileChurn, Hotspot
from ems.gitinfo.history import HistoryOptions, HistoryResult, Introduction, Progress
from ems.store import CommitRow, HistoryEvent, Lifetime, Store

if TYPE_CHECKING:
    from ems.gitinfo.figures import HistoryFigures
    from ems.runtime.events import EventBus


@dataclass(frozen=True)
class Author:
    """A commit and who made it."""

    commit: str
    author: str
    email: str
    date: str  # ISO 8601, UTC

    @classmethod
    def of(cls, row: CommitRow) -> Author:
        return cls(row.sha, row.author, row.email, row.date)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Blame:
    """``git blame`` of a current finding's line."""

    commit: str
    author: str
    email: str
    date: str
    summary: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class CommitReport:
    """One walked commit, its author, and the findings it introduced and removed."""

    sha: str
    parents: tuple[str, ...]
    author: str
    email: str
    timestamp: int  # unix time of ``date``
    date: str
    summary: str
    shallow: bool  # a shallow clone's boundary: its parents were not fetched
    introduced: tuple[HistoryEvent, ...]
    removed: tuple[HistoryEvent, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "sha": self.sha,
            "parents": list(self.parents),
            "author": self.author,
            "email": self.email,
            "date": self.date,
            "summary": self.summary,
            "shallow": self.shallow,
            "introduced": [_event(e) for e in self.introduced],
            "removed": [_event(e) for e in self.removed],
        }


@dataclass(frozen=True)
class CurrentFinding:
    """A finding at the tip; ``column`` is 1-based (as shown)."""

    path: str
    line: int
    column: int
    code: str
    message: str
    severity: str
    fingerprint: str
    introduced: Introduction | None
    blame: Blame | None = None

    def as_dict(self, with_blame: bool) -> dict[str, object]:
        item: dict[str, object] = {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "code": self.code,
            "message": self.message,
            "severity": self.severity,
            "fingerprint": self.fingerprint,
            "introduced": self.introduced.as_dict() if self.introduced else None,
        }
        if with_blame:
            item["blame"] = self.blame.as_dict() if self.blame else None
        return item


@dataclass(frozen=True)
class RemovedFinding:
    """A finding that was introduced and later removed, within the walked history."""

    fingerprint: str
    code: str
    path: str
    line: int
    message: str
    introduced: Author | None
    removed: Author | None

    def as_dict(self) -> dict[str, object]:
        return {
            "fingerprint": self.fingerprint,
            "code": self.code,
            "path": self.path,
            "line": self.line,
            "message": self.message,
            "introduced": self.introduced.as_dict() if self.introduced else None,
            "removed": self.removed.as_dict() if self.removed else None,
        }


@dataclass(frozen=True)
class HistoryStats:
    commits: int
    analysed_blobs: int
    cached_blobs: int
    seconds: float

    def as_dict(self) -> dict[str, object]:
        return {
            "commits": self.commits,
            "analysed_blobs": self.analysed_blobs,
            "cached_blobs": self.cached_blobs,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class HistoryReport:
    repository: str
    branch: str | None
    head: str
    tip: str
    boundary: Author | None  # the oldest commit walked, when the window cut the history
    warnings: tuple[str, ...]
    stats: HistoryStats
    commits: tuple[CommitReport, ...]  # oldest first
    findings: tuple[CurrentFinding, ...]
    removed: tuple[RemovedFinding, ...]
    lifetimes: tuple[Lifetime, ...]  # every span of every finding's life in the window
    churn: dict[str, FileChurn]
    hotspots: tuple[Hotspot, ...]  # every file at the tip, highest score first
    with_blame: bool = False
    hotspot_formula: str = HOTSPOT_FORMULA

    def figures(self) -> HistoryFigures:
        """Introductions and removals per commit and per author, counted as the dashboard
        counts the recorded walk (``ems.gitinfo.figures``)."""
        from ems.gitinfo.figures import history_figures
        from ems.store.queries import WalkedCommit

        return history_figures(
            (
                WalkedCommit(c.sha, c.timestamp, c.author, c.summary, len(c.introduced), len(c.removed))
                for c in self.commits
            ),
            open_before=sum(1 for life in self.lifetimes if life.introduced_sha is None),
        )

    def as_dict(self) -> dict[str, object]:
        """The JSON form of ``ems history --format json``."""
        return {
            "repository": self.repository,
            "branch": self.branch,
            "head": self.head,
            "tip": self.tip,
            "boundary": self.boundary.as_dict() if self.boundary else None,
            "warnings": list(self.warnings),
            "stats": self.stats.as_dict(),
            "commits": [c.as_dict() for c in self.commits],
            "findings": [f.as_dict(self.with_blame) for f in self.findings],
            "removed": [r.as_dict() for r in self.removed],
            "hotspots": {
                "formula": self.hotspot_formula,
                "files": [h.as_dict() for h in self.hotspots if h.score > 0],
            },
        }


def _event(e: HistoryEvent) -> dict[str, object]:
    return {
        "fingerprint": e.fingerprint,
        "code": e.code,
        "path": e.path,
        "line": e.line,
        "message": e.message,
    }


def _date(stamp: int) -> str:
    return datetime.fromtimestamp(stamp, UTC).isoformat(timespec="seconds")


def build_history(
    root: Path,
    store: Store,
    options: HistoryOptions | None = None,
    *,
    jobs: int | None = None,
    progress: Progress | None = None,
    with_blame: bool = False,
    bus: EventBus | None = None,
) -> HistoryReport:
    """Walk the history of the repository at ``root``, record it in ``store``, and report.

    Raises ``GitError`` (``EmptyRepositoryError`` for a repository without commits) and
    ``StoreError``. Publishes ``HistoryBuilt`` on ``bus``.
    """
    from ems.gitinfo.history import walk_history

    result = walk_history(root, store, options, jobs=jobs, progress=progress)
    report = history_report(result, store, with_blame=with_blame)
    if bus is not None:
        from ems.runtime.events import HistoryBuilt

        bus.publish(
            HistoryBuilt(
                report.repository, report.tip, len(report.commits), len(report.findings), result.seconds
            )
        )
    return report


def history_report(result: HistoryResult, store: Store, *, with_blame: bool = False) -> HistoryReport:
    """Assemble the report of a walk (``walk_history``'s result, recorded in ``store``)."""
    from ems.gitinfo.blame import blame
    from ems.gitinfo.churn import churn, hotspots
    from ems.gitinfo.history import introductions
    from ems.gitinfo.repo import repository

    repo = repository(result.root)
    run = store.history_run()
    opts = run.options if run else {}
    intro = introductions(store, [p.finding.fingerprint for p in result.present])
    rows = result.commit_rows

    def who(sha: str | None) -> Author | None:
        row = rows.get(sha or "")
        return Author.of(row) if row is not None else None

    blames: dict[tuple[str, int], Blame] = {}
    if with_blame:
        lines_by_path: dict[str, set[int]] = {}
        for p in result.present:
            lines_by_path.setdefault(p.path, set()).add(p.finding.line)
        for path, lines in lines_by_path.items():
            for line, b in blame(
                repo, store, result.tip, path, result.tip_files[path].blob_sha, lines
            ).items():
                blames[(path, line)] = Blame(b.commit_sha, b.author, b.email, _date(b.timestamp), b.summary)
    findings = tuple(
        CurrentFinding(
            p.path,
            p.finding.line,
            p.finding.column + 1,
            p.finding.code,
            p.finding.message,
            p.finding.severity,
            p.finding.fingerprint,
            intro.get(p.finding.fingerprint),
            blames.get((p.path, p.finding.line)),
        )
        for p in result.present
    )
    since = opts.get("since")
    max_commits = opts.get("max_commits")
    churns = churn(
        repo,
        result.tip,
        max_commits=max_commits if isinstance(max_commits, int) else None,
        since=since if isinstance(since, str) else None,
        first_parent=bool(opts.get("first_parent")),
    )
    spots = hotspots(churns, {path: (len(a.findings), a.lines) for path, a in result.tip_files.items()})
    return HistoryReport(
        repository=str(result.root),
        branch=result.head.branch,
        head=result.head.sha,
        tip=result.tip,
        boundary=who(result.boundary),
        warnings=tuple(result.warnings),
        stats=HistoryStats(len(result.commits), result.analysed, result.cached, result.seconds),
        commits=tuple(
            CommitReport(
                c.commit.sha,
                tuple(c.commit.parents),
                c.commit.author,
                c.commit.email,
                c.commit.timestamp,
                c.commit.date,
                c.commit.summary,
                c.shallow,
                tuple(c.introduced),
                tuple(c.removed),
            )
            for c in result.commits
        ),
        findings=findings,
        removed=tuple(
            RemovedFinding(
                life.fingerprint,
                life.code,
                life.path,
                life.line,
                life.message,
                who(life.introduced_sha),
                who(life.removed_sha),
            )
            for life in result.lifetimes
            if life.removed_sha
        ),
        lifetimes=tuple(result.lifetimes),
        churn=churns,
        hotspots=tuple(spots),
        with_blame=with_blame,
    )
