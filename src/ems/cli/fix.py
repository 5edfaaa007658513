"""``ems fix``: apply verified fixes, atomically, never to a file that changed meanwhile."""

from __future__ import annotations

import argparse
import difflib
import sys
from dataclasses import dataclass
from pathlib import Path

from ems.cli.common import add_selection_options, fail, input_paths, make_resolver, progress_bar


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("fix", help="apply fixes to Python files")
    add_selection_options(parser)
    parser.add_argument("--unsafe-fixes", action="store_true", help="also apply fixes that may change behaviour")
    parser.add_argument("--diff", action="store_true", help="print a unified diff instead of writing files")
    parser.add_argument("--dry-run", action="store_true", help="report what would change; write nothing")
    from ems.gitinfo.hooks import add_fix_options  # --commit, --branch

    add_fix_options(parser)
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


def fix_file(path: Path, display: str, config, ruleset, unsafe: bool) -> FileOutcome:  # noqa: ANN001
    """Fix one file in memory; the caller decides whether to write."""
    from ems.core.project import read_source
    from ems.core.source import UndecodableSource, decode_source, encode_source
    from ems.fixes import fix_all

    data = read_source(path)
    if isinstance(data, str):
        return FileOutcome(display, b"", None, (), (), 0, data)
    try:
        decoded = decode_source(data)
    except UndecodableSource as exc:
        return FileOutcome(display, data, None, (), (), 0, f"{display}: not fixed: {exc}")
    result = fix_all(decoded.text, display, config, unsafe=unsafe, ruleset=ruleset)
    failures = tuple(f"{display}:{f.line}: {f.code} fix dropped: {f.reason}" for f in result.failures)
    if not result.changed:
        return FileOutcome(display, data, None, (), failures, len(result.remaining))
    try:
        new = encode_source(result.text, decoded.encoding, decoded.bom)
    except UnicodeEncodeError:
        return FileOutcome(display, data, None, (), failures, len(result.remaining), f"{display}: fixed text cannot be encoded as {decoded.encoding}; not written")
    return FileOutcome(display, data, new, result.applied, failures, len(result.remaining))


def run(args: argparse.Namespace) -> int:
    from ems.core.config import ConfigError
    from ems.core.project import discover, display_path
    from ems.core.registry import RegistryError, load_rules
    from ems.fixes import FileChanged, atomic_write

    try:
        ruleset = load_rules()
        resolver = make_resolver(args, ruleset, unsafe_fixes=args.unsafe_fixes or None)
    except (ConfigError, RegistryError) as exc:
        return fail(str(exc))
    if args.paths == ["-"]:
        if args.commit:
            return fail("--commit needs files, not standard input")
        return _fix_stdin(args, resolver, ruleset)
    paths = input_paths(args)
    missing = [p for p in paths if not p.exists()]
    if missing:
        return fail(f"no such file or directory: {missing[0]}")
    try:
        files = list(discover(paths, resolver))
    except ConfigError as exc:
        return fail(str(exc))
    from ems.gitinfo.hooks import HookError, finish_fix_commit, prepare_fix_commit

    def would_change(p: Path) -> bool:
        config = resolver.for_path(p)
        return fix_file(p, display_path(p), config, ruleset, config.unsafe_fixes).new is not None

    try:
        committer = prepare_fix_commit(args, files, would_change)  # refuses dirty targets up front
    except HookError as exc:
        return fail(str(exc))
    progress = progress_bar(not args.quiet, "fixing")
    out: list[str] = []
    errors: list[str] = []
    fixed_files = fixes = remaining = 0
    for done, path in enumerate(files, 1):
        config = resolver.for_path(path)
        outcome = fix_file(path, display_path(path), config, ruleset, config.unsafe_fixes)
        if progress:
            progress(done, len(files))
        remaining += outcome.remaining
        errors.extend(outcome.failures)
        if outcome.error:
            errors.append(outcome.error)
        if outcome.new is None:
            continue
        fixed_files += 1
        fixes += len(outcome.applied)
        if args.diff:
            out.append(_diff(outcome))
        elif args.dry_run:
            out.append(f"would fix {len(outcome.applied)} in {outcome.display}")
        else:
            try:
                atomic_write(path, outcome.new, expected=outcome.original)
            except (FileChanged, OSError) as exc:
                errors.append(str(exc))
                fixed_files -= 1
                fixes -= len(outcome.applied)
                continue
            if committer is not None:
                committer.add(path, outcome.applied)
            if not args.quiet:
                out.append(f"fixed {len(outcome.applied)} in {outcome.display}")
    if not args.quiet and not args.diff:
        verb = "Would fix" if args.dry_run else "Fixed"
        out.append(f"{verb} {fixes} finding{'s' if fixes != 1 else ''} in {fixed_files} file{'s' if fixed_files != 1 else ''}; {remaining} remaining.")
    commit_line, commit_error = finish_fix_commit(committer)
    out.extend([commit_line] if commit_line and not args.quiet else [])
    errors.extend([commit_error] if commit_error else [])
    if out:
        sys.stdout.write("\n".join(out) + "\n")
    if errors:
        sys.stderr.write("\n".join(errors) + "\n")
    if committer is not None and committer.error:
        return 2
    if any(e for e in errors if "not written" in e or "changed on disk" in e or "cannot read" in e):
        return 2
    if args.diff or args.dry_run:
        return 1 if fixed_files or remaining else 0
    return 1 if remaining else 0


def _diff(outcome: FileOutcome) -> str:
    old = outcome.original.decode("utf-8", errors="replace").splitlines(keepends=True)
    new = (outcome.new or b"").decode("utf-8", errors="replace").splitlines(keepends=True)
    name = outcome.display.lstrip("/")
    return "".join(difflib.unified_diff(old, new, f"a/{name}", f"b/{name}"))


def _fix_stdin(args: argparse.Namespace, resolver, ruleset) -> int:  # noqa: ANN001
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
    result = fix_all(decoded.text, name, config, unsafe=config.unsafe_fixes, ruleset=ruleset)
    sys.stdout.buffer.write(encode_source(result.text, decoded.encoding, decoded.bom))
    sys.stdout.flush()
    return 1 if result.remaining else 0
