"""Entry point. Each sub-command lives in its own module with ``register`` and ``run``.

Only argparse is imported here so ``ems --version`` stays instant; command modules
import heavy libraries (libcst, pygls, GitPython) inside ``run``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ems import __version__

# Sub-command modules under ems.cli; each defines register(subparsers) and run(args) -> int.
COMMANDS = ("check", "fix", "rules", "serve", "history", "clean")

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ems",
        description="Find, explain and fix errors in Python code.",
    )
    parser.add_argument("--version", action="version", version=f"ems {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"ems.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"ems.cli.{name}":
                continue  # command not built into this installation
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr)
        return EXIT_ERROR
    try:
        return int(args.run(args))
    except KeyboardInterrupt:
        print("ems: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
