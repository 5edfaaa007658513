"""``ems test [PYTEST ARGS…]``: run the test suite with the ems plugin and coverage, record it.

Everything after ems's own options (or after ``--``) goes to pytest unchanged. The exit code
is pytest's; the summary compares the failure groups with the previous recorded run.
"""

from __future__ import annotations

import argparse
import json
import sys

from ems.cli.common import add_recorded_run_options, fail, recorded_run_command


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "test",
        help="run pytest with failure recording, grouping and coverage",
        description=(
            "Run pytest (with PYTEST ARGS, given after ems's options or after --) in a subprocess with "
            "the ems plugin and coverage.py, record the run in .ems/ems.db and print the failure groups "
            "that are new, regressed, fixed or still failing since the previous run. Exit code: pytest's."
        ),
    )
    add_recorded_run_options(parser)
    parser.add_argument("--no-coverage", action="store_true", help="do not measure coverage (faster)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ems.store import StoreError
    from ems.testing.runner import run_tests
    from ems.testing.summary import render_text

    root, pytest_args, as_json = recorded_run_command(args)
    try:
        result = run_tests(
            root,
            pytest_args,
            with_coverage=not args.no_coverage,
            store_path=args.store,
            stdout=sys.stderr if as_json else sys.stdout,
            stderr=sys.stderr,
        )
    except StoreError as exc:
        return fail(str(exc))
    if as_json:
        sys.stdout.write(json.dumps(result.summary.to_dict(), indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(render_text(result.summary))
    sys.stdout.flush()
    return result.exit_code
