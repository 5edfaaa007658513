"""``ems check --show-files`` and ``--show-settings``: what a check would look at, and with
which settings, without checking anything (the first questions when a finding is missing)."""

from __future__ import annotations

import argparse
import json
import sys

from ems.cli.common import fail, first_missing, input_paths


def show_files(args: argparse.Namespace, resolver) -> int:
    """Every file the check would analyse, one per line, in the order it would report them."""
    from ems.runtime.discovery import discover, display_path

    paths = input_paths(args)
    missing = first_missing(paths)
    if missing is not None:
        return fail(f"no such file or directory: {missing}")
    for path in discover(paths, resolver):
        sys.stdout.write(display_path(path) + "\n")
    return 0


def show_settings(args: argparse.Namespace, resolver, ruleset) -> int:
    """The settings that apply to the first path (a file, or a folder's own files)."""
    from ems.core.config import effective_settings

    path = input_paths(args)[0]
    if first_missing([path]) is not None:
        return fail(f"no such file or directory: {path}")
    is_file = not path.is_dir()
    config = resolver.for_path(path) if is_file else resolver.for_folder(path)
    settings = {
        "path": str(path),
        **effective_settings(config, ruleset.codes, path.resolve() if is_file else None),
    }
    if args.format == "json":
        sys.stdout.write(json.dumps(settings, indent=2) + "\n")
        return 0
    width = max(len(key) for key in settings)
    for key, value in settings.items():
        shown = "(defaults)" if key == "settings file" and value is None else json.dumps(value)
        sys.stdout.write(f"{key.ljust(width)} = {shown}\n")
    return 0
