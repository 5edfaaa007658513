"""The history's figures: per walked commit and per author, findings introduced and removed.

One home for them, whichever face asks: ``HistoryReport.figures()`` (the walk ``ems
history`` just made) and ``recorded_figures`` (the walk recorded in the store, for the
dashboard's History and Overview pages) both count through ``history_figures``. The
counting per commit is the store's (``ems.store.queries.walked_commits``: SQL over the
events' index); what is made of the counts (findings open after each commit, the totals
per author) is done here, once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ems.store.db import Store
from ems.store.queries import WalkedCommit, open_before_walk, walked_commits


@dataclass(frozen=True)
class CommitFigures:
    """One walked commit: what it introduced and removed, and how many findings were open after it."""

    sha: str
    timestamp: int
    author: str
    summary: str
    introduced: int
    removed: int
    open: int


@dataclass(frozen=True)
class AuthorFigures:
    author: str
    commits: int
    introduced: int
    removed: int


@dataclass(frozen=True)
class HistoryFigures:
    commits: tuple[CommitFigures, ...]  # walk order, oldest first
    authors: tuple[AuthorFigures, ...]  # most introductions first, then by name


def history_figures(commits: Iterable[WalkedCommit], open_before: int) -> HistoryFigures:
    """The figures of a walk: ``commits`` in walk order with their counts, ``open_before``
    the findings already there before the first (their lives began outside the window)."""
    rows: list[CommitFigures] = []
    totals: dict[str, list[int]] = {}
    alive = open_before
    for c in commits:
        alive += c.introduced - c.removed
        rows.append(CommitFigures(c.sha, c.timestamp, c.author, c.summary, c.introduced, c.removed, alive))
        total = totals.setdefault(c.author, [0, 0, 0])
        total[0] += 1
        total[1] += c.introduced
        total[2] += c.removed
    authors = sorted(
        (AuthorFigures(name, *counts) for name, counts in totals.items()),
        key=lambda a: (-a.introduced, a.author),
    )
    return HistoryFigures(tuple(rows), tuple(authors))


def recorded_figures(store: Store) -> HistoryFigures:
    """The figures of the walk recorded in ``store`` (empty when none was)."""
    return history_figures(walked_commits(store), open_before_walk(store))
