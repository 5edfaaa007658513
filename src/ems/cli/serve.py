"""``ems serve``: run the language server over stdio.

stdout carries the protocol and nothing else: the server's own logging goes to stderr
or ``--log-file``, and ``sys.stdout`` is pointed at stderr once the protocol stream is
taken, so a stray ``print`` in a plug-in rule cannot corrupt a message.
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys

LEVELS = ("debug", "info", "warning", "error")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the language server (LSP over stdio)",
        description="Run the ems language server over stdio for editors (VS Code, Neovim, Emacs, Helix).",
    )
    parser.add_argument(
        "--stdio", action="store_true", help="use stdio (the default; accepted because clients append it)"
    )
    parser.add_argument("--log-file", metavar="FILE", help="write the server log here instead of stderr")
    parser.add_argument("--log-level", choices=LEVELS, default="info", help="log verbosity (default: info)")
    parser.add_argument(
        "--memory-limit-mb",
        type=int,
        default=1024,
        metavar="MB",
        help="past this resident size, drop caches and replace the analysis worker (default: 1024)",
    )
    parser.set_defaults(run=run)


def configure_logging(log_file: str | None, level: str) -> None:
    """Server logs: stderr (editors show it) or a rotating, owner-only file; always redacted."""
    from ems.runtime.logsetup import BACKUP_COUNT, MAX_BYTES, PrivateRotatingFileHandler, RedactingFilter

    handler: logging.Handler = (
        PrivateRotatingFileHandler(log_file, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8")
        if log_file
        else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())  # secrets masked, source text never logged
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # pygls logs whole messages (document text included) below WARNING: never let it.
    logging.getLogger("pygls").setLevel(logging.WARNING)


def run(args: argparse.Namespace) -> int:
    try:
        configure_logging(args.log_file, args.log_level)
    except OSError as exc:
        print(f"ems serve: cannot open log file {args.log_file}: {exc}", file=sys.stderr)
        return 2
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # protocol only on the real stdout

    from ems.server.features import create_server
    from ems.server.framing import FramedInput

    if args.memory_limit_mb <= 0:
        print("ems serve: --memory-limit-mb must be positive", file=sys.stderr)
        return 2
    server = create_server()
    server.set_memory_limit(args.memory_limit_mb)
    server.memory.start(interval=10.0)
    framed = FramedInput(stdin)
    logging.getLogger("ems.server").info("ems language server starting (pid via stdio)")
    # Everything imported so far (pygls, lsprotocol's hundreds of classes, the rules) lives
    # as long as the server: out of the collector's sight, a full collection in the middle
    # of a keystroke's round trip stays short.
    gc.freeze()
    server.start_io(framed, stdout)  # type: ignore[arg-type]
    return 1 if framed.broken else 0
