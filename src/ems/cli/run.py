"""``ems run [--] COMMAND …``: run a program and record the exceptions it raises or logs.

Uncaught exceptions and ``logger.exception`` records of the program (and of Python programs it
starts) go to the store with their in-project frames, grouped like test failures; messages are
parameterised, local variables never read. The exit code is the program's.
"""

from __future__ import annotations

import argparse
import json
import sys

from ems.cli.common import add_recorded_run_options, fail, recorded_run_command


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run a program and record its uncaught and logged exceptions",
        description=(
            "Run COMMAND (given after ems's options or after --, e.g. `ems run -- python app.py`) with "
            "exception capture, record what it raised or logged with logger.exception in .ems/ems.db, "
            "grouped like test failures, and print the groups. Exit code: the program's."
        ),
    )
    add_recorded_run_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ems.store import StoreError
    from ems.testing.program import run_program
    from ems.testing.summary import render_text

    root, command, as_json = recorded_run_command(args)
    if not command:
        return fail("ems run needs a command, e.g. `ems run -- python app.py`")
    try:
        result = run_program(root, command, store_path=args.store)
    except StoreError as exc:
        return fail(str(exc))
    if as_json:
        payload = result.summary.to_dict() | {"captured": result.captured}
        sys.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stderr.write(render_text(result.summary))
    if not result.captured and result.summary.message is None:
        sys.stderr.write(
            "ems: the program did not load ems's capture: is it a Python program whose interpreter can "
            "import ems? (Other programs can call ems.capture.install() themselves.)\n"
        )
    return result.exit_code
