"""``ems fix --commit [--branch NAME]``: refuse dirty targets up front, commit the fixes at the end."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from ems.gitinfo.scans import ServiceError


def prepare_fix_commit(
    root: Path,
    *,
    commit: bool,
    branch: str | None,
    files: Sequence[Path],
    would_change: Callable[[Path], bool],
) -> FixCommit | None:
    """Validate ``branch`` and refuse dirty targets before anything is written (ServiceError)."""
    if not commit:
        if branch:
            raise ServiceError("--branch only makes sense with --commit")
        return None
    committer = FixCommit(root, branch)
    committer.refuse_dirty(files, would_change)
    return committer


def finish_fix_commit(committer: FixCommit | None) -> tuple[str | None, str | None]:
    """Commit what was fixed: (line for the user, error line); ``committer.error`` is set on failure."""
    if committer is None:
        return None, None
    try:
        sha = committer.commit()
    except ServiceError as exc:
        committer.error = str(exc)
        return None, f"ems: error: {exc}"
    if sha is None:
        return "Nothing fixed, nothing committed.", None
    where = f" on new branch {committer.branch}" if committer.branch else ""
    return f"Committed {len(committer.touched)} file(s) as {sha[:10]}{where}.", None


class FixCommit:
    """Guards and performs ``ems fix --commit``: refuse up front, commit at the end."""

    def __init__(self, root: Path, branch: str | None) -> None:
        from ems.gitinfo.repo import GitError, git_bytes, head, repository, root_of

        try:
            self.repo = repository(root)
            self.root = root_of(self.repo)
            head(self.repo)
            if branch is not None:
                git_bytes(self.repo, "check-ref-format", "--branch", branch)
                if self.repo.git.branch("--list", branch).strip():
                    raise ServiceError(
                        f"--branch: a branch named {branch!r} already exists; choose another name"
                    )
        except GitError as exc:
            raise ServiceError(f"--commit: {exc}") from None
        self.branch = branch
        self.touched: list[tuple[str, tuple[tuple[str, str], ...]]] = []
        self.error: str | None = None

    def rel(self, path: Path) -> str:
        return path.resolve().relative_to(self.root).as_posix()

    def refuse_dirty(self, candidates: Sequence[Path], would_change: Callable[[Path], bool]) -> None:
        """Raise ServiceError if a file the fix would write has uncommitted changes."""
        from ems.gitinfo.repo import dirty_paths

        inside = {}
        for path in candidates:
            try:
                inside[self.rel(path)] = path
            except ValueError:
                raise ServiceError(f"--commit: {path} is outside the git repository {self.root}") from None
        dirty = dirty_paths(self.repo, sorted(inside)) if inside else {}
        blocked = sorted(rel for rel in dirty if rel in inside and would_change(inside[rel]))
        if blocked:
            listing = "\n".join(
                f"  {rel} ({'untracked' if dirty[rel] == '??' else 'modified'})" for rel in blocked
            )
            raise ServiceError(
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
            raise ServiceError(f"--commit: the fixes were written but not committed: {exc}") from None
