"""Control panel: rules on/off, severities and whether their fixes are applied (written to
the config file), scan, build history.

A running scan or history walk is cancelled with the Cancel button: the click stops the
page's run at its next progress update, before anything is recorded (both record in one
transaction at the end).
"""

from __future__ import annotations

import streamlit as st

from ems.dashboard import context
from ems.dashboard.components.common import header

SEVERITIES = ["default", "error", "warning", "info", "hint"]


def rules_section() -> None:
    from ems.core.config import ConfigError
    from ems.core.registry import load_rules
    from ems.runtime.config_edit import config_file_for, rule_settings, write_rule_settings

    ruleset = load_rules()
    root = context.project_root()
    target = config_file_for(root)
    st.subheader("Rules")
    st.caption(
        f"Changes are written to `{target.name}` ({'[tool.ems]' if target.name == 'pyproject.toml' else 'the whole file'}); comments and order are kept."
    )
    try:
        settings = rule_settings(target, ruleset.codes)
    except ConfigError as exc:
        st.error(f"The config file cannot be read: {exc}")
        return
    st.dataframe(
        [
            {
                "rule": r.code,
                "name": r.name,
                "enabled": settings[r.code].enabled,
                "severity": settings[r.code].severity or f"{r.severity.value} (default)",
                "fix": (r.fix_safety.value + ("" if settings[r.code].fixable else " (not applied)"))
                if r.fix_safety
                else "",
            }
            for r in ruleset.rules
        ],
        hide_index=True,
        height=260,
    )
    names = {r.code: f"{r.code} {r.name}" for r in ruleset.rules}
    code = st.selectbox("Rule to change", list(names), format_func=names.__getitem__, key="cp_rule")
    current = settings[code]
    with st.form("cp_rule_form"):
        enabled = st.toggle("Enabled", value=current.enabled, key=f"cp_enabled_{code}")
        severity = st.selectbox(
            "Severity",
            SEVERITIES,
            index=SEVERITIES.index(current.severity) if current.severity else 0,
            key=f"cp_severity_{code}",
        )
        rule = ruleset.get(code)
        has_fix = rule is not None and rule.fix_safety is not None
        fixes_on = st.toggle(
            "Fixes applied (ems fix, fix-all, quick fixes)",
            value=current.fixable,
            disabled=not has_fix,
            help=None if has_fix else "This rule has no automatic fix.",
            key=f"cp_fixable_{code}",
        )
        saved = st.form_submit_button(f"Save to {target.name}")
    if saved:
        try:
            changed = write_rule_settings(
                target,
                ruleset.codes,
                enabled={code: enabled},
                severities={code: None if severity == "default" else severity},
                fixable={code: fixes_on} if has_fix else None,
            )
        except ConfigError as exc:
            st.error(str(exc))
            return
        if changed:
            st.success(f"Saved {code} to {target.name}. Run a scan to see its effect.")
        else:
            st.info("Nothing to change.")


def scan_section() -> None:
    from ems.runtime.project_scan import ScanError, scan_project

    st.subheader("Scan")
    start, cancel = st.columns([3, 1])
    if not start.button("Run a scan", key="cp_scan", type="primary"):
        return
    cancel.button("Cancel", key="cp_scan_cancel")  # a click stops this run at the next update
    with st.status("Scanning the project…", expanded=True) as status:
        bar = st.progress(0.0, text="discovering files")

        def progress(done: int, total: int) -> None:
            bar.progress(done / max(total, 1), text=f"{done}/{total} files")

        try:
            outcome = scan_project(context.project_root(), jobs=1, progress=progress, bus=context.bus())
        except ScanError as exc:
            status.update(label=f"Scan failed: {exc}", state="error")
            return
        status.update(
            label=f"Scanned {outcome.files} files in {outcome.seconds:.1f} s: {len(outcome.findings)} findings "
            f"(scan {outcome.scan_id})",
            state="complete",
        )


def history_section() -> None:
    from ems.gitinfo.history import HistoryOptions
    from ems.gitinfo.repo import EmptyRepositoryError, GitError, close_repositories
    from ems.gitinfo.report import build_history
    from ems.store import StoreError

    st.subheader("History")
    st.caption(
        "Walks the commits (nothing is checked out); blobs analysed once are cached, so extending is fast."
    )
    max_commits = st.number_input(
        "Newest commits to walk (0: all)", min_value=0, value=0, step=50, key="cp_max"
    )
    start, cancel = st.columns([3, 1])
    if not start.button("Build or extend history", key="cp_history", type="primary"):
        return
    cancel.button("Cancel", key="cp_history_cancel")
    with st.status("Walking the history…", expanded=True) as status:
        bar = st.progress(0.0, text="listing commits")

        def progress(stage: str, done: int, total: int) -> None:
            bar.progress(done / max(total, 1), text=f"{stage}: {done}/{total}")

        try:
            report = build_history(  # the same service as `ems history`: publishes HistoryBuilt
                context.project_root(),
                context.store(),
                HistoryOptions(max_commits=int(max_commits) or None),
                jobs=1,
                progress=progress,
                bus=context.bus(),
            )
        except EmptyRepositoryError as exc:
            status.update(label=str(exc), state="complete")
            return
        except (GitError, StoreError) as exc:
            status.update(label=f"History failed: {exc}", state="error")
            return
        finally:
            close_repositories()
        status.update(
            label=f"Walked {report.stats.commits} commits in {report.stats.seconds:.1f} s "
            f"({report.stats.analysed_blobs} blobs analysed, {report.stats.cached_blobs} cached)",
            state="complete",
        )


def main() -> None:
    header("Control panel", "rules, scans and history")
    rules_section()
    st.divider()
    scan_section()
    st.divider()
    history_section()


main()
