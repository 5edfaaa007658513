"""Entry points of one group, read straight from the installed distributions' metadata.

``importlib.metadata.entry_points`` gives the same answer, but importing it (``email``,
``zipfile``, ``csv`` ...) costs ~40 ms, and every ``ems`` run asks for its plug-ins: on a
warm project that was an eighth of the run. So the common layout — ``*.dist-info`` and
``*.egg-info`` folders in the ``sys.path`` directories, which is what pip, venvs and
editable installs produce — is read directly, in ``importlib.metadata``'s order (the first
distribution of a name on ``sys.path`` wins). Anything else on ``sys.path`` (a zip file, a
finder that can list distributions of its own) hands the question to ``importlib.metadata``.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from dataclasses import dataclass

_STANDARD_FINDERS = frozenset({"BuiltinImporter", "FrozenImporter", "PathFinder"})


@dataclass(frozen=True, order=True)
class EntryPoint:
    name: str
    value: str  # "module:attribute" or "module"
    distribution: str  # the distribution's own name (its metadata's Name field)
    version: str = ""  # the distribution's version ("" when unknown)

    def load(self) -> object:
        module_name, _, attribute = self.value.partition(":")
        target: object = importlib.import_module(module_name.strip())
        for part in attribute.split("[")[0].strip().split(".") if attribute else ():
            target = getattr(target, part)
        return target


def entry_points(group: str) -> list[EntryPoint]:
    found = _read_directly(group)
    if found is None:
        found = _from_importlib_metadata(group)
    return found


def _from_importlib_metadata(group: str) -> list[EntryPoint]:
    from importlib.metadata import entry_points as metadata_entry_points

    return [
        EntryPoint(
            ep.name,
            ep.value,
            ep.dist.name if ep.dist is not None else ep.name,
            ep.dist.version if ep.dist is not None else "",
        )
        for ep in metadata_entry_points(group=group)
    ]


def _read_directly(group: str) -> list[EntryPoint] | None:
    """None when ``sys.path`` or the import system holds something this reader cannot see."""
    for finder in sys.meta_path:
        kind = finder.__name__ if isinstance(finder, type) else type(finder).__name__
        if hasattr(finder, "find_distributions") and kind not in _STANDARD_FINDERS:
            return None
    found: list[EntryPoint] = []
    seen: set[str] = set()
    for entry in sys.path:
        directory = entry or os.getcwd()
        if not os.path.isdir(directory):
            if os.path.exists(directory):
                return None  # a zip file or an egg: importlib.metadata knows those
            continue
        try:
            names = os.listdir(directory)
        except OSError:
            continue
        for name in names:
            if not name.endswith((".dist-info", ".egg-info")):
                continue
            folder = os.path.join(directory, name)
            key = _normalise(name.rpartition(".")[0].partition("-")[0])
            if key in seen or not os.path.isdir(folder):
                continue
            seen.add(key)
            points = _group_of(os.path.join(folder, "entry_points.txt"), group)
            if points:
                distribution, version = _metadata(folder)
                distribution = distribution or name.partition("-")[0]
                found.extend(EntryPoint(n, v, distribution, version) for n, v in points)
    return found


def _group_of(path: str, group: str) -> list[tuple[str, str]]:
    """The ``name = value`` lines of ``[group]`` in an ``entry_points.txt`` (INI syntax)."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError:
        return []
    points: list[tuple[str, str]] = []
    inside = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            inside = line[1:-1].strip() == group
            continue
        if inside and "=" in line:
            name, _, value = line.partition("=")
            points.append((name.strip(), value.strip()))
    return points


def _metadata(folder: str) -> tuple[str, str]:
    """The Name and Version headers of a distribution's METADATA (or PKG-INFO)."""
    fields = {"Name": "", "Version": ""}
    for file_name in ("METADATA", "PKG-INFO"):
        try:
            with open(os.path.join(folder, file_name), encoding="utf-8") as handle:
                for line in handle:
                    if not line.strip():
                        break  # the headers end at the first blank line
                    key, _, value = line.partition(":")
                    if key in fields and not fields[key]:
                        fields[key] = value.strip()
        except OSError:
            continue
        break
    return fields["Name"], fields["Version"]


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()
