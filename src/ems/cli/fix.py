"""``ems fix``: apply verified fixes, atomically, never to a file that changed meanwhile."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ems.cli.common import (
    add_selection_options,
    fail,
    first_missing,
    input_paths,
    make_resolver,
    progress_bar,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ems.core.config import ConfigResolver
    from ems.core.model import Finding, Report
    from ems.core.registry import RuleSet
    from ems.runtime.events import EventBus


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("fix", help="apply fixes to Python files")
    add_selection_options(parser)
    parser.add_argument(
        "--unsafe-fixes", action="store_true", help="also apply fixes that may change behaviour"
    )
    parser.add_argument(
        "--exit-non-zero-on-fix",
        action="store_true",
        help="exit 1 when anything was fixed, even if nothing remains (CI, pre-commit)",
    )
    parser.add_argument("--diff", action="store_true", help="print a unified diff instead of writing files")
    parser.add_argument("--dry-run", action="store_true", help="report what would change; write nothing")
    parser.add_argument(
        "--commit",
        action="store_true",
        help="commit the fixed files (refused if they have uncommitted changes); message lists rules and files",
    )
    parser.add_argument("--branch", metavar="NAME", help="with --commit: commit on a new branch NAME")
    parser.set_defaults(run=run)


@dataclass(frozen=True)
class FileOutcome:
    display: str
    original: bytes
    new: bytes | None  # None: nothing to change
    applied: tuple[tuple[str, str], ...]
    failures: tuple[str, ...]
    remaining: int
    error: str | None = None
    why_not: str | None = None  # for a file left unchanged with findings: why nothing was fixed
    hidden: int = 0  # findings only ``--unsafe-fixes`` would fix


def run(args: argparse.Namespace) -> int:
    from ems.core.config import ConfigError
    from ems.core.registry import RegistryError, lazy_rules
    from ems.fixes.project import fix_paths

    try:
        # Rules are imported only when a file needs analysing or fixing: with a warm cache
        # that says nothing is fixable, ``ems fix`` costs what a warm ``ems check`` costs.
        ruleset = lazy_rules()
        resolver = make_resolver(args, ruleset, unsafe_fixes=args.unsafe_fixes or None)
    except (ConfigError, RegistryError) as exc:
        return fail(str(exc))
    if args.paths == ["-"]:
        if args.commit:
            return fail("--commit needs files, not standard input")
        return _fix_stdin(args, resolver, ruleset)
    paths = input_paths(args)
    missing = first_missing(paths)
    if missing is not None:
        return fail(f"no such file or directory: {missing}")
    progress = progress_bar(not args.quiet, "fixing")
    try:
        # Parallel and cached: a scan picks the files with fixable findings, workers fix them.
        outcomes = [
            _outcome(f)
            for f in fix_paths(
                paths,
                resolver,
                ruleset=ruleset,
                jobs=args.jobs,
                use_cache=not args.no_cache,
                progress=progress,
            )
        ]
    except (ConfigError, RegistryError) as exc:
        return fail(str(exc))
    from ems.gitinfo.fixcommit import finish_fix_commit, prepare_fix_commit
    from ems.gitinfo.scans import ServiceError
    from ems.runtime.events import EventBus
    from ems.runtime.root import scan_root

    bus = EventBus()  # the CLI has no listeners of its own; services publish to it
    changing = {path for path, outcome in outcomes if outcome.new is not None}
    try:
        if args.commit and (args.diff or args.dry_run):
            raise ServiceError("--commit cannot be combined with --diff or --dry-run")
        committer = prepare_fix_commit(
            scan_root(paths),
            commit=args.commit,
            branch=args.branch,
            files=[path for path, _ in outcomes],
            would_change=changing.__contains__,
        )
    except ServiceError as exc:
        return fail(str(exc))
    out: list[str] = []
    errors: list[str] = []
    fixed_files = fixes = remaining = hidden = 0
    write_failed = False  # a file could not be written: exit 2
    for path, outcome in outcomes:
        remaining += outcome.remaining
        errors.extend(outcome.failures)
        if outcome.error:
            errors.append(outcome.error)
            write_failed = write_failed or _unwritten(outcome.error)
        hidden += outcome.hidden
        if outcome.new is None:
            if outcome.why_not and (args.diff or args.dry_run) and not outcome.failures:
                errors.append(f"{outcome.display}: nothing fixed: {outcome.why_not}")
            continue
        if args.diff:
            out.append(_diff(outcome))
        elif args.dry_run:
            out.append(f"would fix {len(outcome.applied)} in {outcome.display}")
        else:
            error = write_fixed(path, outcome, bus)
            if error is not None:
                errors.append(error)
                write_failed = True
                continue
            if committer is not None:
                committer.add(path, outcome.applied)
            if not args.quiet:
                out.append(f"fixed {len(outcome.applied)} in {outcome.display}")
        fixed_files += 1
        fixes += len(outcome.applied)
    if not args.quiet and not args.diff:
        verb = "Would fix" if args.dry_run else "Fixed"
        more = f" ({hidden} fixable with --unsafe-fixes)" if hidden and not args.unsafe_fixes else ""
        out.append(
            f"{verb} {fixes} finding{'s' if fixes != 1 else ''} in {fixed_files} file{'s' if fixed_files != 1 else ''}; {remaining} remaining{more}."
        )
    commit_line, commit_error = finish_fix_commit(committer)
    out.extend([commit_line] if commit_line and not args.quiet else [])
    errors.extend([commit_error] if commit_error else [])
    if out:
        sys.stdout.write("\n".join(out) + "\n")
    if errors:
        sys.stderr.write("\n".join(errors) + "\n")
    if committer is not None and committer.error:
        return 2
    if write_failed:
        return 2
    if args.diff or args.dry_run:
        return 1 if fixed_files or remaining else 0
    return 1 if remaining or (args.exit_non_zero_on_fix and fixes) else 0


def write_fixed(path: Path, outcome: FileOutcome, bus: EventBus) -> str | None:
    """Write ``outcome``'s fixed bytes atomically, unless the file changed since it was
    read; announce the fix. The error to report, or None."""
    from ems.fixes import FileChanged, atomic_write
    from ems.runtime.events import FixApplied

    assert outcome.new is not None
    try:
        atomic_write(path, outcome.new, expected=outcome.original)
    except (FileChanged, OSError) as exc:
        return str(exc)
    bus.publish(FixApplied(outcome.display, tuple(code for code, _ in outcome.applied)))
    return None


@dataclass(frozen=True)
class InPlace:
    """What ``fix_in_place`` did."""

    fixes: int
    files: int
    messages: tuple[str, ...]  # dropped fixes and files not written, for stderr
    write_failed: bool  # a file could not be written (``ems fix`` exits 2 for it too)


def fix_in_place(args: argparse.Namespace, resolver: ConfigResolver, ruleset: RuleSet) -> InPlace:
    """Fix and write every file under ``args.paths``, as ``ems fix`` does without
    ``--diff``/``--dry-run``/``--commit`` (``ems check --fix``). Raises ConfigError and
    RegistryError as the scan does."""
    from ems.fixes.project import fix_paths
    from ems.runtime.events import EventBus

    bus = EventBus()
    fixes = files = 0
    errors: list[str] = []
    write_failed = False
    found = fix_paths(
        input_paths(args),
        resolver,
        ruleset=ruleset,
        jobs=args.jobs,
        use_cache=not args.no_cache,
        progress=progress_bar(not args.quiet, "fixing"),
    )
    for path, outcome in (_outcome(f) for f in found):
        errors.extend(outcome.failures)
        if outcome.error:
            errors.append(outcome.error)
            write_failed = write_failed or _unwritten(outcome.error)
        if outcome.new is None:
            continue
        error = write_fixed(path, outcome, bus)
        if error is not None:
            errors.append(error)
            write_failed = True
            continue
        fixes += len(outcome.applied)
        files += 1
    return InPlace(fixes, files, tuple(errors), write_failed)


def _unwritten(error: str) -> bool:
    """Whether a file's error means it could not be read or written (exit 2), not that a
    fix was dropped."""
    return "not written" in error or "cannot read" in error


def _outcome(fixed) -> tuple[Path, FileOutcome]:
    """The CLI's view of one file's fix result (from ``ems.fixes.project.fix_paths``)."""
    from ems.core.model import Fixability

    result = fixed.result
    failures = (
        tuple(
            f"{fixed.display}:{f.line}: {f.code} fix dropped: {f.reason}"
            if f.code
            else f"{fixed.display}: {f.reason}"
            for f in result.failures
        )
        if result
        else ()
    )
    error = fixed.error
    if error is None and fixed.report.syntax_error and fixed.report.findings and _is_io_error(fixed.report):
        # Unreadable (a symlink loop, a dangling link, no permission): a finding that
        # stays, as ``ems check`` reports it, not a failure of the run.
        failures = (f"{fixed.display}:1:1: E902 {fixed.report.findings[0].message}",)
    hidden = [f.code for f in fixed.report.findings if f.fixability is Fixability.HIDDEN]
    return fixed.path, FileOutcome(
        fixed.display,
        fixed.original or b"",
        fixed.new,
        result.applied if (result and fixed.new is not None) else (),
        failures,
        len(fixed.remaining),
        error,
        _why_not(fixed.report.findings, fixed.unsafe) if fixed.new is None and fixed.remaining else None,
        0 if fixed.unsafe else len(hidden),
    )


def _is_io_error(report: Report) -> bool:
    from ems.rules.e902_io_error import IOErrorRule

    return bool(report.findings[0].code == IOErrorRule.code)


def _why_not(findings: Sequence[Finding], unsafe: bool) -> str:
    """Why ``ems fix`` changed nothing in a file with findings, from their fixability."""
    from ems.core.model import Fixability

    hidden = sorted({f.code for f in findings if f.fixability is Fixability.HIDDEN})
    none = sorted({f.code for f in findings if f.fixability is None})
    reasons = []
    if hidden and not unsafe:
        reasons.append(f"the fixes for {', '.join(hidden)} are unsafe: add --unsafe-fixes")
    if none:
        reasons.append(f"no automatic fix for {', '.join(none)}")
    return "; ".join(reasons) or "no fix verified"


def _diff(outcome: FileOutcome) -> str:
    import difflib

    old = outcome.original.decode("utf-8", errors="replace").splitlines(keepends=True)
    new = (outcome.new or b"").decode("utf-8", errors="replace").splitlines(keepends=True)
    name = outcome.display.lstrip("/")
    return "".join(difflib.unified_diff(old, new, f"a/{name}", f"b/{name}"))


def _fix_stdin(args: argparse.Namespace, resolver, ruleset) -> int:
    from ems.core.source import UndecodableSource, decode_source, encode_source
    from ems.fixes import fix_all

    name = args.stdin_filename or "<stdin>"
    data = sys.stdin.buffer.read()
    try:
        decoded = decode_source(data)
    except UndecodableSource as exc:
        sys.stdout.buffer.write(data)
        return fail(f"{name}: not fixed: {exc}")
    config = resolver.for_path(Path(name) if args.stdin_filename else Path.cwd() / "stdin.py")
    if args.stdin_filename and config.skips_named(name):
        sys.stdout.buffer.write(data)  # excluded: passed through unchanged, as ruff does
        return 0
    result = fix_all(decoded.text, name, config, unsafe=config.unsafe_fixes, ruleset=ruleset)
    sys.stdout.buffer.write(encode_source(result.text, decoded.encoding, decoded.bom))
    sys.stdout.flush()
    return 1 if result.remaining or (args.exit_non_zero_on_fix and result.applied) else 0
