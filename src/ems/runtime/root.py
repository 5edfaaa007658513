"""The project root: the one folder whose ``.ems/`` holds the store, the cache and the logs.

Derived from the path being checked, never from where the command was started, so
``cd /tmp && ems check ~/repo`` uses ``~/repo/.ems`` (and finds its history). Looked up
with plain ``os`` calls: a warm ``ems check`` pays no import for it. A path that comes
from outside (a browser, a request) is ``confined`` to the root before it is read or written.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ems.core.config import find_config_file


def project_root(path: Path, cwd: Path | None = None) -> Path:
    """The root of the project ``path`` belongs to.

    In order: the git work tree containing ``path`` (history is repository-wide); the
    folder of the nearest ems config file (``ems.toml``, ``[tool.ems]``); the current
    folder if ``path`` is inside it; else ``path`` itself (a file's folder).
    """
    absolute = Path(os.path.abspath(path))
    try:
        start = absolute.resolve()
    except (OSError, RuntimeError):  # a symlink loop: look from where the link is
        start = absolute
    if not start.is_dir():
        start = start.parent
    for folder in (start, *start.parents):
        if os.path.exists(os.path.join(folder, ".git")):
            return folder
    config = find_config_file(start)
    if config is not None:
        return config.parent
    here = (cwd or Path.cwd()).resolve()
    if start == here or here in start.parents:
        return here
    return start


def scan_root(paths: Sequence[Path], cwd: Path | None = None) -> Path:
    """The project root of a run over ``paths``: the first path's (the current folder's if none)."""
    return project_root(paths[0] if paths else Path(os.curdir), cwd)


class OutsideProject(ValueError):
    """The path resolves outside the project root (``..``, an absolute path, a symlink out)."""


def confined(root: Path, path: str | Path) -> Path:
    """``path`` (relative to ``root``, or absolute) resolved, if it stays under ``root``.

    Resolving first follows ``..`` and symlinks, so neither can lead out of the project.
    """
    text = str(path)
    if "\0" in text:
        raise OutsideProject(f"{text!r} is not a file name")
    base = root.resolve()
    target = (base / path).resolve()
    if target != base and not target.is_relative_to(base):
        raise OutsideProject(f"{text} is outside the project {base}")
    return target
