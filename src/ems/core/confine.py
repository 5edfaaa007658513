"""Confine a path that came from outside (a browser, a request) to the project root."""

from __future__ import annotations

from pathlib import Path


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
