"""Change counts per file and a hotspot score, from a single ``git log --numstat`` call.

Hotspot score (shown wherever the score appears, as ``HOTSPOT_FORMULA``)::

    hotspot = recent_changes × findings_per_100_lines
    recent_changes = Σ over commits touching the file of 0.5 ** (age_days / 30)

``age_days`` is counted back from the newest commit walked, not from today, so an old
repository still has "recent" changes and the score is reproducible. A file changed
often lately *and* dense in findings is where errors are being made now; a file with
no findings, or untouched for months, scores (close to) zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import git

from ems.gitinfo.repo import git_bytes
from ems.runtime.discovery import PYTHON_SUFFIXES

HALF_LIFE_DAYS = 30.0
HOTSPOT_FORMULA = (
    "hotspot = recent_changes × findings_per_100_lines, "
    f"recent_changes = Σ 0.5^(age_days/{HALF_LIFE_DAYS:g}) over the commits touching the file "
    "(age counted from the newest commit walked)"
)


@dataclass
class FileChurn:
    path: str
    changes: int = 0
    added: int = 0
    deleted: int = 0
    recent: float = 0.0
    last_change: int = 0  # unix time


@dataclass(frozen=True)
class Hotspot:
    path: str
    score: float
    recent: float
    changes: int
    findings: int
    lines: int

    def as_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "score": round(self.score, 3),
            "recent_changes": round(self.recent, 3),
            "changes": self.changes,
            "findings": self.findings,
            "lines": self.lines,
        }


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def churn(
    repo: git.Repo,
    tip: str = "HEAD",
    *,
    max_commits: int | None = None,
    since: str | None = None,
    first_parent: bool = False,
) -> dict[str, FileChurn]:
    """Per Python file: commits touching it, lines added/deleted and decayed recent changes."""
    args = ["log", "--numstat", "-z", "-M", "--no-color", "--format=%x1e%at"]
    if max_commits:
        args.append(f"--max-count={max_commits}")
    if since:
        args.append(f"--since={since}")
    if first_parent:
        args.append("--first-parent")
    out = git_bytes(repo, *args, tip, "--")
    commits: list[tuple[int, list[tuple[str, int, int, str | None]]]] = []
    for record in out.split(b"\x1e"):
        if not record.strip():
            continue
        stamp, _, rest = record.partition(b"\0")
        files: list[tuple[str, int, int, str | None]] = []
        tokens = rest.split(b"\0")
        i = 0
        while i < len(tokens):
            token = tokens[i].lstrip(b"\n")
            i += 1
            if not token:
                continue
            fields = token.split(b"\t")
            if len(fields) != 3:
                continue
            added, deleted, name = fields
            old: str | None = None
            if not name:  # a rename: old and new path follow
                old = _decode(tokens[i]) if i < len(tokens) else None
                name = tokens[i + 1] if i + 1 < len(tokens) else b""
                i += 2
            a = int(added) if added.isdigit() else 0  # "-" for binary files
            d = int(deleted) if deleted.isdigit() else 0
            files.append((_decode(name), a, d, old))
        commits.append((int(stamp.strip() or 0), files))
    newest = max((when for when, _ in commits), default=0)
    result: dict[str, FileChurn] = {}
    current_name: dict[str, str] = {}  # renames followed: older name -> name at the tip
    for when, changed in commits:  # newest first
        weight = 0.5 ** (max(newest - when, 0) / 86400 / HALF_LIFE_DAYS)
        for raw_name, a, d, renamed_from in changed:
            path = current_name.get(raw_name, raw_name)
            if renamed_from is not None:
                current_name[renamed_from] = path
            if not path.endswith(PYTHON_SUFFIXES):
                continue
            entry = result.setdefault(path, FileChurn(path))
            entry.changes += 1
            entry.added += a
            entry.deleted += d
            entry.recent += weight
            entry.last_change = max(entry.last_change, when)
    return result


def hotspots(churns: dict[str, FileChurn], findings: dict[str, tuple[int, int]]) -> list[Hotspot]:
    """Rank files by ``HOTSPOT_FORMULA``; ``findings`` maps path -> (finding count, lines)."""
    result = []
    for path, (count, lines) in findings.items():
        entry = churns.get(path, FileChurn(path))
        density = 100.0 * count / max(lines, 1)
        result.append(Hotspot(path, entry.recent * density, entry.recent, entry.changes, count, lines))
    result.sort(key=lambda h: (-h.score, -h.changes, h.path))
    return result


def line_count(path: Path) -> int:
    try:
        data = path.read_bytes()
    except OSError:
        return 0
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def current_hotspots(root: Path, findings_per_path: dict[str, int]) -> list[Hotspot]:
    """Hotspots of the work tree now: churn from git, findings from the latest scan, lines
    from the files (only files with findings can score above zero, so only they are read).
    Outside a git repository every file's churn is zero."""
    from ems.gitinfo.repo import GitError, repository

    try:
        churns = churn(repository(root))
    except (GitError, git.GitCommandError):
        churns = {}
    counts = {path: (n, line_count(root / path)) for path, n in findings_per_path.items()}
    return hotspots(churns, counts)
