"""Recording runs in the store: fingerprints, group states and the summary a face prints.

One function per kind of run, each writing the run, its results, failures, coverage and
the resulting group states in one transaction: a crash half-way leaves the store as it was.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ems import __version__
from ems.store import testruns as db
from ems.store.db import Store, open_store
from ems.testing.grouping import (
    FIXED,
    NEW,
    ONGOING,
    REGRESSED,
    GroupStanding,
    exercised_by,
    fingerprint,
    next_states,
)
from ems.testing.model import OUTCOMES, WHEN_COLLECT, Failure, PytestReport

UNTRACKED_LIMIT = 1_000_000  # bytes: bigger untracked files count by name only


@dataclass(frozen=True)
class GitContext:
    commit_sha: str | None = None
    branch: str | None = None
    dirty: bool | None = None
    code_state: str | None = None  # commit + a hash of uncommitted changes: "the same code"


def git_context(root: Path) -> GitContext:
    """Commit, branch, dirty flag and code state of ``root`` (all None outside git)."""
    from ems.gitinfo.repo import GitError, git_bytes, repository, scan_context

    context = scan_context(root)
    if context.commit_sha is None:
        return GitContext()
    try:
        repo = repository(root)
        diff = git_bytes(repo, "diff", "HEAD", "--binary")
        untracked = git_bytes(repo, "ls-files", "--others", "--exclude-standard", "-z").split(b"\0")
    except GitError:
        return GitContext(context.commit_sha, context.branch, context.dirty, context.commit_sha)
    digest = hashlib.sha1(diff, usedforsecurity=False)
    extra = False
    for name in sorted(n for n in untracked if n and b"__pycache__" not in n and not n.endswith(b".pyc")):
        extra = True
        digest.update(b"\0" + name)
        path = Path(repo.working_tree_dir or root) / name.decode("utf-8", "surrogateescape")
        try:
            if path.stat().st_size <= UNTRACKED_LIMIT:
                digest.update(path.read_bytes())
        except OSError:
            pass
    state = (
        context.commit_sha if not diff and not extra else f"{context.commit_sha}:{digest.hexdigest()[:12]}"
    )
    return GitContext(context.commit_sha, context.branch, context.dirty, state)


@dataclass(frozen=True)
class GroupLine:
    """One group as a summary shows it."""

    fingerprint: str
    state: str
    exc_type: str
    message: str
    crash: str | None  # "path:line"
    members: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "state": self.state,
            "type": self.exc_type,
            "message": self.message,
            "crash": self.crash,
            "members": list(self.members),
        }


@dataclass(frozen=True)
class RunSummary:
    run_id: int
    kind: str
    status: str
    exit_code: int | None
    counts: dict[str, int] = field(default_factory=dict)
    groups: tuple[GroupLine, ...] = ()
    previous_run_id: int | None = None
    message: str | None = None
    coverage_percent: float | None = None

    def by_state(self, state: str) -> list[GroupLine]:
        return [g for g in self.groups if g.state == state]

    def one_line(self) -> str:
        counts = ", ".join(f"{n} {k}" for k, n in self.counts.items() if n)
        states = ", ".join(
            f"{len(self.by_state(s))} {label}"
            for s, label in (
                (NEW, "new"),
                (REGRESSED, "regressed"),
                (ONGOING, "still failing"),
                (FIXED, "fixed"),
            )
            if self.by_state(s)
        )
        if self.kind == "run":
            what = f"{self.counts.get('failed', 0)} exceptions captured"
        else:
            what = counts or "no tests"
        return f"run {self.run_id} recorded ({what}); failure groups: {states or 'none'}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.run_id,
            "kind": self.kind,
            "status": self.status,
            "exitCode": self.exit_code,
            "previousRun": self.previous_run_id,
            "counts": self.counts,
            "coveragePercent": self.coverage_percent,
            "message": self.message,
            "groups": [g.to_dict() for g in self.groups],
        }


def evaluate(conn: Any, run_id: int, exercised: Iterable[str]) -> dict[str, str]:
    """Compute and write the states of the groups this run says something about."""
    run = db.run_in(conn, run_id)
    assert run is not None
    failures = db.failures_in(conn, run_id)
    failing: dict[str, set[str]] = {}
    for f in failures:
        failing.setdefault(f.fingerprint, set()).add(f.nodeid)
    previous = {
        fp: GroupStanding(state, members) for fp, (state, members) in db.standings(conn, run.kind).items()
    }
    states = next_states(previous, failing, exercised)
    db.apply_states(conn, run, states, failures)
    return states


def summarise(store: Store, run_id: int) -> RunSummary:
    """The summary of a recorded run: counts and its groups with their states."""
    run = db.get_run(store, run_id)
    if run is None:
        raise ValueError(f"no run {run_id} in the store")
    states = db.run_states(store, run_id)
    lines: list[GroupLine] = []
    for fp, state in sorted(states.items(), key=lambda item: (item[1], item[0])):
        members = db.group_failures(store, fp, run_id) or db.group_failures(store, fp)
        group = db.group(store, fp)
        crash = None
        if group is not None and group.crash_path:
            crash = f"{group.crash_path}:{group.crash_line}"
        lines.append(
            GroupLine(
                fp,
                state,
                group.exc_type if group else "",
                group.message if group else "",
                crash,
                tuple(sorted({m.nodeid for m in members})),
            )
        )
    counts = {
        "passed": run.passed,
        "failed": run.failed,
        "error": run.errors,
        "skipped": run.skipped,
        "xfailed": run.xfailed,
        "xpassed": run.xpassed,
    }
    previous = db.previous_complete_run(store, run.kind, run_id)
    percent = None
    files = db.coverage(store, run_id)
    if files:
        statements = sum(f.statements for f in files)
        percent = round(100.0 * sum(f.covered for f in files) / statements, 1) if statements else 100.0
    return RunSummary(
        run_id,
        run.kind,
        run.status,
        run.exit_code,
        counts,
        tuple(lines),
        previous.id if previous else None,
        run.message,
        percent,
    )


def record_pytest_report(
    report: PytestReport,
    *,
    command: Sequence[str],
    coverage: Iterable[db.CoverageFile] = (),
    store_path: Path | None = None,
    context: GitContext | None = None,
) -> RunSummary:
    """Record a finished pytest session and evaluate its groups."""
    root = Path(report.root)
    context = context if context is not None else git_context(root)
    counts = dict.fromkeys(OUTCOMES, 0)
    for result in report.results:
        counts[result.outcome] = counts.get(result.outcome, 0) + 1
    collect_errors = any(f.when == WHEN_COLLECT for f in report.failures)
    status = db.INTERRUPTED if report.exit_status == 2 and not collect_errors else db.COMPLETE
    with open_store(root, store_path) as store:
        with store.transaction() as conn:
            run_id = db.create_run(conn, _new_run(db.KIND_TEST, root, command, context))
            db.add_results(
                conn, run_id, ((r.nodeid, r.outcome, r.duration_s, r.path, r.line) for r in report.results)
            )
            for failure in report.failures:
                db.add_failure(conn, run_id, fingerprint(failure, db.KIND_TEST), failure.to_dict())
            db.add_coverage(conn, run_id, [replace_run(c, run_id) for c in coverage])
            db.finish_run(
                conn,
                run_id,
                status=status,
                exit_code=report.exit_status,
                duration_s=round(report.finished_at - report.started_at, 3),
                counts=counts,
            )
            ran = [r.nodeid for r in report.results if r.outcome != "skipped"]
            evaluate(conn, run_id, exercised_by(ran))
        return summarise(store, run_id)


def record_not_started(
    root: Path,
    *,
    kind: str,
    command: Sequence[str],
    exit_code: int | None,
    message: str,
    store_path: Path | None = None,
    context: GitContext | None = None,
) -> RunSummary:
    """A run that never started: kept for the record, with no effect on any group."""
    context = context if context is not None else git_context(root)
    with open_store(root, store_path) as store:
        with store.transaction() as conn:
            run_id = db.create_run(conn, _new_run(kind, root, command, context))
            db.finish_run(
                conn, run_id, status=db.NOT_STARTED, exit_code=exit_code, duration_s=None, message=message
            )
        return summarise(store, run_id)


def start_program_run(
    root: Path, command: Sequence[str], *, store_path: Path | None = None, context: GitContext | None = None
) -> int:
    """Open a ``kind='run'`` row that captured exceptions attach to; returns its id."""
    context = context if context is not None else git_context(root)
    with open_store(root, store_path) as store, store.transaction() as conn:
        return db.create_run(conn, _new_run(db.KIND_RUN, root, command, context))


def add_captured(store: Store, run_id: int, failures: Iterable[Failure]) -> None:
    with store.transaction() as conn:
        for failure in failures:
            db.add_failure(conn, run_id, fingerprint(failure, db.KIND_RUN), failure.to_dict())


def finish_program_run(
    root: Path,
    run_id: int,
    *,
    exit_code: int | None,
    duration_s: float,
    store_path: Path | None = None,
    message: str | None = None,
) -> RunSummary:
    """Close a program run and evaluate its groups (the command is what it exercised)."""
    with open_store(root, store_path) as store:
        with store.transaction() as conn:
            run = db.run_in(conn, run_id)
            if run is None:
                raise ValueError(f"no run {run_id} in the store")
            failures = db.failures_in(conn, run_id)
            if message is not None:  # the program never ran: no group is evaluated
                db.finish_run(
                    conn, run_id, status=db.NOT_STARTED, exit_code=exit_code, duration_s=0.0, message=message
                )
                return summarise(store, run_id)
            db.finish_run(
                conn,
                run_id,
                status=db.COMPLETE,
                exit_code=exit_code,
                duration_s=duration_s,
                counts={"failed": len(failures)},
            )
            evaluate(conn, run_id, [command_key(run.command)])
        return summarise(store, run_id)


def command_key(command: Sequence[str]) -> str:
    """What identifies a program run across runs: its command line."""
    return " ".join(command)


def replace_run(item: db.CoverageFile, run_id: int) -> db.CoverageFile:
    from dataclasses import replace

    return replace(item, run_id=run_id)


def _new_run(kind: str, root: Path, command: Sequence[str], context: GitContext) -> db.NewRun:
    return db.NewRun(
        kind=kind,
        root=str(root),
        command=tuple(command),
        ems_version=__version__,
        commit_sha=context.commit_sha,
        branch=context.branch,
        dirty=context.dirty,
        code_state=context.code_state,
    )
