"""What ``ems check`` and ``ems fix`` need from the store and git, behind small calls.

Kept here so the lead's command modules only gain a few lines each:
``--record`` (store the scan), ``--new-since REF`` (only new findings), the
``introduced`` field of JSON findings, and ``fix --commit [--branch NAME]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported by command registration: keep `ems --version` light
    from ems.core.config import ConfigResolver
    from ems.core.model import Finding, Report
    from ems.core.project import FileResult
    from ems.store import Store


class HookError(Exception):
    """A refusal or failure to show as ``ems: error: ...`` (exit 2)."""


def add_check_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--record", action="store_true", help="record this scan in the project store (.ems/ems.db)"
    )
    parser.add_argument(
        "--new-since",
        metavar="REF",
        help="report only findings not present at git REF (branch, tag, commit), compared by fingerprint",
    )


def add_fix_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--commit",
        action="store_true",
        help="commit the fixed files (refused if they have uncommitted changes); message lists rules and files",
    )
    parser.add_argument("--branch", metavar="NAME", help="with --commit: commit on a new branch NAME")


def project_root(cwd: Path | None = None) -> Path:
    """The git work tree containing ``cwd``, else ``cwd``: where ``.ems/ems.db`` lives.

    Found by looking for ``.git`` upwards, without importing GitPython, so a plain
    ``ems check --format json`` outside history pays nothing for this.
    """
    cwd = (cwd or Path.cwd()).resolve()
    for folder in (cwd, *cwd.parents):
        if (folder / ".git").exists():
            return folder
    return cwd


# ------------------------------------------------------------------ ems check


def apply_check_options(
    args: argparse.Namespace, results: list[FileResult], resolver: ConfigResolver, started: float
) -> list[FileResult]:
    """``--record`` (all findings of the scan), then ``--new-since`` (raises HookError)."""
    if getattr(args, "record", False):
        record_scan(results, resolver.for_path(Path.cwd() / "__probe__.py").fingerprint(), started)
    if getattr(args, "new_since", None):
        results = filter_new_since(results, args.new_since)
    return results


def filter_new_since(results: Sequence[FileResult], ref: str) -> list[FileResult]:
    """``results`` with only the findings absent at ``ref`` (raises HookError)."""
    from ems.gitinfo.newcode import new_since
    from ems.gitinfo.repo import GitError
    from ems.store import StoreError, open_store

    findings = [f for r in results for f in r.report.findings]
    try:
        with open_store(project_root()) as store:
            kept = new_since(findings, ref, store)
    except (GitError, StoreError) as exc:
        raise HookError(f"--new-since: {exc}") from None
    keep = {id(f) for f in kept}
    return [
        replace(
            r,
            report=replace(r.report, findings=tuple(f for f in r.report.findings if id(f) in keep)),
            view=None,  # rendered for the unfiltered report
        )
        for r in results
    ]


def record_scan(results: Sequence[FileResult], config_hash: str, started: float) -> int:
    """Store the scan and its findings; returns the scan id (raises HookError).

    Counts the lines of the files (the health rating is per 1,000 lines): one read of
    each file, paid only with ``--record``."""
    from ems.gitinfo.churn import line_count

    duration = time.perf_counter() - started
    try:
        return record_reports(
            project_root(),
            [r.report for r in results],
            config_hash=config_hash,
            duration_s=duration,
            source="check",
            lines=sum(line_count(Path(r.report.path)) for r in results),
        )
    except HookError as exc:
        raise HookError(f"--record: {exc}") from None


def record_reports(
    root: Path,
    reports: Sequence[Report],
    *,
    config_hash: str,
    duration_s: float,
    source: str,
    lines: int | None = None,
) -> int:
    """Record analysed documents as one scan of ``root`` (for the CLI and the server).

    The commit, branch and dirty flag come from git when ``root`` is in a repository.
    """
    from ems import __version__
    from ems.gitinfo.repo import scan_context
    from ems.store import ScanRecord, StoreError, open_store

    context = scan_context(root)
    analysis = sum(r.timings.get("total", 0.0) for r in reports)
    record = ScanRecord(
        root=str(root),
        ems_version=__version__,
        config_hash=config_hash,
        files=len(reports),
        duration_s=duration_s,
        source=source,
        commit_sha=context.commit_sha,
        branch=context.branch,
        dirty=context.dirty,
        timings={"total": duration_s, "analysis": analysis},
        lines=lines,
    )
    try:
        with open_store(root) as store:
            return store.record_scan(record, (f for r in reports for f in r.findings))
    except StoreError as exc:
        raise HookError(str(exc)) from None


def introduced_enricher(results: Sequence[FileResult]) -> Callable[[Finding], dict[str, object]] | None:
    """Adds ``introduced`` (commit, author, date) to JSON findings once history was built."""
    from ems.store import StoreError, default_store_path, open_store

    root = project_root()
    if not default_store_path(root).is_file():
        return None
    try:
        with open_store(root) as store:
            if store.history_run() is None:
                return None
            return _enricher(results, root, store)
    except StoreError as exc:
        print(f"ems: warning: no `introduced` field: {exc}", file=sys.stderr)
        return None


def _enricher(
    results: Sequence[FileResult], root: Path, store: Store
) -> Callable[[Finding], dict[str, object]]:
    from ems.gitinfo.history import introductions

    repo_fp: dict[int, str] = {}
    cwd = Path.cwd().resolve()
    for result in results:
        findings = result.report.findings
        if not findings:
            continue
        absolute = (cwd / result.display).resolve()
        if not absolute.is_relative_to(root):
            continue  # outside the repository: history cannot know it
        rel = absolute.relative_to(root).as_posix()
        if rel == result.display:
            repo_fp.update((id(f), f.fingerprint) for f in findings)
            continue
        from ems.core.analyse import analyse
        from ems.core.project import read_source

        data = read_source(cwd / result.display)
        if isinstance(data, str):
            continue
        again = {(f.code, f.range): f.fingerprint for f in analyse(data, rel).findings}
        repo_fp.update((id(f), again.get((f.code, f.range), f.fingerprint)) for f in findings)
    known = introductions(store, list(set(repo_fp.values())))

    def enrich(finding: Finding) -> dict[str, object]:
        intro = known.get(repo_fp.get(id(finding), ""))
        if intro is None:
            return {"introduced": None}
        return {
            "introduced": {
                "commit": intro.commit,
                "author": intro.author,
                "date": intro.date,
                "exact": intro.exact,
            }
        }

    return enrich


# ------------------------------------------------------------------ ems fix --commit


def prepare_fix_commit(
    args: argparse.Namespace, files: Sequence[Path], would_change: Callable[[Path], bool]
) -> FixCommit | None:
    """Validate ``--commit``/``--branch`` and refuse dirty targets before anything is written."""
    if not getattr(args, "commit", False):
        if getattr(args, "branch", None):
            raise HookError("--branch only makes sense with --commit")
        return None
    if args.diff or args.dry_run:
        raise HookError("--commit cannot be combined with --diff or --dry-run")
    if args.paths == ["-"]:
        raise HookError("--commit needs files, not standard input")
    committer = FixCommit(args.branch)
    committer.refuse_dirty(files, would_change)
    return committer


def finish_fix_commit(committer: FixCommit | None) -> tuple[str | None, str | None]:
    """Commit what was fixed: (line for the user, error line); ``committer.error`` is set on failure."""
    if committer is None:
        return None, None
    try:
        sha = committer.commit()
    except HookError as exc:
        committer.error = str(exc)
        return None, f"ems: error: {exc}"
    if sha is None:
        return "Nothing fixed, nothing committed.", None
    where = f" on new branch {committer.branch}" if committer.branch else ""
    return f"Committed {len(committer.touched)} file(s) as {sha[:10]}{where}.", None


class FixCommit:
    """Guards and performs ``ems fix --commit``: refuse up front, commit at the end."""

    def __init__(self, branch: str | None) -> None:
        from ems.gitinfo.repo import GitError, git_bytes, head, repository, root_of

        try:
            self.repo = repository(Path.cwd())
            self.root = root_of(self.repo)
            head(self.repo)
            if branch is not None:
                git_bytes(self.repo, "check-ref-format", "--branch", branch)
                if self.repo.git.branch("--list", branch).strip():
                    raise HookError(
                        f"--branch: a branch named {branch!r} already exists; choose another name"
                    )
        except GitError as exc:
            raise HookError(f"--commit: {exc}") from None
        self.branch = branch
        self.touched: list[tuple[str, tuple[tuple[str, str], ...]]] = []
        self.error: str | None = None

    def rel(self, path: Path) -> str:
        return path.resolve().relative_to(self.root).as_posix()

    def refuse_dirty(self, candidates: Sequence[Path], would_change: Callable[[Path], bool]) -> None:
        """Raise HookError if a file the fix would write has uncommitted changes."""
        from ems.gitinfo.repo import dirty_paths

        inside = {}
        for path in candidates:
            try:
                inside[self.rel(path)] = path
            except ValueError:
                raise HookError(f"--commit: {path} is outside the git repository {self.root}") from None
        dirty = dirty_paths(self.repo, sorted(inside)) if inside else {}
        blocked = sorted(rel for rel in dirty if rel in inside and would_change(inside[rel]))
        if blocked:
            listing = "\n".join(
                f"  {rel} ({'untracked' if dirty[rel] == '??' else 'modified'})" for rel in blocked
            )
            raise HookError(
                "--commit: these files would be fixed but have uncommitted changes, so their fixes cannot be "
                f"committed on their own:\n{listing}\ncommit or stash those changes first (nothing was written)"
            )

    def add(self, path: Path, applied: tuple[tuple[str, str], ...]) -> None:
        self.touched.append((self.rel(path), applied))

    def message(self) -> str:
        counts = Counter(code for _, applied in self.touched for code, _ in applied)
        codes = sorted(counts)
        lines = [f"ems fix: {', '.join(codes)}", "", "Rules fixed:"]
        lines += [f"- {code}: {counts[code]} fix{'es' if counts[code] != 1 else ''}" for code in codes]
        lines += ["", "Files touched:"]
        lines += [f"- {rel}" for rel, _ in self.touched]
        return "\n".join(lines) + "\n"

    def commit(self) -> str | None:
        """Commit the touched files (on the new branch if asked); returns the new commit SHA."""
        from ems.gitinfo.repo import GitError, git_bytes

        if not self.touched:
            return None
        try:
            if self.branch:
                git_bytes(self.repo, "switch", "-q", "-c", self.branch)
            paths = [rel for rel, _ in self.touched]
            git_bytes(self.repo, "commit", "-q", "-m", self.message(), "--only", "--", *paths)
            return self.repo.head.commit.hexsha
        except GitError as exc:
            raise HookError(f"--commit: the fixes were written but not committed: {exc}") from None
