"""The terminal rendering of a run summary (shared by ``ems test`` and ``ems run``)."""

from __future__ import annotations

from ems.testing.grouping import FIXED, NEW, ONGOING, REGRESSED
from ems.testing.record import RunSummary

MEMBERS_SHOWN = 5
SECTIONS = ((NEW, "new"), (REGRESSED, "regressed"), (ONGOING, "still failing"), (FIXED, "fixed"))


def render_text(summary: RunSummary) -> str:
    lines = ["", f"ems: {summary.one_line()}"]
    if summary.status == "not-started":
        lines.append(f"ems: the run did not start; nothing was evaluated. {summary.message or ''}".rstrip())
        return "\n".join(lines) + "\n"
    if summary.previous_run_id is not None:
        lines.append(f"compared with run {summary.previous_run_id}:")
    for state, label in SECTIONS:
        groups = summary.by_state(state)
        if not groups:
            continue
        lines.append(f"  {label} ({len(groups)}):")
        for g in groups:
            where = f" at {g.crash}" if g.crash else ""
            lines.append(f"    [{g.fingerprint[:8]}] {g.exc_type}: {g.message}{where}")
            shown = g.members[:MEMBERS_SHOWN]
            for member in shown:
                lines.append(f"        {member}")
            if len(g.members) > len(shown):
                lines.append(f"        … and {len(g.members) - len(shown)} more")
    if summary.coverage_percent is not None:
        lines.append(f"coverage: {summary.coverage_percent:.1f}% of statements")
    return "\n".join(lines) + "\n"
