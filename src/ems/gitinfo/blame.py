"""Who last touched the line of each current finding: ``git blame`` limited to those lines.

One ``git blame --porcelain -L a,a -L b,b ...`` per file, and the answers are cached in
the store per (path, blob SHA, line): the blame of a committed blob's lines does not
change, so asking again costs a database read.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import git

from ems.gitinfo.repo import git_bytes
from ems.store import BlameLine, Store


def _ranges(lines: list[int]) -> list[str]:
    """Merge sorted line numbers into ``-L start,end`` arguments."""
    args: list[str] = []
    start = prev = lines[0]
    for line in lines[1:]:
        if line == prev + 1:
            prev = line
            continue
        args += ["-L", f"{start},{prev}"]
        start = prev = line
    args += ["-L", f"{start},{prev}"]
    return args


def parse_porcelain(out: bytes) -> dict[int, BlameLine]:
    """``git blame --porcelain`` output -> final line number -> blame."""
    infos: dict[str, dict[str, str]] = {}
    result: dict[int, tuple[str, int]] = {}
    current: str | None = None
    for raw in out.split(b"\n"):
        if raw.startswith(b"\t"):
            current = None
            continue
        text = raw.decode("utf-8", "replace")
        parts = text.split(" ")
        if current is None and len(parts) >= 3 and len(parts[0]) == 40:
            current = parts[0]
            result[int(parts[2])] = (current, int(parts[2]))
            infos.setdefault(current, {})
            continue
        if current is not None and parts:
            key, _, value = text.partition(" ")
            infos[current].setdefault(key, value)
    blamed: dict[int, BlameLine] = {}
    for line, (sha, _) in result.items():
        info = infos.get(sha, {})
        blamed[line] = BlameLine(
            line,
            sha,
            info.get("author", ""),
            info.get("author-mail", "").strip("<>"),
            int(info.get("author-time", "0") or 0),
            info.get("summary", ""),
        )
    return blamed


def blame(
    repo: git.Repo, store: Store, rev: str, path: str, blob_sha: str, lines: Iterable[int]
) -> dict[int, BlameLine]:
    """Blame for ``lines`` of ``path`` as of commit ``rev`` (whose blob is ``blob_sha``)."""
    wanted = sorted(set(lines))
    if not wanted:
        return {}
    known = store.cached_blame(path, blob_sha, wanted)
    missing = [line for line in wanted if line not in known]
    if missing:
        out = git_bytes(repo, "blame", "--porcelain", *_ranges(missing), rev, "--", path)
        fresh = parse_porcelain(out)
        store.store_blame(path, blob_sha, fresh.values())
        known.update(fresh)
    return {line: known[line] for line in wanted if line in known}


def blame_at_head(root: Path, store: Store, path: str, line: int) -> BlameLine | None:
    """Who last changed ``line`` of ``path`` as of HEAD (None: not committed, or no git)."""
    from ems.gitinfo.repo import GitError, repository, tree_blobs

    try:
        repo = repository(root)
        blob = tree_blobs(repo, "HEAD").get(path)
        if blob is None:
            return None
        return blame(repo, store, "HEAD", path, blob, [line]).get(line)
    except (GitError, git.GitCommandError, ValueError):
        return None
