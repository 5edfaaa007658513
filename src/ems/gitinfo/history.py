"""Walk a repository's commits and say which commit introduced and removed each finding.

How the walk works, and why:

* One ``git log --raw -z -M --diff-merges=first-parent`` call lists every commit with the
  files it changed (blob SHAs, renames) against its first parent. Nothing is checked out:
  file contents are read from the object database by blob SHA, so the work tree (dirty
  or not) is never touched.
* The set of files at each commit is its first parent's set plus its changes; a parent
  outside the walked window (``--max-commits``, ``--since``) or beyond a shallow clone's
  boundary is read once with ``git ls-tree``.
* Only the blobs that matter are analysed: both sides of every change, the other parents'
  versions of files a merge changed, and the files at the tip. Each is looked up in the
  blob cache (``ems.gitinfo.analysis``) first, so a second run analyses nothing and a run
  after one new commit analyses only the blobs that commit added.

Identity of a finding across commits is its fingerprint (rule code, path, normalised
line, enclosing definition, occurrence), so edits elsewhere in the file and moving a
function do not make it "new". A rename changes the path, hence the fingerprint: when
git reports a rename, the old and new file's findings are paired by (rule code,
normalised line text) in order, and a paired finding keeps its history (its
``origin`` stays the fingerprint it was introduced with) instead of being reported as
removed and introduced again.

Merges: a finding that appears in a merge but was already in another parent came from
that branch, so it is credited to the branch commit that introduced it, not the merge.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import git

from ems.gitinfo.analysis import BlobAnalyser
from ems.gitinfo.repo import (
    BLOB_MODES,
    GitError,
    Head,
    git_bytes,
    head,
    repository,
    resolve,
    root_of,
    shallow_commits,
    tree_blobs,
)
from ems.runtime.discovery import PYTHON_SUFFIXES
from ems.store import BlobAnalysis, CachedFinding, CommitRow, HistoryEvent, Lifetime, Store

Progress = Callable[[str, int, int], None]
_NULL_SHA = "0" * 40
_FORMAT = "--format=%x1e%H%x1f%P%x1f%an%x1f%ae%x1f%at%x1f%s"


@dataclass(frozen=True)
class HistoryOptions:
    max_commits: int | None = None
    since: str | None = None
    branch: str | None = None
    first_parent: bool = False
    prefix: str = ""  # repo-relative folder or file restricting the walk ("" = everything)

    def as_dict(self) -> dict[str, object]:
        return {
            "max_commits": self.max_commits,
            "since": self.since,
            "branch": self.branch,
            "first_parent": self.first_parent,
            "prefix": self.prefix,
        }


@dataclass(frozen=True)
class Change:
    """One file changed by a commit: None on the side where it does not exist."""

    old_path: str | None
    old_blob: str | None
    new_path: str | None
    new_blob: str | None


@dataclass
class _Plan:
    commit: CommitRow
    changes: list[Change]
    other_parents: list[dict[str, str]]  # for merges: the other parents' blobs at changed paths
    shallow: bool = False


@dataclass
class CommitEvents:
    commit: CommitRow
    introduced: list[HistoryEvent] = field(default_factory=list)
    removed: list[HistoryEvent] = field(default_factory=list)
    shallow: bool = False


@dataclass
class PresentFinding:
    """A finding at the tip of the walk, with the lifetime that explains it."""

    path: str
    finding: CachedFinding
    lifetime: Lifetime


@dataclass
class HistoryResult:
    root: Path
    head: Head
    tip: str
    commits: list[CommitEvents]
    lifetimes: list[Lifetime]
    present: list[PresentFinding]
    tip_files: dict[str, BlobAnalysis]
    commit_rows: dict[str, CommitRow]
    analysed: int
    cached: int
    seconds: float
    warnings: list[str] = field(default_factory=list)
    boundary: str | None = None


def _is_python(path: str, prefix: str) -> bool:
    if not path.endswith(PYTHON_SUFFIXES):
        return False
    return not prefix or path == prefix or path.startswith(prefix.rstrip("/") + "/")


def parse_log(out: bytes, prefix: str = "") -> list[tuple[CommitRow, list[Change]]]:
    """Commits and their Python file changes from ``git log --raw -z`` output."""
    result: list[tuple[CommitRow, list[Change]]] = []
    for record in out.split(b"\x1e"):
        if not record.strip():
            continue
        header, _, rest = record.partition(b"\0")
        sha, parents, author, email, stamp, summary = header.decode("utf-8", "replace").split("\x1f", 5)
        row = CommitRow(sha, tuple(parents.split()), author, email, int(stamp or 0), summary)
        changes: list[Change] = []
        tokens = rest.split(b"\0")
        i = 0
        while i < len(tokens):
            token = tokens[i].lstrip(b"\n")
            i += 1
            if not token.startswith(b":"):
                continue
            old_mode, new_mode, old_sha, new_sha, status = token[1:].split()
            letter = status[:1]
            old_name = tokens[i].decode("utf-8", "surrogateescape")
            i += 1
            new_name = old_name
            if letter in (b"R", b"C"):
                new_name = tokens[i].decode("utf-8", "surrogateescape")
                i += 1
            old_ok = old_mode in BLOB_MODES and old_sha.decode() != _NULL_SHA and letter != b"C"
            new_ok = new_mode in BLOB_MODES and new_sha.decode() != _NULL_SHA
            old_ok = old_ok and _is_python(old_name, prefix)
            new_ok = new_ok and _is_python(new_name, prefix)
            if not (old_ok or new_ok):
                continue
            changes.append(
                Change(
                    old_name if old_ok else None,
                    old_sha.decode() if old_ok else None,
                    new_name if new_ok else None,
                    new_sha.decode() if new_ok else None,
                )
            )
        result.append((row, changes))
    return result


def log_commits(repo: git.Repo, tip: str, options: HistoryOptions) -> list[tuple[CommitRow, list[Change]]]:
    """Oldest first: the commits to walk and their changes (one git process)."""
    args = [
        "log",
        "--reverse",
        "--topo-order",
        "--raw",
        "-z",
        "--no-abbrev",
        "-M",
        "--diff-merges=first-parent",
        "--root",
        "--no-color",
        "--no-ext-diff",
        _FORMAT,
    ]
    if options.first_parent:
        args.append("--first-parent")
    if options.max_commits:
        args.append(f"--max-count={options.max_commits}")
    if options.since:
        args.append(f"--since={options.since}")
    args += [tip, "--"]
    return parse_log(git_bytes(repo, *args), options.prefix)


class _Lives:
    """Lifetimes being built while the commits are replayed in order."""

    def __init__(self, boundary: Callable[[], str | None]) -> None:
        self.alias: dict[str, str] = {}  # fingerprint -> origin fingerprint
        self.open: dict[str, Lifetime] = {}
        self.closed: dict[str, list[Lifetime]] = defaultdict(list)
        self.removed_seen: set[str] = set()
        self.boundary = boundary
        self.seq = 0

    def origin(self, fp: str) -> str:
        return self.alias.get(fp, fp)

    def _next(self) -> int:
        self.seq += 1
        return self.seq

    def introduce(self, fp: str, path: str, f: CachedFinding, sha: str) -> None:
        origin = self.origin(fp)
        if origin not in self.open:
            self.open[origin] = Lifetime(
                fp, origin, f.code, path, f.line, f.message, sha, None, None, self._next()
            )

    def remove(self, fp: str, path: str, f: CachedFinding, sha: str) -> None:
        origin = self.origin(fp)
        self.removed_seen.add(fp)
        life = self.open.pop(origin, None)
        if life is None:
            if self.closed.get(origin):
                return  # already gone on another branch
            life = Lifetime(
                fp, origin, f.code, path, f.line, f.message, None, self.boundary(), None, self._next()
            )
        self.closed[origin].append(_with(life, fingerprint=fp, path=path, line=f.line, removed_sha=sha))

    def rename(self, old_fp: str, new_fp: str, path: str, f: CachedFinding) -> None:
        origin = self.origin(old_fp)
        self.alias[new_fp] = origin
        life = self.open.get(origin)
        if life is not None:
            self.open[origin] = _with(life, fingerprint=new_fp, path=path, line=f.line)

    def present(self, fp: str, path: str, f: CachedFinding) -> Lifetime:
        """Reconcile with the tip: whatever is there now has an open lifetime."""
        origin = self.origin(fp)
        life = self.open.get(origin)
        if life is None:
            closed = self.closed.get(origin)
            if closed:  # removed on one branch, kept on another: it is still here
                life = _with(closed.pop(), removed_sha=None)
            else:
                life = Lifetime(
                    fp, origin, f.code, path, f.line, f.message, None, self.boundary(), None, self._next()
                )
        life = _with(life, fingerprint=fp, path=path, line=f.line, message=f.message)
        self.open[origin] = life
        return life

    def all(self, present: set[str]) -> list[Lifetime]:
        lives = [life for lives in self.closed.values() for life in lives]
        lives += [life for origin, life in self.open.items() if origin in present]
        return sorted(lives, key=lambda x: x.seq)


def _with(life: Lifetime, **changes: object) -> Lifetime:
    from dataclasses import replace

    return replace(life, **changes)  # type: ignore[arg-type]


def _pair_renamed(
    old: tuple[CachedFinding, ...], new: tuple[CachedFinding, ...]
) -> tuple[list[tuple[CachedFinding, CachedFinding]], list[CachedFinding], list[CachedFinding]]:
    """Match a renamed file's findings by (code, line text), in order of appearance."""
    queues: dict[tuple[str, str], list[CachedFinding]] = defaultdict(list)
    for f in old:
        queues[(f.code, f.text)].append(f)
    pairs, added = [], []
    for f in new:
        queue = queues.get((f.code, f.text))
        if queue:
            pairs.append((queue.pop(0), f))
        else:
            added.append(f)
    removed = [f for queue in queues.values() for f in queue]
    return pairs, removed, added


def walk_history(
    path: Path,
    store: Store,
    options: HistoryOptions | None = None,
    *,
    jobs: int | None = None,
    progress: Progress | None = None,
    analyser: BlobAnalyser | None = None,
) -> HistoryResult:
    """Replay the commits reachable from the branch (or HEAD) and record the history."""
    started = time.perf_counter()
    options = options or HistoryOptions()
    repo = repository(path)
    root = root_of(repo)
    current = head(repo)
    warnings: list[str] = []
    if options.branch is None and current.detached:
        warnings.append(
            f"HEAD is detached at {current.sha[:10]}: walking the history of that commit "
            "(pass --branch NAME to walk a branch instead)"
        )
    tip = resolve(repo, options.branch or "HEAD")
    shallow = shallow_commits(repo)
    logged = log_commits(repo, tip, options)
    if not logged:
        raise GitError(
            f"no commits of {options.branch or 'HEAD'} match the options given (--since/--max-commits)"
        )
    walked = {row.sha for row, _ in logged}
    if shallow & walked:
        warnings.append(
            f"this is a shallow clone: history stops at {len(shallow & walked)} commit(s) whose parents were "
            "not fetched; findings already there are reported as introduced at or before them. "
            "Run `git fetch --unshallow` for exact answers."
        )

    # Pass 1: the files at each commit, and which (path, blob) pairs need findings.
    prefix = options.prefix
    outside: dict[str, dict[str, str]] = {}
    boundary: list[str] = []

    def outside_state(sha: str) -> dict[str, str]:
        if sha not in outside:
            outside[sha] = {p: b for p, b in tree_blobs(repo, sha).items() if _is_python(p, prefix)}
            if not boundary:
                boundary.append(sha)
        return outside[sha]

    children_left: Counter[str] = Counter()
    for row, _ in logged:
        for parent in row.parents[: 1 if options.first_parent else None]:
            if parent in walked:
                children_left[parent] += 1
    states: dict[str, dict[str, str]] = {}
    plans: list[_Plan] = []
    needed: set[tuple[str, str]] = set()
    for row, changes in logged:
        parents = row.parents[: 1 if options.first_parent else None]
        is_shallow = row.sha in shallow
        if not parents or is_shallow:  # a shallow commit's parents are not in the clone
            base: dict[str, str] = {}
        elif parents[0] in states:
            base = states[parents[0]]
        else:
            base = outside_state(parents[0])
        state = dict(base)
        for change in changes:
            if change.old_path is not None:
                state.pop(change.old_path, None)
        for change in changes:
            if change.new_path is not None and change.new_blob is not None:
                state[change.new_path] = change.new_blob
        others: list[dict[str, str]] = []
        if not is_shallow:
            for change in changes:
                needed.update(
                    (p, b)
                    for p, b in ((change.old_path, change.old_blob), (change.new_path, change.new_blob))
                    if p is not None and b is not None
                )
            for parent in parents[1:]:
                other = states[parent] if parent in states else outside_state(parent)
                touched = {c.new_path: other[c.new_path] for c in changes if c.new_path in other}
                needed.update(touched.items())
                others.append(touched)
        elif not boundary:
            boundary.append(row.sha)
        plans.append(_Plan(row, changes, others, is_shallow))
        states[row.sha] = state
        for parent in parents:
            if parent in children_left:
                children_left[parent] -= 1
                if children_left[parent] <= 0 and parent != tip:
                    states.pop(parent, None)
    tip_state = states[tip]
    needed.update(tip_state.items())

    # Analyse what no cache has.
    analyser = analyser or BlobAnalyser(repo, store, root, jobs=jobs)
    report = (lambda done, total: progress("analysing", done, total)) if progress else None
    findings = analyser.get(sorted(needed), report)

    # Pass 2: replay the changes to get events and lifetimes.
    lives = _Lives(lambda: boundary[0] if boundary else None)
    results: list[CommitEvents] = []
    for index, plan in enumerate(plans, 1):
        events = CommitEvents(plan.commit, shallow=plan.shallow)
        results.append(events)
        if progress:
            progress("replaying", index, len(plans))
        if plan.shallow:
            continue
        sha = plan.commit.sha

        def emit(
            kind: str, path: str, f: CachedFinding, sha: str = sha, events: CommitEvents = events
        ) -> None:
            event = HistoryEvent(sha, kind, f.fingerprint, f.code, path, f.line, f.message)
            if kind == "introduced":
                events.introduced.append(event)
                lives.introduce(f.fingerprint, path, f, sha)
            else:
                events.removed.append(event)
                lives.remove(f.fingerprint, path, f, sha)

        for change in plan.changes:
            old = (
                findings[(change.old_path, change.old_blob)].findings
                if change.old_path and change.old_blob
                else ()
            )
            new = (
                findings[(change.new_path, change.new_blob)].findings
                if change.new_path and change.new_blob
                else ()
            )
            if change.old_path and change.new_path and change.old_path != change.new_path:
                pairs, gone, added = _pair_renamed(old, new)
                for before, after in pairs:
                    lives.rename(before.fingerprint, after.fingerprint, change.new_path, after)
            else:
                old_fps = {f.fingerprint for f in old}
                new_fps = {f.fingerprint for f in new}
                added = [f for f in new if f.fingerprint not in old_fps]
                gone = [f for f in old if f.fingerprint not in new_fps]
            via_merge: set[str] = set()
            missing_elsewhere = False
            if plan.other_parents and change.new_path:
                for other in plan.other_parents:
                    blob = other.get(change.new_path)
                    fps = (
                        {f.fingerprint for f in findings[(change.new_path, blob)].findings} if blob else set()
                    )
                    via_merge |= fps
                    missing_elsewhere = missing_elsewhere or bool({f.fingerprint for f in gone} - fps)
            for f in added:
                if f.fingerprint not in via_merge:
                    emit("introduced", change.new_path or "", f)
            for f in gone:
                if plan.other_parents and missing_elsewhere and f.fingerprint in lives.removed_seen:
                    continue  # the branch already removed it; the merge only carried that over
                emit("removed", change.old_path or "", f)

    present: list[PresentFinding] = []
    for file_path in sorted(tip_state):
        analysis = findings[(file_path, tip_state[file_path])]
        for f in analysis.findings:
            present.append(PresentFinding(file_path, f, lives.present(f.fingerprint, file_path, f)))
    lifetimes = lives.all({lives.origin(p.finding.fingerprint) for p in present})

    commit_rows = {plan.commit.sha: plan.commit for plan in plans}
    for sha in boundary:
        if sha not in commit_rows:
            c = repo.commit(sha)
            commit_rows[sha] = CommitRow(
                sha,
                tuple(p.hexsha for p in c.parents),
                c.author.name or "",
                c.author.email or "",
                int(c.authored_date),
                c.summary if isinstance(c.summary, str) else c.summary.decode(),
            )
    seconds = time.perf_counter() - started
    store.replace_history(
        root=str(root),
        head_sha=tip,
        branch=options.branch or current.branch,
        options=options.as_dict(),
        ruleset_hash=analyser.ruleset_hash(),
        commits=list(commit_rows.values()),
        walk=[c.commit.sha for c in results],
        events=[e for c in results for e in (*c.introduced, *c.removed)],
        lifetimes=lifetimes,
        analysed=analyser.analysed,
        duration_s=seconds,
        prefix=options.prefix,
    )
    return HistoryResult(
        root=root,
        head=current,
        tip=tip,
        commits=results,
        lifetimes=lifetimes,
        present=present,
        tip_files={p: findings[(p, b)] for p, b in tip_state.items()},
        commit_rows=commit_rows,
        analysed=analyser.analysed,
        cached=analyser.cached,
        seconds=seconds,
        warnings=warnings,
        boundary=boundary[0] if boundary else None,
    )


@dataclass(frozen=True)
class Introduction:
    """When a finding first appeared; ``exact`` is False for "at or before" (window/shallow)."""

    commit: str
    author: str
    email: str
    date: str
    exact: bool

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def introductions(store: Store, fingerprints: list[str]) -> dict[str, Introduction]:
    """The introducing commit of each fingerprint that the recorded history knows."""
    lives = store.lifetimes(fingerprints)
    chosen: dict[str, Lifetime] = {}
    for life in lives:  # ordered by seq: a later (open) lifetime wins
        if life.removed_sha is None or life.fingerprint not in chosen:
            chosen[life.fingerprint] = life
    commits = store.commits(
        sha for life in chosen.values() for sha in (life.introduced_sha, life.boundary_sha) if sha
    )
    result: dict[str, Introduction] = {}
    for fp, life in chosen.items():
        sha = life.introduced_sha or life.boundary_sha
        row = commits.get(sha or "")
        if row is None:
            continue
        result[fp] = Introduction(row.sha, row.author, row.email, row.date, life.introduced_sha is not None)
    return result
