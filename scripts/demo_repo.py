"""Make the bundled demo project (examples/demo) into a git repository with a history.

    python scripts/demo_repo.py [TARGET]      # default: .ems-demo (ignored by git)

Eleven commits by four authors over ten weeks build the demo package up to exactly the
files in examples/demo: findings are introduced along the way and some are removed, so
the dashboard's History and Hotspots pages have something real to show. Authors and
dates are set through GIT_AUTHOR_*/GIT_COMMITTER_* (no global git config is read or
needed). TARGET is replaced if it is a demo repository made by this script; any other
existing folder is refused.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEMO = HERE.parent / "examples" / "demo"
MARKER = ".ems-demo-repo"  # left in .git so a re-run knows the folder is ours
DAY = 86400

AUTHORS = {
    "alice": ("Alice Martin", "alice@example.com"),
    "bob": ("Bob Chen", "bob@example.com"),
    "carol": ("Carol Diaz", "carol@example.com"),
    "dave": ("Dave Okafor", "dave@example.com"),
}

Edit = Callable[[str], str]


def replace(*pairs: tuple[str, str]) -> Edit:
    def edit(text: str) -> str:
        for old, new in pairs:
            if old not in text:
                raise SystemExit(f"demo_repo: the demo changed; cannot find {old!r}")
            text = text.replace(old, new, 1)
        return text

    return edit


# Each file's earlier versions, as edits that undo the final file's later changes.
MODELS_V1 = replace(
    ("import json\nimport os\n", ""),
    ("        self.updated = datetime.utcnow()\n", ""),
    ("if self.item.price == None:", "if self.item.price is None:"),
    ('return f"no price"', 'return "no price"'),
)
MODELS_V2 = replace(
    ("import json\nimport os\n", ""),
    ("if self.item.price == None:", "if self.item.price is None:"),
    ('return f"no price"', 'return "no price"'),
)
MODELS_V3 = replace(("import json\nimport os\n", ""))
STORAGE_V1 = replace(
    ("import sys\n", ""),
    ("    except:\n        pass\n", "    except OSError:\n        raise\n"),
    ('    return row\n    print("saved", row)\n', "    return row\n"),
    ("    return totl\n", "    return total\n"),
)
STORAGE_V2 = replace(
    ("import sys\n", ""),
    ('    return row\n    print("saved", row)\n', "    return row\n"),
    ("    return totl\n", "    return total\n"),
)
STORAGE_V3 = replace(("    return totl\n", "    return total\n"))
REPORT_V1 = replace(
    ("from inventory.models import Stock\n", "import os\n\nfrom inventory.models import Stock\n"),
    ("    unused_count = len(result)\n", ""),
    (" or stock.item.tags == None", ""),
    ("    if lines is []:\n        raise NotImplemented\n", '    if not lines:\n        return ""\n'),
)
REPORT_V2 = replace(
    ("    unused_count = len(result)\n", ""),
    (" or stock.item.tags == None", ""),
    ("    if lines is []:\n        raise NotImplemented\n", '    if not lines:\n        return ""\n'),
)
FINAL: Edit = lambda text: text  # noqa: E731 - the file as in examples/demo

# (author, days before now, message, {path: edit of the final file})
STEPS: tuple[tuple[str, int, str, dict[str, Edit]], ...] = (
    (
        "alice",
        70,
        "Add item and stock models",
        {
            "README.md": FINAL,
            "pyproject.toml": FINAL,
            "inventory/__init__.py": FINAL,
            "inventory/models.py": MODELS_V1,
        },
    ),
    ("bob", 62, "Load and save stock as JSON", {"inventory/storage.py": STORAGE_V1}),
    ("alice", 55, "Plain-text stock report", {"inventory/report.py": REPORT_V1}),
    ("carol", 47, "Record when stock was restocked", {"inventory/models.py": MODELS_V2}),
    ("bob", 40, "Never fail the kiosk on a save error", {"inventory/storage.py": STORAGE_V2}),
    ("dave", 33, "Describe items without a price", {"inventory/models.py": MODELS_V3}),
    ("alice", 26, "Remove an unused import from the report", {"inventory/report.py": REPORT_V2}),
    ("carol", 19, "Report out-of-stock and untagged items", {"inventory/report.py": FINAL}),
    ("bob", 12, "Print saved rows while debugging the kiosk", {"inventory/storage.py": STORAGE_V3}),
    ("dave", 6, "Tidy the total value loop", {"inventory/storage.py": FINAL}),
    ("carol", 2, "Import helpers for the next feature", {"inventory/models.py": FINAL}),
)


def _git(target: Path, env: dict[str, str], *args: str) -> None:
    subprocess.run(["git", *args], cwd=target, env=env, check=True, stdout=subprocess.DEVNULL)


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env["GIT_CONFIG_GLOBAL"] = os.devnull  # no user hooks, signing or templates
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    return env


def build(target: Path, source: Path = DEMO, now: int | None = None) -> Path:
    """Create the demo repository at ``target``; returns its path."""
    target = target.resolve()
    if target.exists():
        if not (target / ".git" / MARKER).exists():
            raise SystemExit(f"demo_repo: {target} exists and is not a demo repository made by this script")
        shutil.rmtree(target)
    target.mkdir(parents=True)
    env = _clean_env()
    _git(target, env, "init", "-q", "-b", "main")
    (target / ".git" / MARKER).write_text("made by scripts/demo_repo.py\n")
    (target / ".gitignore").write_text(".ems/\n__pycache__/\n")
    now = int(time.time()) if now is None else now
    for author, days, message, files in STEPS:
        for rel, edit in files.items():
            path = target / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(edit((source / rel).read_text(encoding="utf-8")), encoding="utf-8")
        name, email = AUTHORS[author]
        stamp = f"@{now - days * DAY + 9 * 3600} +0000"
        step_env = {
            **env,
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_AUTHOR_DATE": stamp,
            "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email,
            "GIT_COMMITTER_DATE": stamp,
        }
        _git(target, step_env, "add", "-A")
        _git(target, step_env, "commit", "-q", "--no-verify", "-m", message)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", nargs="?", default=str(HERE.parent / ".ems-demo"))
    args = parser.parse_args(argv)
    path = build(Path(args.target))
    print(f"demo repository with {len(STEPS)} commits: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
