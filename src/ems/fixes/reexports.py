"""Re-exports: names other modules of a package import from a module.

Why: ``requests/compat.py`` imports names it never uses itself, and its sibling modules do
``from .compat import urlparse``. Per file that looks like an unused import (F401), and
removing it breaks the package on import. The F401 fix asks here first and leaves such a
name alone. Detection stays per file (a finding computed from one file's bytes can be
cached by them); only the fix, which runs on demand, looks at the package.

The package is the folder tree of the module's top package (folders with ``__init__.py``);
a module outside any package (``a.py`` next to ``b.py`` doing ``from a import os``) belongs
to its folder: the folder's own modules and the packages in it, as ``python b.py`` would
import them. Each module's ``from X import a, b`` statements are read with ``ast``, relative
ones resolved against the importing module. Only the files that can name the asked module are
parsed: an import from module ``p.q.mod`` has the word ``mod`` right before its ``import``
keyword, unless it is a dots-only relative import (``from . import x``), which only a file
inside the package ``p.q.mod`` itself can write. Each file's words before ``import`` (one
regular-expression pass) and its imports (one parse) are kept per process, keyed by the
file's size and mtime, so a changed file is read again.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from ems.core.model import Finding

_Stamp = tuple[tuple[str, int, int], ...]


def names_imported_from(path: str) -> frozenset[str]:
    """The names other modules of ``path``'s package import from ``path``'s module.

    Each call checks the package's files (one ``stat`` each): a fix context asks once
    (``FixContext.reexported``), not once per unused import.
    """
    located = _locate(path)
    if located is None:
        return frozenset()
    top, base, module = located
    return _imported_from(str(top), str(base), module, _stamp(top))


def _locate(path: str) -> tuple[Path, Path, str] | None:
    """(the folder tree whose modules can import it, the folder module names are relative
    to, the module's dotted name); None for a file that is not a module.

    In a package: the top package's tree, and the folder holding it. Outside any package:
    the module's own folder for both (its sibling modules and the packages beside it).
    """
    if "\0" in path:  # not a file name (an editor's odd URI): nothing to walk
        return None
    file = Path(os.path.abspath(path))
    if file.suffix not in (".py", ".pyi"):
        return None
    if not (file.parent / "__init__.py").is_file():
        return file.parent, file.parent, file.stem
    top = file.parent
    while (top.parent / "__init__.py").is_file() and top.parent != top:
        top = top.parent
    parts = list(file.relative_to(top.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return top, top.parent, ".".join(parts)


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


@lru_cache(maxsize=64)
def _imported_from(top: str, base_folder: str, module: str, stamp: _Stamp) -> frozenset[str]:
    """Names the package's other modules import from ``module`` (dotted, absolute)."""
    base = Path(base_folder)
    last = module.rsplit(".", 1)[-1]
    word = last.encode("utf-8") if last.isascii() else None
    inside = str(base.joinpath(*module.split("."))) + os.sep  # a package's own subtree
    found: set[str] = set()
    for full, size, mtime in stamp:
        if word is not None and not full.startswith(inside) and word not in _words(full, size, mtime):
            continue
        for source, names in _imports(full, size, mtime, str(base)):
            if source == module:
                found.update(names)
    return frozenset(found)


@lru_cache(maxsize=4096)
def _words(full: str, size: int, mtime: int) -> frozenset[bytes]:
    """The words right before an ``import`` in the file (``size``/``mtime`` key the cache)."""
    try:
        data = Path(full).read_bytes()
    except OSError:
        return frozenset()
    return words_before_import(data)


_WORD = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_GAP = frozenset(b" \t\n\r\f\v\\")


def words_before_import(data: bytes) -> frozenset[bytes]:
    """Every word right before an ``import`` keyword, blanks and line continuations
    allowed in between: a superset of the last component of every ``from X import`` in
    the file. ``bytes.find`` walks the file at C speed, where the pattern
    ``(\\w+)[\\s\\\\]*import\\b`` tried a match at every byte (50x slower)."""
    found: set[bytes] = set()
    at = data.find(b"import")
    while at != -1:
        after = at + 6
        if after >= len(data) or data[after] not in _WORD:
            end = at
            while end and data[end - 1] in _GAP:
                end -= 1
            begin = end
            while begin and data[begin - 1] in _WORD:
                begin -= 1
            if begin < end:
                found.add(data[begin:end])
        at = data.find(b"import", after)
    return frozenset(found)


@lru_cache(maxsize=4096)
def _imports(full: str, size: int, mtime: int, base: str) -> tuple[tuple[str, frozenset[str]], ...]:
    """``(absolute source module, names)`` per ``from ... import`` of the file, except
    those from the file's own module and star imports' ``*``."""
    parts = list(Path(full).relative_to(base).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts.pop()
    try:
        tree = ast.parse(Path(full).read_bytes())
    except (SyntaxError, ValueError, OSError):
        return ()
    here = ".".join(parts)
    found = []
    for node in _import_froms(tree):
        source = _absolute(node, parts, is_package)
        if source is None or source == here:
            continue
        found.append((source, frozenset(alias.name for alias in node.names if alias.name != "*")))
    return tuple(found)


_BLOCKS = ("body", "orelse", "finalbody", "handlers", "cases")


def _import_froms(tree: ast.Module) -> list[ast.ImportFrom]:
    """Every ``from ... import`` statement, at any depth: only statement lists are walked
    (an import is a statement), not the expressions ``ast.walk`` would visit too."""
    found: list[ast.ImportFrom] = []
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.ImportFrom):
            found.append(node)
            continue
        for name in _BLOCKS:
            block = getattr(node, name, None)
            if block:
                stack.extend(block)
    return found


def _absolute(node: ast.ImportFrom, parts: list[str], is_package: bool) -> str | None:
    """The module a ``from ... import`` reads from, as an absolute dotted name."""
    if not node.level:
        return node.module
    package = parts if is_package else parts[:-1]
    if node.level - 1 > len(package):
        return None
    anchor = package[: len(package) - (node.level - 1)]
    return ".".join([*anchor, *([node.module] if node.module else [])])


# --- what a cached judgement depended on ----------------------------------------------------
#
# A file's cached fixability (``ems.store.cache``) is keyed by its own bytes, but the F401 fix
# of a re-exported name is withheld because of *other* files: a row records which of its
# names were re-exports when judged, and the tree's stamp then; a later scan re-judges the
# file only when the tree changed *and* the answer for those names did.

REEXPORT_CODE = "F401"  # the rule whose fix asks ``names_imported_from`` (its ``fix``)


def names_at_stake(findings: Iterable[Finding]) -> frozenset[str]:
    """The imported names whose fix a re-export would withhold: F401 findings that offer one."""
    return frozenset(f.datum("name") or "" for f in findings if f.code == REEXPORT_CODE and f.fixable)


def tree_stamp(path: str, memo: dict[str, str] | None = None) -> str | None:
    """A digest of what ``names_imported_from(path)`` reads (each module file of the tree
    with its size and mtime): equal stamps, equal answers. ``memo`` spares a scan walking
    one tree once per file; None for a file that is not a module."""
    located = _locate(path)
    if located is None:
        return None
    top = located[0]
    key = str(top)
    if memo is not None and key in memo:
        return memo[key]
    stamp = hashlib.blake2b(repr(_stamp(top)).encode(), digest_size=12).hexdigest()
    if memo is not None:
        memo[key] = stamp
    return stamp


def dependency(path: str, at_stake: frozenset[str], memo: dict[str, str] | None = None) -> str | None:
    """What judging ``path``'s findings depends on, as a cache row keeps it: the tree's
    stamp and which names ``at_stake`` are re-exports. Taken *before* judging: a file
    changed meanwhile changes the stamp, so the next scan looks again."""
    stamp = tree_stamp(path, memo)
    if stamp is None:
        return None
    reexported = names_imported_from(path) & at_stake
    return json.dumps([stamp, sorted(reexported), sorted(at_stake)], separators=(",", ":"))


def recheck(path: str, recorded: str, memo: dict[str, str] | None = None) -> str | None:
    """The dependency to keep if a judgement recorded as ``recorded`` still holds (the same,
    or with a newer stamp when the tree changed but not the answer); None when the file must
    be judged again (or the record is unreadable)."""
    try:
        stamp, reexported, at_stake = json.loads(recorded)
        at_stake = frozenset(map(str, at_stake))
        reexported = frozenset(map(str, reexported))
    except (ValueError, TypeError):
        return None
    now = tree_stamp(path, memo)
    if now is None:
        return None
    if now == stamp:
        return recorded
    if names_imported_from(path) & at_stake != reexported:
        return None
    return json.dumps([now, sorted(reexported), sorted(at_stake)], separators=(",", ":"))
