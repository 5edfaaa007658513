"""``ems run``'s service: run a command with exception capture and record the run.

The command runs as a child process with a private folder first on ``PYTHONPATH`` holding a
``sitecustomize.py`` that installs ``ems.testing.capture`` (and then imports the program's
own ``sitecustomize``); Python subprocesses of the program are captured too. The run row is
opened before the program starts, so every exception lands in it, and closed after it exits
with the exit code and the group states.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ems.testing.capture import ENV_COMMAND, ENV_READY, ENV_ROOT, ENV_RUN, ENV_STORE
from ems.testing.record import RunSummary, command_key, finish_program_run, git_context, start_program_run


@dataclass(frozen=True)
class ProgramRun:
    exit_code: int
    summary: RunSummary
    captured: bool  # False: the program's Python never loaded the capture (cannot import ems)


def run_program(
    root: Path, command: Sequence[str], *, cwd: Path | None = None, store_path: Path | None = None
) -> ProgramRun:
    """Run ``command`` with capture; its stdin/stdout/stderr are the caller's."""
    root = root.resolve()
    run_id = start_program_run(root, command, store_path=store_path, context=git_context(root))
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ems-run-") as tmp:
        folder = Path(tmp)
        source = resources.files("ems.testing.boot").joinpath("sitecustomize.py")
        with resources.as_file(source) as path:
            shutil.copyfile(path, folder / "sitecustomize.py")
        ready = folder / "ready"
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(folder), env.get("PYTHONPATH", "")) if p)
        env[ENV_ROOT] = str(root)
        env[ENV_RUN] = str(run_id)
        env[ENV_COMMAND] = command_key(command)
        env[ENV_READY] = str(ready)
        if store_path is not None:
            env[ENV_STORE] = str(store_path.resolve())
        try:
            exit_code = subprocess.call(list(command), cwd=cwd, env=env)
        except OSError as exc:
            exit_code = 127
            message = f"cannot run {command[0]!r}: {exc.strerror or exc}"
            summary = finish_program_run(
                root, run_id, exit_code=exit_code, duration_s=0.0, store_path=store_path, message=message
            )
            return ProgramRun(exit_code, summary, captured=False)
        captured = ready.exists()
    summary = finish_program_run(
        root,
        run_id,
        exit_code=exit_code,
        duration_s=round(time.monotonic() - started, 3),
        store_path=store_path,
    )
    return ProgramRun(exit_code, summary, captured)
