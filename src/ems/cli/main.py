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
COMMANDS = ("check", "fix", "rules", "serve", "history", "clean", "dashboard", "test", "run", "doctor")
# Commands whose trailing arguments belong to another program (pytest, the user's command):
# everything from the first argument that is not one of the command's own options (or
# after ``--``) is passed through untouched as ``args.passthrough``.
PASSTHROUGH = ("test", "run")

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; given ``argv``, only the sub-command it names is imported and registered.

    Each command module imports what its options need, so registering all of them cost a
    one-file ``ems check`` about 15 ms. With no command named (``ems``, ``ems --help``, a
    typo), every command is registered so help and errors list them all.
    """
    parser = argparse.ArgumentParser(
        prog="ems",
        description="Find, explain and fix errors in Python code.",
    )
    parser.add_argument("--version", action="version", version=f"ems {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _commands_to_register(argv):
        try:
            module = importlib.import_module(f"ems.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"ems.cli.{name}":
                continue  # command not built into this installation
            raise
        module.register(subparsers)
    return parser


def _commands_to_register(argv: Sequence[str] | None) -> Sequence[str]:
    """The command ``argv`` names (its first argument), none for a bare ``--version``."""
    if argv is None:
        return COMMANDS
    if argv and argv[0] in COMMANDS:
        return (argv[0],)
    return () if list(argv) == ["--version"] else COMMANDS


def split_passthrough(parser: argparse.ArgumentParser, argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """(the command's own arguments, the rest) for a ``PASSTHROUGH`` command."""
    argv = list(argv)
    if not argv or argv[0] not in PASSTHROUGH:
        return argv, []
    sub = next(a for a in parser._subparsers._group_actions if isinstance(a, argparse._SubParsersAction))  # type: ignore[union-attr]
    options = sub.choices[argv[0]]._option_string_actions
    i = 1
    while i < len(argv):
        token = argv[i]
        if token == "--":
            return argv[:i], argv[i + 1 :]
        name = token.split("=", 1)[0]
        action = options.get(name)
        if action is None:
            break
        i += 1 if (action.nargs == 0 or "=" in token) else 2
    return argv[:i], argv[i:]


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    own, passthrough = split_passthrough(parser, argv)
    args = parser.parse_args(own)
    if own and own[0] in PASSTHROUGH:
        args.passthrough = passthrough
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
    except Exception as exc:  # a bug in ems: exit 2 (not 1, "findings"), one line, a log record
        return _internal_error(exc)


def _internal_error(exc: Exception) -> int:
    """Tell the user in one line; keep the traceback in the log (``.ems/logs/ems.log``)."""
    import logging

    from ems.runtime.logsetup import configure_logging, current_settings

    where = "stderr"
    try:
        settings = current_settings() or configure_logging()
        logging.getLogger("ems.cli").error("internal error: %s", type(exc).__name__, exc_info=exc)
        if settings is not None:
            where = str(settings.file)
    except Exception:  # logging itself failing must not hide the first error
        pass
    message = " ".join(str(exc).split())[:300]
    sys.stderr.write(
        f"ems: internal error: {type(exc).__name__}: {message} (traceback in {where}; please report it)\n"
    )
    return EXIT_ERROR
