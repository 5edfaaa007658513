"""Re-exports: names other modules of a package import from a module.

Why: ``requests/compat.py`` imports names it never uses itself, and its sibling modules do
``from .compat import urlparse``. Per file that looks like an unused import (F401), and
removing it breaks the package on import. The F401 fix asks here first and leaves such a
name alone. Detection stays per file (a finding computed from one file's bytes can be
cached by them); only the fix, which runs on demand, looks at the package.

The package is the folder tree of the module's top package (folders with ``__init__.py``);
each module's ``from X import a, b`` statements are read with ``ast``, relative ones
resolved against the importing module. The index is kept per process and rebuilt when any
file of the package changes (size or mtime).
"""

from __future__ import annotations

import ast
import os
from functools import lru_cache
from pathlib import Path

_Stamp = tuple[tuple[str, int, int], ...]


def imported_from_elsewhere(path: str, name: str) -> bool:
    """Whether another module of ``path``'s package imports ``name`` from ``path``'s module."""
    return name in names_imported_from(path)


def names_imported_from(path: str) -> frozenset[str]:
    """The names other modules of ``path``'s package import from ``path``'s module.

    Each call checks the package's files (one ``stat`` each): a fix context asks once
    (``FixContext.reexported``), not once per unused import.
    """
    located = _locate(path)
    if located is None:
        return frozenset()
    root, module = located
    stamp = _stamp(root)
    return _index(str(root), stamp).get(module, frozenset())


def _locate(path: str) -> tuple[Path, str] | None:
    """(the folder holding the top package, the module's dotted name), or None outside a
    package."""
    file = Path(os.path.abspath(path))
    if file.suffix not in (".py", ".pyi") or not (file.parent / "__init__.py").is_file():
        return None
    top = file.parent
    while (top.parent / "__init__.py").is_file() and top.parent != top:
        top = top.parent
    parts = list(file.relative_to(top.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return top, ".".join(parts)


def _stamp(top: Path) -> _Stamp:
    entries = []
    for folder, dirs, files in os.walk(top):
        dirs[:] = sorted(d for d in dirs if (Path(folder) / d / "__init__.py").is_file())
        for name in sorted(files):
            if name.endswith(".py"):
                full = os.path.join(folder, name)
                try:
                    info = os.stat(full)
                except OSError:
                    continue
                entries.append((full, info.st_size, info.st_mtime_ns))
    return tuple(entries)


@lru_cache(maxsize=8)
def _index(top: str, stamp: _Stamp) -> dict[str, frozenset[str]]:
    """Module dotted name -> names the package's other modules import from it."""
    base = Path(top).parent
    found: dict[str, set[str]] = {}
    for full, _, _ in stamp:
        parts = list(Path(full).relative_to(base).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        try:
            tree = ast.parse(Path(full).read_bytes())
        except (SyntaxError, ValueError, OSError):
            continue
        here = ".".join(parts)
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom):
                continue
            source = _absolute(node, parts, is_package)
            if source is None or source == here:
                continue
            names = found.setdefault(source, set())
            names.update(alias.name for alias in node.names if alias.name != "*")
    return {module: frozenset(names) for module, names in found.items()}


def _absolute(node: ast.ImportFrom, parts: list[str], is_package: bool) -> str | None:
    """The module a ``from ... import`` reads from, as an absolute dotted name."""
    if not node.level:
        return node.module
    package = parts if is_package else parts[:-1]
    if node.level - 1 > len(package):
        return None
    anchor = package[: len(package) - (node.level - 1)]
    return ".".join([*anchor, *([node.module] if node.module else [])])
