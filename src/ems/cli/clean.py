"""``ems clean``: delete the result cache (``.ems/cache``) of a project.

The cache rebuilds itself on the next ``ems check``; cleaning is for disk space or for
ruling the cache out while debugging. The history database (``.ems/ems.db``) is kept.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("clean", help="remove the result cache (.ems/cache)")
    parser.add_argument(
        "paths", nargs="*", default=None, metavar="PATH", help="project folders or files (default: .)"
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="print nothing")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ems.core.config import ConfigError, ConfigResolver, LazyCodes
    from ems.core.registry import lazy_rules
    from ems.runtime.root import project_root
    from ems.store.cache import cache_dir, remove

    out = []
    status = 0
    resolver = ConfigResolver(LazyCodes(lambda: lazy_rules().codes))  # rules only if a config needs them
    for raw in args.paths or ["."]:
        path = Path(raw)
        roots = {path.resolve()} if path.is_dir() else set()
        roots.add(project_root(path))
        with contextlib.suppress(ConfigError):  # a broken config must not block cleaning
            roots.add(resolver.for_path(path).root.resolve())
        for root in sorted(roots):
            try:
                removed = remove(root)
            except OSError as exc:
                sys.stderr.write(f"ems: error: cannot remove {cache_dir(root)}: {exc}\n")
                status = 2
                continue
            if removed:
                out.append(f"removed {cache_dir(root)}")
    if not args.quiet:
        sys.stdout.write("\n".join(out) + "\n" if out else "no cache to remove\n")
    return status
