"""One GitPython ``Repo`` per repository, closed when done.

GitPython starts persistent ``git cat-file`` processes per ``Repo``; creating Repo objects
freely leaks processes and file handles. Everything in ems asks ``repository(path)``,
which returns the one shared instance for that work tree; ``close_repositories()`` (also
run at exit) stops their processes.
"""

from __future__ import annotations

import atexit
import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

import git
from git.exc import GitCommandError, InvalidGitRepositoryError, NoSuchPathError

_LOCK = threading.Lock()
_REPOS: dict[Path, git.Repo] = {}
BLOB_MODES = (b"100644", b"100755")


class GitError(RuntimeError):
    """A git condition ems cannot work with; the message says what to do."""


class NotARepositoryError(GitError):
    pass


class EmptyRepositoryError(GitError):
    pass


def repository(path: Path) -> git.Repo:
    """The shared ``Repo`` for the work tree containing ``path``."""
    path = Path(path).resolve()
    probe = path if path.is_dir() else path.parent
    with _LOCK:
        for root, repo in _REPOS.items():
            if probe == root or root in probe.parents:
                return repo
        try:
            repo = git.Repo(probe, search_parent_directories=True)
        except (InvalidGitRepositoryError, NoSuchPathError):
            raise NotARepositoryError(
                f"{path} is not inside a git repository; ems history needs one "
                "(run `git init` and commit, or pass the path of a repository)"
            ) from None
        if repo.bare or repo.working_tree_dir is None:
            repo.close()
            raise NotARepositoryError(f"{path} is a bare git repository; ems needs a work tree")
        root = Path(repo.working_tree_dir).resolve()
        _REPOS[root] = repo
        return repo


def close_repositories() -> None:
    """Stop every shared Repo's git processes (idempotent)."""
    with _LOCK:
        repos = list(_REPOS.values())
        _REPOS.clear()
    for repo in repos:
        repo.close()


atexit.register(close_repositories)


def root_of(repo: git.Repo) -> Path:
    return Path(repo.working_tree_dir or ".").resolve()


@dataclass(frozen=True)
class Head:
    sha: str
    branch: str | None  # None when detached

    @property
    def detached(self) -> bool:
        return self.branch is None


def head(repo: git.Repo) -> Head:
    """HEAD's commit and branch; ``EmptyRepositoryError`` before the first commit."""
    if not repo.head.is_valid():
        raise EmptyRepositoryError(
            f"{root_of(repo)} is an empty git repository (no commits yet): "
            "commit something first, then run ems history"
        )
    sha = repo.head.commit.hexsha
    branch = None if repo.head.is_detached else repo.active_branch.name
    return Head(sha, branch)


def shallow_commits(repo: git.Repo) -> frozenset[str]:
    """Commits whose parents were not fetched (a ``git clone --depth`` clone)."""
    try:
        text = (Path(repo.git_dir) / "shallow").read_text()
    except OSError:
        return frozenset()
    return frozenset(line.strip() for line in text.split() if line.strip())


def resolve(repo: git.Repo, ref: str) -> str:
    """The commit SHA ``ref`` names (branch, tag, SHA, ``HEAD~2`` ...)."""
    try:
        return repo.git.rev_parse("--verify", "--quiet", f"{ref}^{{commit}}").strip()
    except GitCommandError:
        raise GitError(f"{ref!r} does not name a commit in {root_of(repo)}") from None


def git_bytes(repo: git.Repo, *args: str) -> bytes:
    """Run ``git ARGS`` in the repository and return raw stdout (paths stay exact)."""
    try:
        return repo.git.execute(["git", *args], stdout_as_string=False, strip_newline_in_stdout=False)
    except GitCommandError as exc:
        stderr = (exc.stderr or "").strip().removeprefix("stderr:").strip(" '\n")
        raise GitError(f"git {' '.join(args[:2])} failed: {stderr or exc}") from None


def tree_blobs(repo: git.Repo, rev: str) -> dict[str, str]:
    """Every regular file of ``rev``'s tree: repo-relative path -> blob SHA (one git call)."""
    out = git_bytes(repo, "ls-tree", "-r", "-z", "--full-tree", rev)
    files: dict[str, str] = {}
    for entry in out.split(b"\0"):
        if not entry:
            continue
        meta, _, name = entry.partition(b"\t")
        mode, kind, sha = meta.split()
        if kind == b"blob" and mode in BLOB_MODES:
            files[name.decode("utf-8", "surrogateescape")] = sha.decode()
    return files


def read_blob(repo: git.Repo, sha: str) -> bytes:
    """A blob's bytes through the Repo's persistent ``git cat-file`` process."""
    return repo.odb.stream(bytes.fromhex(sha)).read()


def blob_sha(data: bytes) -> str:
    """The SHA git would give ``data`` as a blob (to compare work-tree files with commits)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class ScanContext:
    """Where a scan happened, for the store: commit, branch and whether files were edited."""

    commit_sha: str | None
    branch: str | None
    dirty: bool | None


def scan_context(path: Path) -> ScanContext:
    """Git facts for a scan at ``path``; all None outside a repository."""
    try:
        repo = repository(path)
        current = head(repo)
    except GitError:
        return ScanContext(None, None, None)
    return ScanContext(current.sha, current.branch, repo.is_dirty(untracked_files=False))


def dirty_paths(repo: git.Repo, paths: list[str] | None = None) -> dict[str, str]:
    """Repo-relative paths with uncommitted changes (staged, unstaged or untracked) -> status."""
    args = ["status", "--porcelain=v1", "-z", "--untracked-files=all"]
    if paths is not None:
        if not paths:
            return {}
        args += ["--", *paths]
    out = git_bytes(repo, *args)
    result: dict[str, str] = {}
    entries = out.split(b"\0")
    i = 0
    while i < len(entries):
        entry = entries[i]
        i += 1
        if len(entry) < 4:
            continue
        status = entry[:2].decode()
        result[entry[3:].decode("utf-8", "surrogateescape")] = status
        if status[0] in "RC":
            i += 1  # the original path follows
    return result
