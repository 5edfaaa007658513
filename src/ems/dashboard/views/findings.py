"""Findings: filter and group, open one (source, explanation, blame), fix, bulk-fix, suppress."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from ems.dashboard import context, data
from ems.dashboard.components.common import header, key, require_scan, short
from ems.dashboard.components.live import refresh_on_change
from ems.dashboard.components.source import show_diff, show_source
from ems.runtime.root import OutsideProject, confined
from ems.store.queries import FindingFilter

AGES = {  # label -> (introduced at most N days ago, at least M days ago); "unknown": no history
    "any": None,
    "last 7 days": (7, None),
    "last 30 days": (30, None),
    "older than 30 days": (None, 30),
    "unknown (no history)": "unknown",
}
GROUPS = {"nothing": None, "rule": "rule", "severity": "severity", "file": "path", "author": "author"}
TABLE_ROWS = 1000  # rows fetched for the table and the "open" list (counts cover all)
PATCH = "findings_patch"  # session key: the previewed patch and what it is for
DAY = 86400


def filters(k) -> FindingFilter:
    rules = data.rule_counts(k)["rule"].tolist()
    with st.expander("Filters", expanded=True):
        a, b, c = st.columns(3)
        chosen_rules = a.multiselect("Rule", rules, key="f_rule")
        severities = b.multiselect("Severity", ["error", "warning", "info", "hint"], key="f_severity")
        path = c.text_input("Path contains", value=st.query_params.get("path", ""), key="f_path")
        d, e, f = st.columns(3)
        authors = d.multiselect("Author (introduced by)", data.known_authors(k), key="f_author")
        age = e.selectbox("Introduced", list(AGES), key="f_age")
        fixable = f.selectbox("Fix", ["any", "fixable", "not fixable"], key="f_fixable")
    window = AGES[age]
    hour = int(time.time()) // 3600 * 3600  # "now" to the hour: the filter stays cacheable
    since = before = None
    if isinstance(window, tuple):
        newest, oldest = window
        since = hour - newest * DAY if newest is not None else None
        before = hour - oldest * DAY if oldest is not None else None
    return FindingFilter(
        rules=tuple(chosen_rules),
        severities=tuple(severities),
        path_contains=path.strip(),
        authors=tuple(authors),
        introduced_since=since,
        introduced_before=before,
        unknown_origin=window == "unknown",
        fixable=None if fixable == "any" else fixable == "fixable",
    )


def apply_section(patch_kind: str) -> None:
    """Show the previewed patch with Apply / Discard (one patch at a time)."""
    from ems.fixes.apply import FileChanged
    from ems.fixes.preview import apply_patch

    held = st.session_state.get(PATCH)
    if not held or held["kind"] != patch_kind:
        return
    patches = held["patches"]
    st.markdown(f"**Preview** ({len(patches)} file{'s' if len(patches) != 1 else ''}):")
    show_diff("".join(p.diff() for p in patches))
    apply, discard = st.columns(2)
    if discard.button("Discard", key=f"discard_{patch_kind}"):
        st.session_state.pop(PATCH, None)
        st.rerun()
    if not apply.button("Apply", key=f"apply_{patch_kind}", type="primary"):
        return
    root = context.project_root()
    written, refused = [], []
    for patch in patches:
        try:
            apply_patch(root, patch, context.bus())
            written.append(patch.path)
        except (FileChanged, OutsideProject, OSError):
            refused.append(patch.path)
    st.session_state.pop(PATCH, None)
    if refused:
        st.session_state["findings_refused"] = (
            "Not applied to " + ", ".join(refused) + ": the file changed since the preview. "
            "The findings were refreshed; preview again."
        )
    rescan(f"Applied to {', '.join(written)}." if written else None)


def rescan(message: str | None) -> None:
    from ems.runtime.project_scan import ScanError, scan_project

    try:
        outcome = scan_project(context.project_root(), jobs=1, bus=context.bus())
    except ScanError as exc:
        st.error(f"Re-scan failed: {exc}")
        return
    note = f"{message} " if message else ""
    st.session_state["findings_flash"] = f"{note}Re-scanned: {len(outcome.findings)} findings now."
    st.rerun()


def detail(row: pd.Series) -> None:
    from ems.core.registry import load_rules
    from ems.core.rule import explain
    from ems.fixes.preview import NoSuchFinding, fix_patch, suppress_patch

    root = context.project_root()
    try:
        path = confined(root, row["path"])
    except OutsideProject as exc:
        st.error(str(exc))
        return
    st.subheader(f"{row['rule']} {row['name']} — {row['path']}:{row['line']}")
    st.markdown(f"**{row['severity']}**: {row['message']}")
    show_source(path, int(row["line"]))
    info, who = st.columns(2)
    with who:
        st.markdown("**Introduced by**")
        if row["introduced_sha"]:
            date = row["introduced"].strftime("%Y-%m-%d") if pd.notna(row["introduced"]) else "?"
            st.write(f"commit `{short(row['introduced_sha'])}` by {row['author']} on {date}")
        elif row["author"] == data.NOT_IN_HISTORY:
            st.write(
                "not in the recorded history: not committed yet, or committed after the last "
                "history walk (update it in the Control panel)"
            )
        else:
            st.write("unknown (build the history in the Control panel)")
        st.markdown("**Blame (last change of the line, at HEAD)**")
        blamed = blame(row["path"], int(row["line"]))
        st.write(blamed or "not committed, or not a git repository")
    with info:
        rule = load_rules().get(row["rule"])
        if rule is not None:
            with st.expander(f"Rule {rule.code}: {rule.name} (same text as `ems rule {rule.code}`)"):
                st.code(explain(rule), language="text", wrap_lines=True)
    fp = row["fingerprint"]
    buttons = st.columns(2)
    if row["fixable"] and buttons[0].button("Preview fix", key="preview_fix"):
        try:
            patch = fix_patch(root, row["path"], fp)
        except (NoSuchFinding, OSError, ValueError) as exc:
            st.warning(f"No fix to preview: {exc}")
            patch = None
        if patch is None:
            st.info("No verified fix for this finding (see `ems fix --diff`).")
            st.session_state.pop(PATCH, None)
        else:
            st.session_state[PATCH] = {"kind": "single", "patches": [patch]}
    if buttons[1].button("Suppress (# noqa)", key="preview_noqa"):
        try:
            patch = suppress_patch(root, row["path"], fp)
        except (NoSuchFinding, OSError, ValueError) as exc:
            st.warning(f"Cannot suppress: {exc}")
            patch = None
        if patch is None:
            st.info("A `# noqa` comment cannot go on this line (inside a string, or not suppressible).")
        else:
            st.session_state[PATCH] = {"kind": "single", "patches": [patch]}
    apply_section("single")


def blame(path: str, line: int) -> str | None:
    from ems.gitinfo.blame import blame_at_head

    found = blame_at_head(context.project_root(), context.store(), path, line)
    if found is None:
        return None
    date = datetime.fromtimestamp(found.timestamp, UTC).strftime("%Y-%m-%d")
    return f"`{short(found.commit_sha)}` {found.author}, {date}: {found.summary}"


def bulk(k, flt: FindingFilter) -> None:
    from ems.fixes.preview import rule_patches

    st.subheader("Apply all safe fixes of a rule")
    fixable = data.group_counts(k, replace(flt, fixable=True), "rule")
    if fixable.empty:
        st.caption("No fixable finding in the filtered list.")
        return
    rule = st.selectbox("Rule", fixable["rule"].tolist(), key="bulk_rule")
    files = data.fixable_paths(k, flt, rule)
    st.caption(
        f"In the {len(files)} file(s) of the filtered list with fixable {rule} findings. The whole diff is shown first."
    )
    if st.button(f"Preview all safe {rule} fixes", key="bulk_preview"):
        try:
            patches = rule_patches(context.project_root(), rule, files)
        except (OSError, ValueError) as exc:
            st.error(f"Cannot prepare the fixes: {exc}")
            patches = []
        if patches:
            st.session_state[PATCH] = {"kind": "bulk", "patches": patches}
        else:
            st.info(
                "No safe fix applies (unsafe fixes are applied one at a time, or with `ems fix --unsafe-fixes`)."
            )
    apply_section("bulk")


def main() -> None:
    header("Findings", "the latest recorded scan, with history where known")
    refresh_on_change()
    refused = st.session_state.pop("findings_refused", None)
    if refused:
        st.warning(refused)
    flash = st.session_state.pop("findings_flash", None)
    if flash:
        st.success(flash)
    if not require_scan():
        return
    k = key()
    flt = filters(k)
    total = data.finding_count(k, FindingFilter())
    matching = data.finding_count(k, flt)
    st.markdown(f"**{matching:,}** of {total:,} findings")
    group = GROUPS[st.radio("Group by", list(GROUPS), horizontal=True, key="f_group")]
    if group:
        st.dataframe(data.group_counts(k, flt, group), hide_index=True)
    shown = data.findings(k, flt, TABLE_ROWS)
    # The column is in the finding's detail below: the table keeps its width for the message.
    columns = ["path", "line", "rule", "severity", "message", "fixable", "author", "introduced"]
    if matching > len(shown):
        st.caption(
            f"The table shows the first {len(shown):,} in file order; narrow the filters to see others."
        )
    # The date as text: a finding with no history row gets an empty cell (its author cell
    # says why), where a date column would print "None".
    table = shown[columns].assign(introduced=shown["introduced"].dt.strftime("%Y-%m-%d").fillna(""))
    st.dataframe(  # up to ten rows tall, no empty rows below a few
        table,
        hide_index=True,
        # The message is what a reader scans for: it gets the width the numbers do not need,
        # and the row fits a 1,400-pixel window without scrolling sideways; a longer message
        # shows whole on hover and in the finding's detail below.
        column_config={
            "line": st.column_config.NumberColumn(width=56),
            "rule": st.column_config.TextColumn(width=72),
            "severity": st.column_config.TextColumn(width=72),
            "fixable": st.column_config.CheckboxColumn(width=64),
            "message": st.column_config.TextColumn(
                width=320, help="The full message is in the detail below."
            ),
            "author": st.column_config.TextColumn(width=110),
            "introduced": st.column_config.TextColumn(width=95),
        },
    )
    if shown.empty:
        return
    choices = shown
    labels = {
        fp: f"{p}:{ln} {r} {m[:70]}"
        for fp, p, ln, r, m in zip(
            choices["fingerprint"],
            choices["path"],
            choices["line"],
            choices["rule"],
            choices["message"],
            strict=True,
        )
    }
    wanted = st.query_params.get("finding")
    options = list(labels)
    index = options.index(wanted) if wanted in labels else 0
    chosen = st.selectbox(
        f"Open a finding (first {len(options):,} of the filtered list)",
        options,
        index=index,
        format_func=labels.__getitem__,
        key="f_open",
    )
    held = st.session_state.get(PATCH)
    if held and held["kind"] == "single" and st.session_state.get("findings_open") != chosen:
        st.session_state.pop(PATCH, None)  # a preview belongs to the finding it was made for
    st.session_state["findings_open"] = chosen
    st.divider()
    detail(shown[shown["fingerprint"] == chosen].iloc[0])
    st.divider()
    bulk(k, flt)


main()
