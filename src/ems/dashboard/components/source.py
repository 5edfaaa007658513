"""Source in context with the finding's line highlighted, and diffs.

Source text is escaped before it is put in HTML: a file's content is never markup.
"""

from __future__ import annotations

import html
from pathlib import Path

import streamlit as st

CONTEXT_LINES = 6


def excerpt_html(lines: list[str], line: int, first: int) -> str:
    rows = []
    for number, text in enumerate(lines, start=first):
        mark = number == line
        style = "background:#fff3b0;font-weight:600;" if mark else ""
        rows.append(
            f'<tr style="{style}"><td style="color:#888;text-align:right;padding-right:8px;'
            f'user-select:none">{number}</td><td style="white-space:pre">{html.escape(text) or " "}</td></tr>'
        )
    return (
        '<div style="overflow-x:auto;border:1px solid #ddd;border-radius:4px;padding:4px;'
        'font-family:monospace;font-size:0.85rem"><table style="border-collapse:collapse;border:none">'
        + "".join(rows)
        + "</table></div>"
    )


def show_source(path: Path, line: int) -> None:
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        st.warning(f"Cannot read the file: {exc.strerror or exc}")
        return
    lines = text.splitlines()
    first = max(1, line - CONTEXT_LINES)
    last = min(len(lines), line + CONTEXT_LINES)
    st.html(excerpt_html(lines[first - 1 : last], line, first))


def show_diff(diff: str) -> None:
    st.code(diff or "(no change)", language="diff")
