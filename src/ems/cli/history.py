"""``ems history``: replay the git history, record who introduced and removed each finding.

GitPython and the store are imported inside ``run`` so ``ems --version`` stays instant.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ems.cli.common import positive_int

if TYPE_CHECKING:
    from ems.runtime.longrun import FileRate

EXIT_OK = 0
EXIT_ERROR = 2
TEXT_LIMIT = 20


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "history",
        help="analyse the git history: who introduced and removed each finding, hotspots",
        description=(
            "Walk the commits of a git repository (reading files from git, never checking anything "
            "out), record in .ems/ems.db which commit introduced and which removed each finding, "
            "and rank files by hotspot score. Blobs are analysed once ever: later runs are fast."
        ),
    )
    parser.add_argument(
        "path", nargs="?", default=".", help="repository, or a folder/file inside it to restrict to"
    )
    parser.add_argument("--max-commits", type=int, metavar="N", help="walk at most the N newest commits")
    parser.add_argument(
        "--since",
        metavar="DATE",
        help="only commits after DATE (anything git accepts: 2024-01-01, '3 months ago')",
    )
    parser.add_argument("--branch", metavar="B", help="walk branch (or tag, commit) B instead of HEAD")
    parser.add_argument(
        "--first-parent", action="store_true", help="follow only the first parent of merges (the mainline)"
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument(
        "--blame", action="store_true", help="add git blame (author, commit) of each current finding's line"
    )
    parser.add_argument(
        "--hotspots", type=int, default=10, metavar="N", help="how many hotspot files to show (text)"
    )
    parser.add_argument(
        "--jobs", type=positive_int, metavar="N", help="analysis processes (default: CPU count)"
    )
    parser.add_argument("--store", type=Path, metavar="FILE", help="store file (default: REPO/.ems/ems.db)")
    parser.add_argument(
        "--recover-store",
        action="store_true",
        help="kept for scripts: a damaged store is always moved aside (ems.db.corrupt-TIME) and a new one started",
    )
    parser.set_defaults(run=run)


class _Progress:
    """One self-rewriting status line on a terminal's stderr; silent otherwise."""

    def __init__(self, rate: FileRate | None = None) -> None:
        self.enabled = sys.stderr.isatty()
        self.shown = False
        self.rate = rate  # blobs analysed: files per second on the Monitor page

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.rate is not None and stage == "analysing":
            self.rate.done = done
        if not self.enabled or (done != total and done % 5):
            return
        width = 24
        filled = width * done // max(total, 1)
        sys.stderr.write(
            f"\r\x1b[2Kems history: {stage} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}"
        )
        sys.stderr.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[2K")
            sys.stderr.flush()


def run(args: argparse.Namespace) -> int:
    from ems.gitinfo.history import HistoryOptions
    from ems.gitinfo.repo import EmptyRepositoryError, GitError, close_repositories, repository, root_of
    from ems.gitinfo.report import build_history
    from ems.runtime.events import EventBus
    from ems.runtime.longrun import FileRate, monitored_if_long
    from ems.store import StoreError, open_store

    target = Path(args.path)
    if not target.exists():
        print(f"ems history: {target} does not exist", file=sys.stderr)
        return EXIT_ERROR
    if args.max_commits is not None and args.max_commits < 1:
        print("ems history: --max-commits needs a number of at least 1", file=sys.stderr)
        return EXIT_ERROR
    rate = FileRate()
    progress = _Progress(rate)
    try:
        repo = repository(target)
        root = root_of(repo)
        prefix = target.resolve().relative_to(root).as_posix()
        options = HistoryOptions(
            max_commits=args.max_commits,
            since=args.since,
            branch=args.branch,
            first_parent=args.first_parent,
            prefix="" if prefix == "." else prefix,
        )
        with (
            monitored_if_long([str(root)], "history", rate=rate),  # a long walk shows on the Monitor page
            open_store(root, args.store) as store,  # a damaged one is moved aside, and said so
        ):
            report = build_history(
                root,
                store,
                options,
                jobs=args.jobs,
                progress=progress,
                with_blame=args.blame,
                bus=EventBus(),
            )
            progress.clear()
            for warning in report.warnings:
                print(f"ems history: {warning}", file=sys.stderr)
            payload = report.as_dict()
    except EmptyRepositoryError as exc:
        progress.clear()
        print(f"ems history: {exc}", file=sys.stderr)
        return EXIT_OK
    except (GitError, StoreError) as exc:
        progress.clear()
        print(f"ems history: {exc}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        close_repositories()
    if args.format == "json":
        sys.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(_text(payload, args.hotspots))
    return EXIT_OK


def _text(payload: dict, hotspot_count: int) -> str:
    stats = payload["stats"]
    out: list[str] = []
    where = payload["branch"] or f"detached HEAD {payload['head'][:10]}"
    out.append(
        f"Walked {stats['commits']} commits of {where} (tip {payload['tip'][:10]}) in {stats['seconds']:.2f} s: "
        f"{stats['analysed_blobs']} blobs analysed, {stats['cached_blobs']} from the cache."
    )
    commits = payload["commits"]
    if commits:
        out.append("")
        out.append("Recent commits (+introduced -removed):")
        for c in commits[-TEXT_LIMIT:][::-1]:
            mark = " (shallow boundary)" if c["shallow"] else ""
            out.append(
                f"  {c['sha'][:10]} {c['date'][:10]} {c['author'][:18]:<18} "
                f"+{len(c['introduced']):<3} -{len(c['removed']):<3} {c['summary'][:60]}{mark}"
            )
    findings = payload["findings"]
    out.append("")
    out.append(f"Findings at the tip: {len(findings)}")
    oldest = sorted(findings, key=lambda f: (f["introduced"] or {}).get("date") or "")
    for f in oldest[:TEXT_LIMIT]:
        intro = f["introduced"]
        since = ""
        if intro:
            how = "" if intro["exact"] else "at or before "
            since = f"  (introduced {how}{intro['commit'][:10]} by {intro['author']}, {intro['date'][:10]})"
        blame = f.get("blame")
        if blame:
            since += f"  [blame: {blame['author']}, {blame['commit'][:10]}]"
        out.append(f"  {f['path']}:{f['line']}:{f['column']}: {f['code']} {f['message']}{since}")
    if len(findings) > TEXT_LIMIT:
        out.append(
            f"  ... and {len(findings) - TEXT_LIMIT} more (oldest shown first; --format json lists all)"
        )
    spots = payload["hotspots"]["files"][:hotspot_count]
    if spots:
        out.append("")
        out.append(f"Hotspots ({payload['hotspots']['formula']}):")
        out.extend(_hotspot_table(spots))
    return "\n".join(out) + "\n"


def _hotspot_table(spots: list[dict]) -> list[str]:
    """The hotspot rows under their header, each column as wide as its widest cell (a
    fixed width let large scores push the row out from under the header)."""
    columns = (
        ("score", [f"{h['score']:.2f}" for h in spots]),
        ("recent", [f"{h['recent_changes']:.2f}" for h in spots]),
        ("changes", [str(h["changes"]) for h in spots]),
        ("findings", [str(h["findings"]) for h in spots]),
        ("lines", [str(h["lines"]) for h in spots]),
    )
    widths = [max(len(name), *(len(v) for v in values)) for name, values in columns]
    header = " ".join(f"{name:>{w}}" for (name, _), w in zip(columns, widths, strict=True))
    lines = [f"  {header}  path"]
    for index, h in enumerate(spots):
        cells = " ".join(f"{values[index]:>{w}}" for (_, values), w in zip(columns, widths, strict=True))
        lines.append(f"  {cells}  {h['path']}")
    return lines
