"""Clean as you code: keep only the findings that were not there at REF.

The findings present at REF are computed from REF's tree (blobs read from the object
database, analysed once and cached by blob SHA), never from a checkout. A current
finding is "old" when its repo-relative fingerprint was present at REF; files renamed
since REF (``git diff -M REF``) are compared with their old version by (rule code,
normalised line text), the same pairing ``ems history`` uses for renames.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import git

from ems.core.analyse import analyse
from ems.core.model import Finding
from ems.core.source import SourceText, UndecodableSource, decode_source
from ems.gitinfo.analysis import BlobAnalyser
from ems.gitinfo.repo import git_bytes, repository, resolve, root_of, tree_blobs
from ems.store import Store


def renames_since(repo: git.Repo, ref_sha: str) -> dict[str, str]:
    """Work-tree path -> its path at ``ref_sha``, for files git sees as renamed since."""
    out = git_bytes(repo, "diff", "--name-status", "-z", "-M", "--no-color", ref_sha, "--")
    tokens = out.split(b"\0")
    renames: dict[str, str] = {}
    i = 0
    while i < len(tokens):
        status = tokens[i]
        i += 1
        if status[:1] in (b"R", b"C") and i + 1 < len(tokens):
            old, new = (
                tokens[i].decode("utf-8", "surrogateescape"),
                tokens[i + 1].decode("utf-8", "surrogateescape"),
            )
            renames[new] = old
            i += 2
        elif status:
            i += 1
    return renames


def _line_texts(data: bytes) -> SourceText | None:
    try:
        return SourceText(decode_source(data).text)
    except UndecodableSource:
        return None


def new_since(
    findings: Sequence[Finding],
    ref: str,
    store: Store,
    *,
    root: Path | None = None,
    cwd: Path | None = None,
    analyser: BlobAnalyser | None = None,
) -> list[Finding]:
    """The findings of ``findings`` (paths as ``ems check`` shows them, relative to ``cwd``)
    absent at ``ref`` in the repository at ``root`` (default: the one containing ``cwd``)."""
    cwd = (cwd or Path.cwd()).resolve()
    repo = repository(root or cwd)
    root = root_of(repo)
    ref_sha = resolve(repo, ref)
    ref_files = tree_blobs(repo, ref_sha)
    renames = renames_since(repo, ref_sha)
    analyser = analyser or BlobAnalyser(repo, store, root)

    by_file: dict[str, list[Finding]] = {}
    rel_of: dict[str, str | None] = {}
    for f in findings:
        if f.path not in rel_of:
            absolute = (cwd / f.path).resolve() if f.path not in ("-", "<stdin>") else None
            try:
                rel_of[f.path] = absolute.relative_to(root).as_posix() if absolute else None
            except ValueError:
                rel_of[f.path] = None
        by_file.setdefault(f.path, []).append(f)

    wanted: dict[str, tuple[str, str]] = {}
    for shown, rel in rel_of.items():
        if rel is None:
            continue
        origin = renames.get(rel, rel)
        if origin in ref_files:
            wanted[shown] = (origin, ref_files[origin])
    old = analyser.get(wanted.values())

    kept: list[Finding] = []
    for shown, items in by_file.items():
        rel = rel_of[shown]
        if rel is None or shown not in wanted:
            kept.extend(items)  # not in the repository at REF: everything is new
            continue
        origin, blob = wanted[shown]
        before = old[(origin, blob)].findings
        try:
            data = (cwd / shown).read_bytes()
        except OSError:
            kept.extend(items)
            continue
        if origin == rel:
            fps = _repo_fingerprints(items, shown, rel, data, analyser)
            present = {f.fingerprint for f in before}
            kept.extend(f for f, fp in zip(items, fps, strict=True) if fp not in present)
        else:
            source = _line_texts(data)
            budget = Counter((f.code, f.text) for f in before)
            for f in items:
                text = " ".join(source.line(f.line).split()) if source and f.line <= len(source.lines) else ""
                if budget[(f.code, text)] > 0:
                    budget[(f.code, text)] -= 1
                else:
                    kept.append(f)
    return kept


def _repo_fingerprints(
    items: list[Finding], shown: str, rel: str, data: bytes, analyser: BlobAnalyser
) -> list[str]:
    """Fingerprints as if the file had been analysed under its repo-relative path.

    ``ems check`` fingerprints paths as it shows them (relative to the current folder); run
    from the repository root they already are repo-relative. Otherwise the file is analysed
    again under its repo path and findings are matched by (code, range).
    """
    if shown == rel:
        return [f.fingerprint for f in items]
    report = analyse(data, rel, analyser.config_for(rel), analyser.ruleset)
    by_place = {(f.code, f.range): f.fingerprint for f in report.findings}
    return [by_place.get((f.code, f.range), f.fingerprint) for f in items]


@dataclass(frozen=True)
class GateResult:
    """The new-code quality gate: it passes when no finding is new since ``ref``."""

    ref: str
    passed: bool
    reason: str
    new: tuple[Finding, ...]


def new_code_gate(findings: Sequence[Finding], ref: str, store: Store, *, cwd: Path) -> GateResult:
    """``--new-since`` as a gate: fail with the count per severity of the new findings."""
    new = tuple(new_since(findings, ref, store, cwd=cwd))
    if not new:
        return GateResult(ref, True, f"no finding is new since {ref}", new)
    by_severity = Counter(f.severity.value for f in new)
    detail = ", ".join(f"{n} {sev}" for sev, n in sorted(by_severity.items()))
    return GateResult(ref, False, f"{len(new)} finding(s) new since {ref} ({detail})", new)
