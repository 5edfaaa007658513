"""``ems clean``: empty the result cache of a project (its tables in ``.ems/ems.db``).

The cache rebuilds itself on the next ``ems check``; cleaning is for disk space or for
ruling the cache out while debugging. The rest of the store (scans, history, test runs)
is kept. An old ``.ems/cache`` folder (the cache's home before it moved into the store)
is removed too.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("clean", help="empty the result cache (kept in .ems/ems.db)")
    parser.add_argument(
        "paths", nargs="*", default=None, metavar="PATH", help="project folders or files (default: .)"
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="print nothing")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import sqlite3

    from ems.core.config import ConfigError, ConfigResolver, LazyCodes
    from ems.core.registry import lazy_rules
    from ems.runtime.root import project_root
    from ems.store.cache import clear
    from ems.store.connection import default_store_path

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
                removed = clear(root)
            except (OSError, sqlite3.Error) as exc:
                sys.stderr.write(
                    f"ems: error: cannot empty the result cache in {default_store_path(root)}: {exc}\n"
                )
                status = 2
                continue
            if removed:
                out.append(f"removed the result cache from {default_store_path(root)}")
    if not args.quiet:
        sys.stdout.write("\n".join(out) + "\n" if out else "no cache to remove\n")
    return status
