"""``history_figures``: the one place that turns a walk's per-commit counts into the
figures ``ems history``'s report and the dashboard's History page show."""

from __future__ import annotations

from ems.gitinfo.figures import AuthorFigures, CommitFigures, history_figures
from ems.store.queries import WalkedCommit


def test_open_findings_run_on_from_those_before_the_walk_and_authors_are_totalled() -> None:
    walk = [
        WalkedCommit("a1", 100, "Ann", "start", 3, 0),
        WalkedCommit("b1", 200, "Bob", "tidy", 1, 2),
        WalkedCommit("a2", 300, "Ann", "more", 0, 1),
        WalkedCommit("c1", 400, "Cid", "docs", 0, 0),
    ]
    figures = history_figures(walk, open_before=5)
    assert figures.commits == (
        CommitFigures("a1", 100, "Ann", "start", 3, 0, 8),
        CommitFigures("b1", 200, "Bob", "tidy", 1, 2, 7),
        CommitFigures("a2", 300, "Ann", "more", 0, 1, 6),
        CommitFigures("c1", 400, "Cid", "docs", 0, 0, 6),
    )
    # most introductions first, ties by name
    assert figures.authors == (
        AuthorFigures("Ann", 2, 3, 1),
        AuthorFigures("Bob", 1, 1, 2),
        AuthorFigures("Cid", 1, 0, 0),
    )


def test_the_walk_order_is_kept_not_re_sorted_by_time() -> None:
    """A merged branch's older commit comes after the merge base's newer one in a walk:
    the running count follows the walk, as the report's commits do."""
    walk = [WalkedCommit("new", 900, "Ann", "x", 2, 0), WalkedCommit("old", 100, "Bob", "y", 0, 1)]
    assert [(c.sha, c.open) for c in history_figures(walk, 0).commits] == [("new", 2), ("old", 1)]


def test_no_walk_no_figures() -> None:
    figures = history_figures([], open_before=0)
    assert figures.commits == () and figures.authors == ()
