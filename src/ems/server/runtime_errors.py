"""Runtime errors in the editor: recorded test failures and captured exceptions as diagnostics.

The store is the only channel: ``ems test``, ``ems run``, ``pytest -p ems`` and programs that
call ``ems.capture.install()`` all write it, from any process, with or without an editor
open. The server therefore *watches* it rather than being notified: once a second it stats
each project's ``.ems/ems.db`` and its WAL (a few microseconds), and only when they changed
reads the newest run id, and only when that changed reloads the open failure groups. No
client file-watcher support is needed (clients differ, and many exclude dot-folders).

What is shown: each open group's latest failures (``ems.store.testruns.open_failures``), one
diagnostic per group and project file, at the deepest frame of the raised exception in that
file (severity error, source ``ems-test`` or ``ems-run``), with ``relatedInformation`` for the
other frames, the chained exceptions and the failing tests. A recorded line whose text moved
(edits since the run) is found again by its source text nearby. Uncovered lines of the latest
coverage come as hints when the ``coverageHints`` setting is on.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp
from pygls.uris import from_fs_path

from ems.server.positions import to_units

log = logging.getLogger("ems.server.runtime")

SOURCE_TEST = "ems-test"
SOURCE_RUN = "ems-run"
SOURCE_COVERAGE = "ems-coverage"
CMD_RERUN = "ems.rerunTest"
POLL_SECONDS = 1.0
RELOCATE_WINDOW = 200  # lines searched either way for a recorded line that moved
MEMBERS_SHOWN = 5


@dataclass(frozen=True)
class Marker:
    """One diagnostic's worth of a failure group in one file (1-based line, code points)."""

    path: str  # relative to the project root
    line: int
    column: int | None
    end_column: int | None
    source_line: str
    message: str
    source: str
    fingerprint: str
    nodeids: tuple[str, ...]
    related: tuple[tuple[str, int, str], ...]  # (path, line, what)


def _frames(data: dict[str, Any], index: int = 0) -> list[dict[str, Any]]:
    exceptions = data.get("exceptions") or []
    return list(exceptions[index].get("frames") or []) if len(exceptions) > index else []


def markers(failures: Iterable[Any], kinds: dict[str, str]) -> list[Marker]:
    """Markers for failure rows (``FailureRow``): per group and file, the deepest frame."""
    by_key: dict[tuple[str, str, int], list[Any]] = {}
    for failure in failures:
        frames = _frames(failure.data)
        deepest: dict[str, dict[str, Any]] = {}
        for frame in frames:
            deepest[frame["path"]] = frame
        for path, frame in deepest.items():
            by_key.setdefault((failure.fingerprint, path, int(frame["line"])), []).append(failure)
    out: list[Marker] = []
    for (fp, path, line), rows in by_key.items():
        first = rows[0]
        frames = _frames(first.data)
        frame = next(f for f in reversed(frames) if f["path"] == path)
        crash = frames[-1]
        nodeids = tuple(sorted({r.nodeid for r in rows}))
        kind = kinds.get(fp, "test")
        primary = first.data["exceptions"][0]
        text = (
            f"{primary['type']}: {primary['message'].splitlines()[0] if primary['message'] else ''}".rstrip(
                ": "
            )
        )
        if frame is not crash:
            text += f" (raised in {crash['path']}:{crash['line']}, {crash['function']})"
        if kind == "test":
            text += f" — {len(nodeids)} failing test{'s' if len(nodeids) != 1 else ''}"
        related: list[tuple[str, int, str]] = []
        for other in frames:
            if other is frame:
                continue
            role = "raised here" if other is crash else "called from here"
            related.append((other["path"], int(other["line"]), f"{role}: {other['function']}"))
        for index, exc in enumerate(first.data["exceptions"][1:], start=1):
            chained = _frames(first.data, index)
            if chained:
                where = chained[-1]
                related.append(
                    (where["path"], int(where["line"]), f"{exc['relation']}: {exc['type']}: {exc['message']}")
                )
        if kind == "test":
            for nodeid in nodeids[:MEMBERS_SHOWN]:
                test_path = nodeid.split("::", 1)[0]
                test_frame = next((f for f in frames if f["path"].endswith(test_path)), None)
                if test_frame is not None:
                    related.append((test_frame["path"], int(test_frame["line"]), f"failing test: {nodeid}"))
        out.append(
            Marker(
                path,
                line,
                frame.get("column"),
                frame.get("end_column") if frame.get("end_line") in (None, line) else None,
                frame.get("source", ""),
                text,
                SOURCE_TEST if kind == "test" else SOURCE_RUN,
                fp,
                nodeids,
                tuple(related),
            )
        )
    return out


def relocate(line: int, source_line: str, line_text: Callable[[int], str | None]) -> int:
    """The 1-based line now holding ``source_line`` nearest to ``line`` (``line`` if none)."""
    want = " ".join(source_line.split())
    if not want:
        return line
    current = line_text(line)
    if current is not None and " ".join(current.split()) == want:
        return line
    for distance in range(1, RELOCATE_WINDOW + 1):
        for candidate in (line - distance, line + distance):
            if candidate < 1:
                continue
            text = line_text(candidate)
            if text is not None and " ".join(text.split()) == want:
                return candidate
    return line


@dataclass
class ProjectView:
    """What one project's store says, as of ``run_id``."""

    root: Path
    signature: tuple[int, ...] = ()
    run_id: int = -1
    markers: dict[Path, list[Marker]] = field(default_factory=dict)
    uncovered: dict[Path, tuple[int, ...]] = field(default_factory=dict)
    groups: dict[str, Any] = field(default_factory=dict)


def _signature(store: Path) -> tuple[int, ...]:
    out: list[int] = []
    for suffix in ("", "-wal"):
        try:
            st = os.stat(f"{store}{suffix}")
            out += [st.st_mtime_ns, st.st_size]
        except OSError:
            out += [0, 0]
    return tuple(out)


class RuntimeErrors:
    """The server's view of the recorded runs of each workspace project."""

    def __init__(self) -> None:
        self.projects: dict[Path, ProjectView] = {}

    def set_folders(self, folders: Iterable[Path]) -> None:
        from ems.runtime.root import project_root

        roots = {project_root(Path(f)) for f in folders}
        self.projects = {r: self.projects.get(r) or ProjectView(r) for r in roots}

    def store_path(self, root: Path) -> Path:
        from ems.store.db import default_store_path

        return default_store_path(root)

    def poll(self) -> set[Path]:
        """Reload the projects whose store has a new run; the files whose markers changed."""
        changed: set[Path] = set()
        for view in self.projects.values():
            store = self.store_path(view.root)
            signature = _signature(store)
            if signature == view.signature:
                continue
            view.signature = signature
            if not store.exists():
                continue
            try:
                changed |= self._reload(view, store)
            except Exception as exc:  # a busy or newer store must not break the editor
                log.warning("could not read test runs from %s: %s", store, exc)
        return changed

    def _reload(self, view: ProjectView, path: Path, force: bool = False) -> set[Path]:
        from ems.store import testruns as db
        from ems.store.db import Store

        with Store(path, timeout=2.0) as store:
            latest = db.latest_run_id(store)
            if latest == view.run_id and not force:
                return set()
            groups = {g.fingerprint: g for g in db.groups(store, states=db.OPEN_STATES)}
            failures = db.open_failures(store)
            cov_run = db.latest_coverage_run(store)
            uncovered = {
                (view.root / f.path): f.missing
                for f in (db.coverage(store, cov_run) if cov_run else [])
                if f.missing
            }
        before = set(view.markers) | set(view.uncovered)
        view.run_id = latest
        view.groups = groups
        view.markers = {}
        for marker in markers(failures, {fp: g.kind for fp, g in groups.items()}):
            view.markers.setdefault(view.root / marker.path, []).append(marker)
        view.uncovered = uncovered
        after = set(view.markers) | set(view.uncovered)
        log.info("test runs: run %s, %d open groups in %d files", latest, len(groups), len(view.markers))
        return before | after

    def reload_now(self) -> set[Path]:
        """After a re-run this server started: read at once, whatever the stat says."""
        changed: set[Path] = set()
        for view in self.projects.values():
            store = self.store_path(view.root)
            if store.exists():
                view.signature = _signature(store)
                changed |= self._reload(view, store, force=True)
        return changed

    def _view_of(self, path: Path) -> ProjectView | None:
        for root, view in self.projects.items():
            if path == root or root in path.parents:
                return view
        return None

    def markers_at(self, path: Path) -> list[Marker]:
        view = self._view_of(path)
        return view.markers.get(path, []) if view else []

    def diagnostics(
        self, path: Path | None, line_text: Callable[[int], str | None], encoding: str, coverage_hints: bool
    ) -> list[lsp.Diagnostic]:
        """The runtime diagnostics of one file; ``line_text`` gives a 1-based line's text."""
        if path is None:
            return []
        view = self._view_of(path)
        if view is None:
            return []
        out: list[lsp.Diagnostic] = []
        for marker in view.markers.get(path, []):
            line = relocate(marker.line, marker.source_line, line_text)
            text = line_text(line) or ""
            start, end = _columns(marker, text, line == marker.line)
            out.append(
                lsp.Diagnostic(
                    range=lsp.Range(
                        lsp.Position(line - 1, to_units(text, start, encoding)),
                        lsp.Position(line - 1, to_units(text, end, encoding)),
                    ),
                    message=marker.message,
                    severity=lsp.DiagnosticSeverity.Error,
                    source=marker.source,
                    code=marker.fingerprint[:8],
                    related_information=[
                        lsp.DiagnosticRelatedInformation(
                            lsp.Location(
                                from_fs_path(str(view.root / rel)) or (view.root / rel).as_uri(),
                                lsp.Range(lsp.Position(max(n - 1, 0), 0), lsp.Position(max(n - 1, 0), 0)),
                            ),
                            what,
                        )
                        for rel, n, what in marker.related
                    ]
                    or None,
                    data={
                        "fingerprint": marker.fingerprint,
                        "nodeids": list(marker.nodeids),
                        "runtime": True,
                    },
                )
            )
        if coverage_hints:
            for n in view.uncovered.get(path, ()):
                uncovered = line_text(n)
                if uncovered is None or not uncovered.strip():
                    continue
                indent = len(uncovered) - len(uncovered.lstrip())
                out.append(
                    lsp.Diagnostic(
                        range=lsp.Range(
                            lsp.Position(n - 1, to_units(uncovered, indent, encoding)),
                            lsp.Position(n - 1, to_units(uncovered, len(uncovered.rstrip()), encoding)),
                        ),
                        message="not covered by the latest `ems test` run",
                        severity=lsp.DiagnosticSeverity.Hint,
                        source=SOURCE_COVERAGE,
                    )
                )
        return out

    def hover(self, path: Path | None, line: int, line_text: Callable[[int], str | None]) -> str | None:
        """Markdown summary of the groups failing at 1-based ``line`` (where the diagnostic is)."""
        if path is None:
            return None
        view = self._view_of(path)
        if view is None:
            return None
        parts: list[str] = []
        for marker in view.markers.get(path, []):
            if relocate(marker.line, marker.source_line, line_text) != line:
                continue
            group = view.groups.get(marker.fingerprint)
            if group is None:
                continue
            since = f"run {group.first_run_id}"
            if group.first_commit:
                since += f" (commit {group.first_commit[:8]})"
            what = "test" if group.kind == "test" else "command"
            members = "\n".join(f"- `{n}`" for n in marker.nodeids[:MEMBERS_SHOWN])
            more = len(marker.nodeids) - MEMBERS_SHOWN
            parts.append(
                f"**{marker.source}** · group `{group.fingerprint[:8]}` · **{group.state}**\n\n"
                f"`{group.exc_type}: {group.message}`\n\n"
                f"{len(marker.nodeids)} failing {what}{'s' if len(marker.nodeids) != 1 else ''}, "
                f"{group.occurrences} failures in all, since {since}; last seen {group.last_seen}\n\n"
                + members
                + (f"\n- … and {more} more" if more > 0 else "")
            )
        return "\n\n---\n\n".join(parts) or None

    def rerun_actions(self, uri: str, path: Path | None, lines: range) -> list[lsp.Command]:
        """ "Re-run this test" for each ems-test group shown on ``lines`` (1-based).

        A bare ``Command`` rather than a ``CodeAction`` carrying one: lsprotocol (pygls,
        pytest-lsp and every Python client) decodes any result with a ``command`` key as a
        ``Command``, so a CodeAction wrapping one arrives garbled; a Command is read right by all.
        """
        if path is None:
            return []
        view = self._view_of(path)
        if view is None:
            return []
        out: list[lsp.Command] = []
        for marker in view.markers.get(path, []):
            if marker.source != SOURCE_TEST or marker.line not in lines:
                continue
            title = (
                f"Re-run this test ({marker.nodeids[0]})"
                if len(marker.nodeids) == 1
                else f"Re-run these {len(marker.nodeids)} tests"
            )
            out.append(
                lsp.Command(
                    title=title,
                    command=CMD_RERUN,
                    arguments=[{"root": str(view.root), "nodeids": list(marker.nodeids)}],
                )
            )
        return out

    def files(self) -> set[Path]:
        out: set[Path] = set()
        for view in self.projects.values():
            out |= set(view.markers) | set(view.uncovered)
        return out


def _columns(marker: Marker, text: str, same_line: bool) -> tuple[int, int]:
    """The failing expression if known and still there, else the line without its indent."""
    start, end = marker.column, marker.end_column
    if same_line and start is not None and end is not None and start < end <= len(text):
        return start, end
    indent = len(text) - len(text.lstrip())
    return indent, max(indent, len(text.rstrip()))


async def rerun(root: Path, nodeids: list[str]) -> dict[str, Any]:
    """Run the tests (no coverage: a partial run must not replace the coverage shown)."""
    from ems.testing.runner import run_tests

    loop = asyncio.get_running_loop()
    result = await loop.run_in_executor(
        None, lambda: run_tests(root, nodeids, cwd=root, with_coverage=False, stdout=None, stderr=None)
    )
    return {"exitCode": result.exit_code, "run": result.summary.run_id, "summary": result.summary.to_dict()}
