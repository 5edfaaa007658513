"""``ems check --add-noqa``: silence every reported finding with a ``# noqa: CODE`` comment.

What a team runs once when adopting ems on existing code (as with ruff's ``--add-noqa``):
the check then passes, and only new code is held to the rules. Each file is written
atomically and never if it changed since it was checked.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ems.core.model import Finding
    from ems.runtime.scan import FileResult


def add_noqa(results: Sequence[FileResult], quiet: bool) -> int:
    """Exit 0 when every finding is now silenced, 1 when some remain, 2 when a file could
    not be written."""
    from ems.core.analyse import UNUSED_SUPPRESSION_CODE
    from ems.fixes.apply import FileChanged, atomic_write
    from ems.fixes.noqa import UNSUPPRESSIBLE, noqa_patch

    out: list[str] = []
    errors: list[str] = []
    remaining: list[tuple[str, Finding]] = []
    silenced = files = 0
    write_failed = False
    for result in results:
        findings = [f for f in result.report.findings if f.code != UNUSED_SUPPRESSION_CODE]
        remaining += [
            (result.display, f) for f in result.report.findings if f.code == UNUSED_SUPPRESSION_CODE
        ]
        if not findings:
            continue
        if result.source is None:  # the scan keeps the bytes of every file with findings
            errors.append(f"{result.display}: its checked text was not kept; not written")
            write_failed = True
            continue
        patch = noqa_patch(result.source, findings)
        remaining += [(result.display, f) for f in patch.suppressing.refused]
        if patch.new is None:
            continue
        try:
            atomic_write(result.path, patch.new, expected=result.source)
        except (FileChanged, OSError) as exc:
            errors.append(str(exc))
            write_failed = True
            continue
        count = len(patch.suppressing.suppressed)
        silenced += count
        files += 1
        if not quiet:
            out.append(f"added # noqa for {count} in {result.display}")
    for display, finding in remaining:
        if finding.code == UNUSED_SUPPRESSION_CODE:
            why = "an unused suppression: `ems fix` removes it"
        elif finding.code in UNSUPPRESSIBLE:
            why = "the file does not parse, cannot be read, or its analysis failed"
        else:
            why = "its line cannot take a comment (it ends inside a string, or after a backslash)"
        errors.append(f"{display}:{finding.line}:{finding.column + 1}: {finding.code} not silenced: {why}")
    if not quiet:
        out.append(
            f"Silenced {silenced} finding{'s' if silenced != 1 else ''} in {files} file{'s' if files != 1 else ''}"
            f"; {len(remaining)} remaining."
        )
    if out:
        sys.stdout.write("\n".join(out) + "\n")
    if errors:
        sys.stderr.write("\n".join(errors) + "\n")
    if write_failed:
        return 2
    return 1 if remaining else 0
