"""docs/user/rules.md is generated from the rules; a stale page fails here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_rules_page_is_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "render_rule_docs.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_rules_page_documents_every_builtin_rule() -> None:
    from ems.core.registry import load_rules

    page = (ROOT / "docs" / "user" / "rules.md").read_text(encoding="utf-8")
    ruleset = load_rules()
    for rule in ruleset.rules:
        if ruleset.origin(rule.code) == "builtin":
            assert f"## {rule.code} {rule.name}" in page
