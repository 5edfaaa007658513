"""``ems check``: report findings. Exit 0 clean, 1 findings, 2 usage or internal error."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from ems.cli.common import (
    add_selection_options,
    fail,
    first_missing,
    fix_command,
    input_paths,
    make_resolver,
    progress_bar,
    wants_colour,
)

if TYPE_CHECKING:
    from ems.runtime.longrun import FileRate

FORMATS = (
    "text",
    "full",  # ruff's name for text with source excerpts
    "concise",  # ruff's name for text without them (--no-source)
    "grouped",
    "json",
    "json-lines",
    "sarif",
    "github",
    "gitlab",
    "junit",
    "azure",
    "pylint",
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("check", help="report findings in Python files")
    add_selection_options(parser)
    parser.add_argument(
        "--format",
        "--output-format",  # ruff's name for it
        dest="format",
        choices=FORMATS,
        default="text",
        help="report format (see docs/user/cli.md)",
    )
    parser.add_argument("--output-file", "-o", metavar="FILE", help="write the report here instead of stdout")
    parser.add_argument(
        "--statistics",
        action="store_true",
        help="count findings per rule (text: after the findings; json: instead of them)",
    )
    parser.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")
    parser.add_argument(
        "--no-source", action="store_true", help="text format: no source excerpt under each finding"
    )
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    parser.add_argument(
        "--record", action="store_true", help="record this scan in the project store (.ems/ems.db)"
    )
    parser.add_argument(
        "--new-since",
        metavar="REF",
        help="report only findings not present at git REF (branch, tag, commit), compared by fingerprint",
    )
    parser.add_argument(
        "--watch",
        "-w",
        action="store_true",
        help="check again whenever a Python or config file changes (Ctrl-C stops)",
    )
    parser.add_argument(
        "--add-noqa",
        action="store_true",
        help="add `# noqa: CODE` comments silencing every finding reported (adopting ems on existing code)",
    )
    parser.add_argument(
        "--fix", action="store_true", help="apply the fixes `ems fix` would, then report what remains"
    )
    parser.add_argument(
        "--exit-non-zero-on-fix",
        action="store_true",
        help="with --fix: exit 1 when anything was fixed, even if nothing remains",
    )
    parser.add_argument(
        "--unsafe-fixes",
        action="store_true",
        help="count (and with --fix apply) fixes that may change behaviour as fixable",
    )
    parser.add_argument(
        "--show-files", action="store_true", help="list the files the check would analyse, and stop"
    )
    parser.add_argument(
        "--show-settings",
        action="store_true",
        help="print the settings that apply to the first PATH (text or --format json), and stop",
    )
    parser.set_defaults(run=run)


_exit_hook = False

CLEAR_SCREEN = "\x1b[2J\x1b[H"


def run(args: argparse.Namespace) -> int:
    if args.format in ("full", "concise"):  # ruff's names for the text format's two shapes
        args.no_source = args.no_source or args.format == "concise"
        args.format = "text"
    if args.statistics and args.format not in ("text", "json"):
        return fail("--statistics works with --format text or json")
    if args.add_noqa and (args.watch or args.paths == ["-"]):
        return fail("--add-noqa needs files or folders, and cannot be combined with --watch")
    if args.add_noqa and args.ignore_noqa:
        return fail("--add-noqa cannot be combined with --ignore-noqa (it would add a noqa already there)")
    if args.fix and (args.add_noqa or args.new_since or args.paths == ["-"]):
        return fail(
            "--fix needs files or folders (`ems fix -` fixes stdin), without --add-noqa or --new-since"
        )
    if args.exit_non_zero_on_fix and not args.fix:
        return fail("--exit-non-zero-on-fix needs --fix")
    if args.show_files or args.show_settings:
        return _show(args)
    if args.watch:
        return _watch(args)
    return _check_once(args)


def _show(args: argparse.Namespace) -> int:
    from ems.cli.show import show_files, show_settings
    from ems.core.config import ConfigError
    from ems.core.registry import RegistryError, lazy_rules

    if args.paths == ["-"]:
        return fail("--show-files and --show-settings need files or folders")
    try:
        ruleset = lazy_rules()
        resolver = make_resolver(args, ruleset, unsafe_fixes=args.unsafe_fixes or None)
        if args.show_settings:
            return show_settings(args, resolver, ruleset)
        return show_files(args, resolver)
    except (ConfigError, RegistryError) as exc:
        return fail(str(exc))


def _watch(args: argparse.Namespace) -> int:
    """Check, then check again after each batch of changes: the cache makes each run cost
    what changed. Ctrl-C ends the watch (exit 0: stopping is how a watch ends)."""
    from datetime import datetime

    from ems.runtime.watch import change_batches, watch_targets

    if args.paths == ["-"]:
        return fail("--watch needs files or folders, not stdin")
    paths = input_paths(args)
    missing = first_missing(paths)
    if missing is not None:
        return fail(f"no such file or directory: {missing}")
    targets = watch_targets(paths)
    clear = sys.stdout.isatty() and not args.output_file
    try:
        _check_once(args)
        for changed in change_batches(targets.roots, targets.concerns, ready=lambda: _say_watching(args)):
            if clear:
                sys.stdout.write(CLEAR_SCREEN)
            moment = datetime.now().strftime("%H:%M:%S")
            noun = "file" if len(changed) == 1 else "files"
            _say(args, f"[{moment}] {len(changed)} {noun} changed, checking again")
            _check_once(args)
            _say_watching(args)
    except KeyboardInterrupt:
        pass
    return 0


def _say_watching(args: argparse.Namespace) -> None:
    _say(args, "Watching for changes (Ctrl-C to stop).")


def _say(args: argparse.Namespace, line: str) -> None:
    """A watch status line: on stderr, so stdout (or ``-o``) carries reports only."""
    if not args.quiet:
        print(line, file=sys.stderr, flush=True)


def _check_once(args: argparse.Namespace) -> int:
    import gc

    global _exit_hook
    if not _exit_hook:
        # The interpreter's last act is a full collection over every object still alive
        # that finds nothing to free:
        # a process about to end has no use for it. Frozen objects are skipped.
        import atexit

        atexit.register(gc.freeze)
        _exit_hook = True
    # A run builds several objects per finding and nothing with cycles worth collecting:
    # with the default thresholds the collector would walk every module and finding
    # again and again (half of decoding time on the standard library). The pool workers
    # do the same in ``ems.runtime.scan``. Restored on return for in-process callers.
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(thresholds[0], 50_000), *thresholds[1:])
    from ems.runtime.longrun import FileRate, monitored_if_long

    rate = FileRate()  # files per second on the Monitor page, if the run lasts
    try:
        with monitored_if_long(list(getattr(args, "paths", None) or ["."]), "check", rate=rate):
            return _run(args, rate)
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def _run(args: argparse.Namespace, rate: FileRate | None = None) -> int:
    from time import perf_counter

    from ems.core.config import ConfigError
    from ems.core.registry import RegistryError, lazy_rules
    from ems.gitinfo.scans import ServiceError

    started = perf_counter()

    try:
        # Rules are imported only if a file needs analysing (or a selector is checked):
        # a warm run that prints cached results needs only the rule set's fingerprint.
        ruleset = lazy_rules()
        resolver = make_resolver(args, ruleset, unsafe_fixes=args.unsafe_fixes or None)
        write_failed, fixed = _fix_first(args, resolver, ruleset) if args.fix else (False, 0)
        results, blocks = _collect(args, resolver, ruleset, rate)
        if args.record:
            _record(args, results, resolver, perf_counter() - started)
        if args.new_since:
            from ems.gitinfo.scans import filter_new_since

            try:
                results = filter_new_since(_root(args), results, args.new_since)
            except ServiceError as exc:
                raise ServiceError(f"--new-since: {exc}") from None
    except (ConfigError, RegistryError, UsageError, ServiceError) as exc:
        return fail(str(exc))
    if args.add_noqa:
        from ems.cli.add_noqa import add_noqa

        return add_noqa(results, args.quiet)
    code = _report(args, results, resolver, ruleset, blocks)
    if write_failed:
        return 2
    return 1 if code == 0 and fixed and args.exit_non_zero_on_fix and not args.exit_zero else code


def _fix_first(args: argparse.Namespace, resolver, ruleset) -> tuple[bool, int]:
    """``--fix``: apply the fixes, saying what was fixed on stderr (stdout is the report);
    whether a file could not be written, and how many findings were fixed."""
    from ems.cli.fix import fix_in_place

    done = fix_in_place(args, resolver, ruleset)
    lines = list(done.messages)
    if not args.quiet:
        lines.append(
            f"Fixed {done.fixes} finding{'s' if done.fixes != 1 else ''} in {done.files} "
            f"file{'s' if done.files != 1 else ''}."
        )
    if lines:
        sys.stderr.write("\n".join(lines) + "\n")
        sys.stderr.flush()
    return done.write_failed, done.fixes


def _root(args: argparse.Namespace):
    """The project root of this run (where ``.ems/`` is): from the checked paths."""
    from ems.runtime.root import scan_root

    return scan_root([] if args.paths == ["-"] else input_paths(args))


def _record(args: argparse.Namespace, results, resolver, duration_s: float) -> None:
    """``--record``: every finding of the scan, before ``--new-since`` filters them.

    Counts the lines of the files (the health rating is per 1,000 lines): one read of
    each file, paid only with ``--record``."""
    from ems.gitinfo.churn import line_count
    from ems.gitinfo.scans import ServiceError, record_scan

    root = _root(args)
    try:
        record_scan(
            root,
            [r.report for r in results],
            config_hash=resolver.for_folder(root).fingerprint(),
            duration_s=duration_s,
            source="check",
            lines=sum(line_count(r.path) for r in results),
        )
    except ServiceError as exc:
        raise ServiceError(f"--record: {exc}") from None


def _collect(
    args: argparse.Namespace, resolver, ruleset, rate: FileRate | None = None
) -> tuple[list, list[str] | None]:
    """The results in file order and, for text output, each one's rendered text.

    Text is rendered as each result arrives: cached results first, while changed files
    are still being analysed in the background (``scan_as_ready``). Each file's text is
    kept in its cache row (a ``View``), so a warm run prints it without decoding it.
    Not with ``--new-since``: the findings shown are filtered after the scan.
    """

    from ems.cli.formats import TextRenderer
    from ems.runtime.scan import FileResult, View, scan_as_ready

    # SARIF computes fixes from the bytes; text output needs only the findings' lines,
    # which cached rows carry (a warm run then reads no file).
    keep_source = args.format == "sarif" or args.add_noqa  # --add-noqa edits the bytes checked
    keep_excerpts = args.format == "text" and not args.no_source and not args.add_noqa
    if args.paths == ["-"]:
        from ems.core.analyse import analyse

        name = args.stdin_filename or "<stdin>"
        data = sys.stdin.buffer.read()
        config = resolver.for_path(Path(name) if args.stdin_filename else Path.cwd() / "stdin.py")
        if args.stdin_filename and config.skips_named(name):
            return [], None  # excluded, as the file itself would be: nothing to report
        from ems.runtime.scan import with_fixability

        report = with_fixability(data, analyse(data, name, config, ruleset), config, ruleset)
        return [FileResult(Path(name), name, report, data if keep_source or keep_excerpts else None)], None
    paths = input_paths(args)
    missing = first_missing(paths)
    if missing is not None:
        raise UsageError(f"no such file or directory: {missing}")
    progress = progress_bar(not args.quiet)
    renderer = view = None
    if args.format == "text" and not args.new_since and not args.add_noqa:
        colour = _text_colour(args)
        renderer = TextRenderer(colour=colour, show_source=not args.no_source)
        # Kept per renderer (its key covers colour and --no-source): a terminal run and a
        # piped one each find their own rendering. Without the cache nothing would keep
        # it: each block is rendered once, below.
        view = View(renderer.view_key, renderer.view) if not args.no_cache else None
    results: dict[int, FileResult] = {}
    blocks: dict[int, str] = {}
    for index, result, total in scan_as_ready(
        paths,
        resolver,
        ruleset=ruleset,
        jobs=args.jobs,
        use_cache=not args.no_cache,
        keep_source=keep_source,
        keep_excerpts=keep_excerpts,
        view=view,
    ):
        results[index] = result
        if rate is not None:
            rate.done = len(results)
        if renderer is not None:
            blocks[index] = renderer.block(result)
        if progress:
            progress(len(results), total)
    ordered = range(len(results))
    return [results[i] for i in ordered], [blocks[i] for i in ordered] if renderer is not None else None


def _text_colour(args: argparse.Namespace) -> bool:
    """Whether text output is coloured: a terminal (or --color always), never a file."""
    return wants_colour(sys.stdout, args.color) and not args.output_file


class UsageError(Exception):
    """Bad command-line input: exit code 2."""


def _write_report_file(target: Path, pieces: Iterable[str]) -> None:
    """Write the report atomically: a run that fails half-way leaves the previous one whole.
    A target that is not a regular file (``/dev/stdout``, ``/dev/null``, a pipe) is written
    to in place: renaming over it would replace the device."""
    import io
    import stat

    from ems.cli.formats import write_pieces
    from ems.fixes.apply import write_atomically

    try:
        special = not stat.S_ISREG(target.stat().st_mode)
    except FileNotFoundError:
        special = False
    if special:
        with open(target, "w", encoding="utf-8") as stream:
            write_pieces(stream, pieces)
        return

    def fill(handle: BinaryIO) -> None:
        text = io.TextIOWrapper(handle, encoding="utf-8")
        write_pieces(text, pieces)
        text.flush()
        text.detach()  # the handle stays open for write_atomically's fsync

    write_atomically(target, fill)


def _report(args: argparse.Namespace, results, resolver, ruleset, blocks: list[str] | None = None) -> int:
    from ems.cli import formats

    counts = formats.count_findings(results)  # from views where there are: nothing decoded
    pieces: Iterable[str]
    if args.statistics and args.format == "json":
        pieces = formats.render_statistics_json(results, ruleset)
    elif args.format in ("json", "json-lines"):
        from ems.gitinfo.scans import introduced_enricher

        render = formats.render_json if args.format == "json" else formats.render_json_lines
        pieces = render(results, ruleset, introduced_enricher(_root(args), results))
    elif args.format == "sarif":
        from ems.cli.sarif import render_sarif

        pieces = render_sarif(results, ruleset, resolver)
    elif args.format == "github":
        pieces = [formats.render_github(results, ruleset)]
    elif args.format == "grouped":
        text = formats.render_grouped(results)
        if not args.quiet:
            text += formats.render_summary(counts, len(results), colour=False, fix_command=fix_command(args))
        pieces = [text]
    elif args.format in ("gitlab", "junit", "azure", "pylint"):
        from ems.cli import ci_formats

        pieces = {
            "gitlab": ci_formats.render_gitlab,
            "junit": ci_formats.render_junit,
            "azure": ci_formats.render_azure,
            "pylint": ci_formats.render_pylint,
        }[args.format](results)
    else:
        colour = _text_colour(args)
        if blocks is not None:
            text = "".join(blocks)
        else:
            text = formats.render_text(results, colour=colour, show_source=not args.no_source)
        if args.statistics:
            text = (
                formats.render_statistics(results, ruleset)
                if not text
                else text + "\n" + formats.render_statistics(results, ruleset)
            )
        if not args.quiet:
            summary = formats.render_summary(
                counts, len(results), colour=colour, fix_command=fix_command(args)
            )
            text += ("\n" if text else "") + summary
        pieces = [text]
    if args.output_file:
        try:
            _write_report_file(Path(args.output_file), pieces)
        except OSError as exc:
            return fail(f"cannot write the report to {args.output_file}: {exc.strerror or exc}")
    else:
        formats.write_pieces(sys.stdout, pieces)
        sys.stdout.flush()
    if args.exit_zero:
        return 0
    total = counts[0]
    return 1 if total else 0
