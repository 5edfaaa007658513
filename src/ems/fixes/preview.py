"""Fixes and suppressions as previewable patches, applied only to the file they were made from.

The dashboard shows a patch's diff, then applies it: ``apply_patch`` writes atomically
and refuses (``FileChanged``) when the file no longer has the bytes the preview was
computed from, so a user never applies a diff they did not see. The same verified fixes
as ``ems fix`` (``fixes_for``, ``fix_all``) and the same ``# noqa`` edit as the language
server (``ems.fixes.noqa``).

Every path is relative to the project root and confined to it (``ems.runtime.root``).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ems.core.model import Finding
from ems.runtime.root import confined

if TYPE_CHECKING:
    from ems.runtime.events import EventBus


class NoSuchFinding(LookupError):
    """The finding is no longer in the file (fixed, moved or the file changed)."""


@dataclass(frozen=True)
class FilePatch:
    """New bytes for one file, and the exact bytes they were computed from."""

    path: str  # relative to the project root, with "/"
    original: bytes
    new: bytes
    titles: tuple[str, ...]
    codes: tuple[str, ...] = ()  # one rule code per fix (none for a suppression)

    def diff(self) -> str:
        old = self.original.decode("utf-8", errors="replace").splitlines(keepends=True)
        new = self.new.decode("utf-8", errors="replace").splitlines(keepends=True)
        return "".join(difflib.unified_diff(old, new, f"a/{self.path}", f"b/{self.path}"))


def _context(root: Path, rel: str):  # -> (path, data, decoded, config, ruleset, report)
    from ems.core.analyse import analyse
    from ems.core.config import ConfigResolver, LazyCodes
    from ems.core.registry import load_rules
    from ems.core.source import decode_source

    path = confined(root, rel)
    data = path.read_bytes()
    decoded = decode_source(data)
    ruleset = load_rules()
    config = ConfigResolver(LazyCodes(lambda: ruleset.codes), default_root=root).for_path(path)
    report = analyse(decoded.text, rel, config, ruleset)
    return path, data, decoded, config, ruleset, report


def _find(findings: Iterable[Finding], fingerprint: str) -> Finding:
    for f in findings:
        if f.fingerprint == fingerprint:
            return f
    raise NoSuchFinding("the finding is no longer in the file; re-scan to refresh")


def fix_patch(root: Path, rel: str, fingerprint: str) -> FilePatch | None:
    """The verified fix of one finding as a patch; None when it has no (verified) fix."""
    from ems.core.source import encode_source
    from ems.fixes.apply import apply_edits
    from ems.fixes.engine import fixes_for

    _, data, decoded, config, ruleset, report = _context(root, rel)
    finding = _find(report.findings, fingerprint)
    fix = fixes_for(decoded.text, finding, rel, config, ruleset, report)
    if fix is None:
        return None
    new_text = apply_edits(decoded.text, fix.edits)
    new = encode_source(new_text, decoded.encoding, decoded.bom)
    return FilePatch(rel, data, new, (fix.title,), (finding.code,))


def suppress_patch(root: Path, rel: str, fingerprint: str) -> FilePatch | None:
    """The ``# noqa: CODE`` the language server would add; None where no comment can go.
    Refused (ValueError) when the settings read such comments as plain ones (``ignore-noqa``)."""
    from ems.core.source import encode_source
    from ems.fixes.apply import apply_edits
    from ems.fixes.noqa import LineFacts, noqa_edit

    _, data, decoded, config, _, report = _context(root, rel)
    finding = _find(report.findings, fingerprint)
    if config.ignore_noqa:
        raise ValueError("the settings have ignore-noqa on: a # noqa comment would not hide it")
    edit = noqa_edit(LineFacts(decoded.text), finding)
    if edit is None:
        return None
    new_text = apply_edits(decoded.text, [edit])
    return FilePatch(
        rel, data, encode_source(new_text, decoded.encoding, decoded.bom), (f"# noqa: {finding.code}",)
    )


def rule_patches(root: Path, code: str, rels: Iterable[str]) -> list[FilePatch]:
    """Every safe fix of rule ``code`` in the files ``rels`` (fix-all, to a fixed point)."""
    from ems.core.source import encode_source
    from ems.fixes.engine import fix_all

    patches = []
    for rel in dict.fromkeys(rels):
        _, data, decoded, config, ruleset, _ = _context(root, rel)
        result = fix_all(decoded.text, rel, config, unsafe=False, codes=[code], ruleset=ruleset)
        if result.changed:
            new = encode_source(result.text, decoded.encoding, decoded.bom)
            titles = tuple(title for _, title in result.applied)
            patches.append(FilePatch(rel, data, new, titles, tuple(c for c, _ in result.applied)))
    return patches


def apply_patch(root: Path, patch: FilePatch, bus: EventBus | None = None) -> Path:
    """Write the patch atomically; raises ``FileChanged`` if the file is not as previewed.

    Publishes ``FixApplied`` on ``bus`` when the patch carried fixes."""
    from ems.fixes.apply import atomic_write

    path = confined(root, patch.path)
    atomic_write(path, patch.new, expected=patch.original)
    if bus is not None and patch.codes:
        from ems.runtime.events import FixApplied

        bus.publish(FixApplied(patch.path, patch.codes))
    return path
