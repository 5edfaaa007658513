"""Options and set-up shared by the commands that analyse files."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ems.core.config import ConfigError, ConfigResolver, LazyCodes, validate_selectors

if TYPE_CHECKING:
    from ems.core.registry import RuleSet


def codes_arg(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def patterns_arg(value: str) -> list[str]:
    """Comma-separated globs; empty items dropped (``--exclude ''`` clears the list)."""
    return [p.strip() for p in value.split(",") if p.strip()]


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {number}")
    return number


def add_selection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="*", default=None, metavar="PATH", help="files or folders (default: .); - reads stdin"
    )
    parser.add_argument(
        "--select",
        type=codes_arg,
        metavar="CODES",
        help="only these rule codes or prefixes (comma-separated)",
    )
    parser.add_argument("--extend-select", type=codes_arg, metavar="CODES", help="add these to the selection")
    parser.add_argument("--ignore", type=codes_arg, metavar="CODES", help="skip these rule codes or prefixes")
    parser.add_argument(
        "--force-exclude",
        action="store_true",
        help="leave out files named on the command line that exclude/extend-exclude match (pre-commit)",
    )
    parser.add_argument(
        "--fixable", type=codes_arg, metavar="CODES", help="only these rules' fixes may be applied"
    )
    parser.add_argument(
        "--extend-fixable", type=codes_arg, metavar="CODES", help="add these to the fixable rules"
    )
    parser.add_argument(
        "--unfixable",
        type=codes_arg,
        metavar="CODES",
        help="report these rules but never apply their fixes",
    )
    parser.add_argument(
        "--ignore-noqa",
        action="store_true",
        help="read `# noqa`, `# ems: ignore` and `# ems: skip-file` as plain comments: "
        "report what they suppress (the setting ignore-noqa)",
    )
    parser.add_argument(
        "--config",
        action="append",
        metavar="FILE|KEY=VALUE",
        help="use this ems.toml/pyproject.toml for every file, or override one setting "
        "(TOML, e.g. 'ignore = [\"F401\"]'; repeatable)",
    )
    parser.add_argument(
        "--isolated",
        action="store_true",
        help="read no settings file: the defaults and these options only",
    )
    parser.add_argument(
        "--exclude",
        type=patterns_arg,
        metavar="PATTERNS",
        help="leave out these files or folders (comma-separated globs; replaces the setting)",
    )
    parser.add_argument(
        "--extend-exclude",
        type=patterns_arg,
        metavar="PATTERNS",
        help="leave these out too (comma-separated globs)",
    )
    parser.add_argument(
        "--respect-gitignore",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="leave out what .gitignore files ignore (default: the setting, on)",
    )
    parser.add_argument(
        "--stdin-filename",
        metavar="PATH",
        help="the name of the file read from stdin (for config and output)",
    )
    parser.add_argument(
        "--no-cache", action="store_true", help="do not read or write the result cache (in .ems/ems.db)"
    )
    parser.add_argument(
        "--jobs",
        "-j",
        type=positive_int,
        default=None,
        metavar="N",
        help="processes analysing at once, ems itself being one (default: all cores)",
    )
    parser.add_argument(
        "--quiet", "-q", action="store_true", help="print findings only, no summary or progress"
    )


def add_recorded_run_options(parser: argparse.ArgumentParser) -> None:
    """``--format`` and ``--store``: ``ems test`` and ``ems run`` record a run and print its
    failure groups the same way."""
    parser.add_argument("--format", choices=("text", "json"), default="text", help="summary format")
    parser.add_argument("--store", type=Path, metavar="FILE", help="store file (default: ROOT/.ems/ems.db)")


def recorded_run_command(args: argparse.Namespace) -> tuple[Path, list[str], bool]:
    """The project root (from the working directory), the passed-through arguments (after
    ems's options or ``--``) and whether the summary is JSON."""
    from ems.runtime.root import project_root

    return project_root(Path.cwd()), list(getattr(args, "passthrough", [])), args.format == "json"


def make_resolver(
    args: argparse.Namespace, ruleset: RuleSet, unsafe_fixes: bool | None = None
) -> ConfigResolver:
    """A resolver applying command-line overrides; raises ConfigError for bad codes."""
    overrides: dict[str, object] = {}
    codes = LazyCodes(lambda: ruleset.codes)  # imports the rules only if a selector needs them
    if args.select is not None:
        overrides["select"] = validate_selectors(args.select, codes, "--select")
    if args.extend_select is not None:
        overrides["extend_select"] = validate_selectors(args.extend_select, codes, "--extend-select")
    if args.ignore is not None:
        overrides["ignore"] = validate_selectors(args.ignore, codes, "--ignore")
    for option in ("fixable", "extend_fixable", "unfixable"):
        value = getattr(args, option, None)
        if value is not None:
            overrides[option] = validate_selectors(value, codes, "--" + option.replace("_", "-"))
    if unsafe_fixes:
        overrides["unsafe_fixes"] = True
    if getattr(args, "force_exclude", False):
        overrides["force_exclude"] = True
    if getattr(args, "ignore_noqa", False):
        overrides["ignore_noqa"] = True
    for option in ("exclude", "extend_exclude", "respect_gitignore"):
        value = getattr(args, option, None)
        if value is not None:
            overrides[option] = value
    isolated = bool(getattr(args, "isolated", False))
    explicit, settings = _config_options(args.config or [], codes, isolated)
    extra_ignore = settings.pop("extend_ignore", None)
    if extra_ignore is not None:
        overrides["ignore"] = (*overrides.get("ignore", ()), *extra_ignore)  # type: ignore[misc]
    resolver = ConfigResolver(codes, overrides, explicit, isolated=isolated, settings=settings)
    if explicit is not None:
        resolver.for_path(explicit)  # validate now: a bad file is a usage error up front
    return resolver


def _config_options(
    values: list[str], codes: LazyCodes, isolated: bool
) -> tuple[Path | None, dict[str, object]]:
    """``--config`` values: at most one settings file, and inline ``KEY = VALUE`` settings
    (a value naming no file but holding ``=``), as ruff reads them."""
    from ems.core.config import inline_settings

    explicit: Path | None = None
    settings: dict[str, object] = {}
    for value in values:
        if "=" in value and not Path(value).is_file():
            settings.update(inline_settings(value, codes))
            continue
        if isolated:
            raise ConfigError("--config cannot be used with --isolated (which reads no settings file)")
        if explicit is not None:
            raise ConfigError(f"--config: one settings file only (got {explicit} and {value})")
        if not Path(value).is_file():
            raise ConfigError(f"--config: no such file: {value}")
        explicit = Path(value)
    return explicit, settings


def fix_command(args: argparse.Namespace) -> str:
    """The ``ems fix`` command that applies what this run counts as fixable: the options
    that change the count (``--unsafe-fixes``, ``--ignore-noqa``) named again."""
    options = [
        f"--{name.replace('_', '-')}"
        for name in ("unsafe_fixes", "ignore_noqa")
        if getattr(args, name, False)
    ]
    return " ".join(["ems fix", *options])


def input_paths(args: argparse.Namespace) -> list[Path]:
    return [Path(p) for p in (args.paths or ["."])]


def first_missing(paths: list[Path]) -> Path | None:
    """The first path naming nothing: a usage error. A dangling link or a loop names
    something (the check reports it as E902)."""
    return next((p for p in paths if not p.exists() and not p.is_symlink()), None)


def fail(message: str) -> int:
    sys.stderr.write(f"ems: error: {message}\n")
    return 2


def wants_colour(stream: object, choice: str = "auto") -> bool:
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return bool(getattr(stream, "isatty", lambda: False)())


def progress_bar(enabled: bool, label: str = "checking") -> Callable[[int, int], None] | None:
    """A one-line progress bar on stderr, for terminals only, for runs of 20+ files."""
    if not enabled or not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        if total < 20:
            return
        if done % max(1, total // 100) and done != total:
            return
        width = 30
        filled = width * done // total
        sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} files")
        if done == total:
            sys.stderr.write("\r" + " " * (width + len(label) + 30) + "\r")
        sys.stderr.flush()

    return show
