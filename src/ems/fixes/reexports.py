"""Re-exports: names other modules of the project import from a module.

Why: ``requests/compat.py`` imports names it never uses itself, and its sibling modules do
``from .compat import urlparse``. Per file that looks like an unused import (F401), and
removing it breaks the package on import. The F401 fix asks here first and leaves such a
name alone. Detection stays per file (a finding computed from one file's bytes can be
cached by them); only the fix, which runs on demand, looks at the project.

Who can import a module: every module file of its *project*: the git work tree or the
folder of the nearest ems config file, as a scan of that root discovers them (``exclude``
and ``.gitignore`` honoured; the project's own config, not command-line options). So
``main.py`` next to ``pkg/`` doing ``from pkg.compat import x``, and a sibling top-level
package doing the same, count. A module outside any project searches its import root: the
folder holding its top package (or its own folder), descending into packages only.

A module's name is its dotted path from its import root; each file's ``from X import``
statements are resolved against the importing module (relative ones too) and matched by
name. The answers come from an ``ImportIndex`` (``ems.fixes.importindex``): a scan builds
one per project, keeps it in the store, and ``pinned`` lends it to the judging code (and to
the worker processes forked meanwhile); elsewhere (the language server, ``ems fix``'s
workers) an index is built here and kept per process, refreshed by the files' stats. A scan
of several files judges them first as if nothing were re-exported (``assuming_none``) and
then answers from indexes fed with what its own analyses saw of each file's imports
(``pin_seeded``): no importer it analysed is read or parsed again.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from ems.core.model import Finding
from ems.fixes.importindex import Facts, ImportIndex, Stat, structure, words_before_import

__all__ = [
    "REEXPORT_CODE",
    "STAR",
    "Asked",
    "Learned",
    "Roots",
    "ScanIndex",
    "adopt",
    "assuming_none",
    "assumption_holds",
    "dependency",
    "expecting",
    "index_for",
    "keep_scan_index",
    "learned",
    "names_at_stake",
    "names_imported_from",
    "open_scan_index",
    "pin_seeded",
    "pinned",
    "pinned_project",
    "project_files",
    "project_root_of",
    "recheck",
    "reexport_stamp",
    "remember",
    "search_root",
    "star_exported",
    "words_before_import",
]

REEXPORT_CODE = "F401"  # the rule whose fix asks ``names_imported_from`` (its ``fix``)

# The index a scan in progress lends to the judging code, by root (forked workers inherit it),
# the last index built in this process per root (reused while the files' stats agree), and
# the fingerprint a scan said its project has, for workers it did not fork (``expecting``).
_PINNED: dict[str, ImportIndex] = {}
_BUILT: dict[str, ImportIndex] = {}
_EXPECTED: dict[str, str] = {}
_MAX_BUILT = 8


Roots = dict[str, tuple[str, bool, str]]  # a folder -> (its search root, project?, folder relative to it)


def search_root(path: str, memo: Roots | None = None) -> tuple[str, bool, str] | None:
    """(the folder whose module files can import the module at ``path``, whether it is a
    project root (else the module's import root), ``path`` relative to it); None for a file
    that is not a module. ``memo``: per folder, for a caller asking about many files at
    one moment (a scan's rows)."""
    if "\0" in path:  # not a file name (an editor's odd URI): nothing to walk
        return None
    absolute = os.path.abspath(path)
    if not absolute.endswith((".py", ".pyi")):
        return None
    parent, name = os.path.split(absolute)
    known = memo.get(parent) if memo is not None else None
    if known is None:
        known = _folder_root(parent)
        if memo is not None:
            memo[parent] = known
    root, project, folder = known
    return root, project, os.path.join(folder, name) if folder else name


def _folder_root(parent: str) -> tuple[str, bool, str]:
    """``search_root``'s answer for the files of the folder ``parent``."""
    folder = os.path.realpath(parent)
    root = _project_folder(folder)
    project = root is not None
    if root is None:  # the import root: the folder holding the top package, or this one
        root = folder
        if os.path.isfile(os.path.join(root, "__init__.py")):
            while os.path.dirname(root) != root and os.path.isfile(
                os.path.join(os.path.dirname(root), "__init__.py")
            ):
                root = os.path.dirname(root)
            root = os.path.dirname(root)
    relative = os.path.relpath(folder, root)
    return root, project, "" if relative == os.curdir else relative


def project_root_of(path: str) -> str | None:
    """The project root (a git work tree or a config file's folder) ``path`` is in, if any."""
    absolute = os.path.realpath(path)
    return _project_folder(absolute if os.path.isdir(absolute) else os.path.dirname(absolute))


def _project_folder(folder: str) -> str | None:
    """The project root over ``folder`` as ``ems.runtime.root.project_root`` finds it (a git
    work tree, else the nearest config file's folder), without its current-folder fallback."""
    current = folder
    while True:
        if os.path.exists(os.path.join(current, ".git")):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    from ems.core.config import find_config_file

    config = find_config_file(Path(folder))
    return str(config.parent) if config is not None else None


def project_files(root: str, project: bool) -> dict[str, Stat]:
    """The module files (``.py``) whose imports count under ``root``, relative to it, with
    their stats: a project's as its scan discovers them, else the import root's folder and
    the packages in it."""
    found: dict[str, Stat] = {}
    if project:
        from ems.core.config import ConfigResolver, LazyCodes
        from ems.core.registry import lazy_rules
        from ems.runtime.discovery import discover

        resolver = ConfigResolver(LazyCodes(lambda: lazy_rules().codes), default_root=Path(root))
        paths: Iterable[str] = (str(p) for p in discover([Path(root)], resolver))
    else:
        paths = _package_walk(root)
    prefix = os.path.join(root, "")
    for full in paths:
        if not full.endswith(".py"):
            continue
        try:
            info = os.stat(full)
        except OSError:
            continue
        # ``relpath`` was most of a judged file's cost outside a project (every judgement
        # lists the import root again): a normalised path under the root is cut instead.
        if full.startswith(prefix) and os.path.normpath(full) == full:
            rel = full[len(prefix) :]
        else:
            rel = os.path.relpath(full, root)
        found[rel] = (info.st_size, info.st_mtime_ns)
    return found


def _package_walk(root: str) -> Iterator[str]:
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if os.path.isfile(os.path.join(folder, d, "__init__.py")))
        for name in sorted(files):
            yield os.path.join(folder, name)


def index_for(root: str, project: bool, files: Mapping[str, Stat] | None = None) -> ImportIndex:
    """An index of ``root``'s files as they are now (``files``: their stats, if known),
    reusing what this process read before for the files whose stats did not change."""
    previous = _BUILT.get(root)
    if files is None and previous is not None and _EXPECTED.get(root) == previous.fingerprint:
        return previous  # a scan's worker: the project is as the scan saw it
    files = project_files(root, project) if files is None else files
    packages, above = structure(root, files)
    fresh = ImportIndex(root, files, packages, above)
    if (
        previous is not None
        and previous.fingerprint == fresh.fingerprint
        and all(facts.stat is not None for facts in previous.facts.values())
    ):
        return previous  # (a file read under an untrusted stat may have changed unseen)
    if previous is not None:
        fresh, _ = previous.refreshed(files, packages, above)
    remember(fresh)
    return fresh


def remember(index: ImportIndex) -> None:
    """Keep ``index`` as this process's latest for its root (``index_for`` reuses it while
    the files' stats agree): a scan's index serves the fixes that follow it."""
    _BUILT.pop(index.root, None)
    if len(_BUILT) >= _MAX_BUILT:
        _BUILT.pop(next(iter(_BUILT)))
    _BUILT[index.root] = index


@contextmanager
def pinned_project(paths: Iterable[Path]) -> Iterator[None]:
    """While the block runs, answer for the project of the first of ``paths`` from one index
    of it as it is now (``ems fix``: its fixes, in worker processes forked meanwhile, do not
    each discover the project again)."""
    first = next(iter(paths), None)
    root = project_root_of(str(first) if first is not None else os.curdir)
    if root is None:
        yield
        return
    with pinned(index_for(root, True)):
        yield


@contextmanager
def expecting(root: str, fingerprint: str) -> Iterator[None]:
    """While the block runs, take ``root``'s files to be as the scan that sent this work saw
    them (``fingerprint``): a worker it did not fork (``spawn``, ``forkserver``: a process
    with threads, the language server) discovers the project once, not once per file."""
    previous = _EXPECTED.get(root)
    _EXPECTED[root] = fingerprint
    try:
        yield
    finally:
        if previous is None:
            _EXPECTED.pop(root, None)
        else:
            _EXPECTED[root] = previous


@contextmanager
def pinned(index: ImportIndex) -> Iterator[ImportIndex]:
    """Lend ``index`` to ``names_imported_from`` for its root while the block runs (a scan:
    its files are not walked again per judged file; forked workers inherit it)."""
    previous = _PINNED.get(index.root)
    _PINNED[index.root] = index
    try:
        yield index
    finally:
        if previous is None:
            _PINNED.pop(index.root, None)
        else:
            _PINNED[index.root] = previous


def _index(path: str) -> tuple[ImportIndex, str] | None:
    located = search_root(path)
    if located is None:
        return None
    root, project, rel = located
    index = _PINNED.get(root)
    return (index if index is not None else index_for(root, project)), rel


def names_imported_from(path: str) -> frozenset[str]:
    """The names other modules of ``path``'s project import from ``path``'s module.

    A fix context asks once (``FixContext.reexported``), not once per unused import.
    Inside ``assuming_none``: none, and what the judge asks of that answer is recorded.
    """
    if _ASSUMING:
        record = _ASSUMING[-1]
        assumed = record.get(path)
        if assumed is None:
            assumed = record[path] = _Assumed()
        return assumed
    found = _index(path)
    return found[0].answer(found[1]) if found is not None else frozenset()


# --- judging before the project's imports are known (a scan's first phase) ---------------
#
# A scan's worker judges a file right after analysing it, while the other files' imports are
# still being read by the scan itself. It judges as if nothing were re-exported and records
# which names the judge asked about; once every file is analysed, the scan answers from an
# index fed with what its analyses saw (``pin_seeded``) and keeps a judgement whose asked
# names are indeed not re-exports (``assumption_holds``), judging the others again. The F401
# fix only asks ``name in ctx.reexported``; any other use of the answer is recorded as
# reading all of it (the judgement then holds only if nothing is re-exported).

Asked = tuple[str, frozenset[str], bool]  # the path asked about, the names asked, all of it?


class _Assumed(frozenset[str]):
    """An empty answer that records what is asked of it."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()
        self.whole = False

    def __contains__(self, name: object) -> bool:
        self.names.add(str(name))
        return False

    def asked(self, path: str) -> Asked:
        return path, frozenset(self.names), self.whole


def _whole(name: str) -> None:
    base = getattr(frozenset, name)

    def read_whole(self: _Assumed, *args: object) -> object:
        self.whole = True
        return base(self, *args)

    read_whole.__name__ = name
    setattr(_Assumed, name, read_whole)


for _name in (
    "__iter__", "__len__", "__and__", "__rand__", "__or__", "__ror__", "__sub__", "__rsub__",
    "__xor__", "__rxor__", "__eq__", "__ne__", "__le__", "__lt__", "__ge__", "__gt__",
    "__hash__", "__reduce__", "isdisjoint", "issubset", "issuperset", "union", "intersection",
    "difference", "symmetric_difference", "copy",
):  # fmt: skip
    _whole(_name)
del _name

_ASSUMING: list[dict[str, _Assumed]] = []


@contextmanager
def assuming_none() -> Iterator[list[Asked]]:
    """While the block runs, ``names_imported_from`` answers "none" for every path without
    reading anything; the list given is filled, when the block ends, with what was asked."""
    record: dict[str, _Assumed] = {}
    asked: list[Asked] = []
    _ASSUMING.append(record)
    try:
        yield asked
    finally:
        _ASSUMING.pop()
        asked.extend(assumed.asked(path) for path, assumed in record.items())


def assumption_holds(asked: Asked, answer: frozenset[str]) -> bool:
    """Whether a judgement made under ``assuming_none`` stands given the true ``answer``."""
    _, names, whole = asked
    return not answer if whole else answer.isdisjoint(names)


def pin_seeded(
    facts: Mapping[str, tuple[Stat, Facts]], paths: Iterable[str], stack: ExitStack, memo: Roots
) -> None:
    """Answer for ``paths``' projects from now on (until ``stack`` closes) from indexes fed
    with ``facts`` (by each file's path with its folder resolved, as ``search_root`` sees
    it, with the stat they were read under): what a scan read of those files while analysing them, so that no answer reads or
    parses them again. Each root's index is the one pinned already (a scan's project
    index), else one built now (``index_for``) and pinned on ``stack``."""
    roots: dict[str, bool] = {}
    for path in paths:
        located = search_root(path, memo)
        if located is not None:
            roots.setdefault(located[0], located[1])
    for root, project in roots.items():
        index = _PINNED.get(root)
        if index is None:
            index = stack.enter_context(pinned(index_for(root, project)))
        prefix = os.path.join(root, "")
        for full, (read_under, known) in facts.items():
            if full.startswith(prefix):
                index.offer(full[len(prefix) :], read_under, known)


@dataclass(frozen=True)
class Learned:
    """What a worker process found out from a scan's pinned index, for the scan's parent
    to keep: answers it computed and files it read or parsed."""

    fingerprint: str
    answers: Mapping[str, frozenset[str]]
    facts: Mapping[str, Facts]


def learned(path: str) -> Learned | None:
    """What this worker process found out from the pinned index of ``path``'s project
    since it last said (None in the process that pinned it: it has it already)."""
    located = search_root(path)
    if located is None:
        return None
    index = _PINNED.get(located[0])
    if index is None or index.owner == os.getpid() or not (index.learned or index.parsed):
        return None
    found = Learned(index.fingerprint, dict(index.learned), dict(index.parsed))
    index.learned.clear()
    index.parsed.clear()
    return found


def reexport_stamp(path: str) -> str | None:
    """A digest of what ``names_imported_from(path)`` reads (the project's module files and
    their stats): equal stamps, equal answers. None for a file that is not a module."""
    found = _index(path)
    return found[0].fingerprint if found is not None else None


# --- what a cached judgement depended on ----------------------------------------------------
#
# A file's cached fixability (``ems.store.cache``) is keyed by its own bytes, but the F401 fix
# of a re-exported name is withheld because of *other* files: a row records which of its
# names were re-exports when judged; a later scan compares that with the index's answer now
# (kept in the store, re-asked only where a changed file can have changed it).


STAR = "*"  # in an answer: another module does `from this import *`


def names_at_stake(findings: Iterable[Finding]) -> frozenset[str]:
    """The imported names whose fix a re-export would withhold: F401 findings that offer
    one, and ``STAR`` with them when one is public (a star import of the module elsewhere
    withholds it: ``star_exported``)."""
    names = {f.datum("name") or "" for f in findings if f.code == REEXPORT_CODE and f.fixable}
    if any(not name.startswith("_") for name in names):
        names.add(STAR)
    return frozenset(names)


def star_exported(name: str, reexported: frozenset[str], text: str) -> bool:
    """Whether ``name`` reaches another module through its ``from this import *``: a public
    name, in a module without a top-level ``__all__`` (which would list what a star import
    takes; F401 does not report a name listed there)."""
    return not name.startswith("_") and STAR in reexported and _ALL_ASSIGNED.search(text) is None


_ALL_ASSIGNED = re.compile(r"^__all__\s*(?::[^=\n]*)?[+]?=", re.MULTILINE)


def dependency(path: str, at_stake: frozenset[str]) -> str | None:
    """What judging ``path``'s findings depends on, as a cache row keeps it: which names
    ``at_stake`` are re-exports. None for a file that is not a module."""
    found = _index(path)
    if found is None:
        return None
    reexported = found[0].answer(found[1]) & at_stake
    return json.dumps([sorted(reexported), sorted(at_stake)], separators=(",", ":"))


def recheck(path: str, recorded: str, index: ImportIndex | None = None, memo: Roots | None = None) -> bool:
    """Whether a judgement recorded as ``recorded`` still holds (the same names at stake are
    re-exports now); False for an unreadable record. ``index``: the scan's, if ``path`` is
    under its root; ``memo``: ``search_root``'s."""
    try:
        reexported, at_stake = json.loads(recorded)
        at_stake = frozenset(map(str, at_stake))
        reexported = frozenset(map(str, reexported))
    except (ValueError, TypeError):
        return False
    if index is not None:
        located = search_root(path, memo)
        if located is not None and located[0] == index.root:
            return index.answer(located[2]) & at_stake == reexported
    return names_imported_from(path) & at_stake == reexported


# --- a scan's index, kept in the store ------------------------------------------------------


@dataclass
class ScanIndex:
    """The index a scan answers from (``pinned`` while it runs), and how to store it after."""

    index: ImportIndex
    store: Path | None  # the store file (None: nothing kept, ``--no-cache``)
    base: str | None  # the stored fingerprint the index was brought up from
    removed: frozenset[str] = frozenset()
    replace: bool = False  # the answers were re-derived: they replace the stored ones


STORE_TIMEOUT_S = 2.0  # a busy store: this run answers from the files, and keeps nothing


def open_scan_index(root: str, files: Mapping[str, Stat], store: Path | None) -> ScanIndex:
    """The index of ``root``'s module files (``files``, as the scan stat'ed them): from the
    store when its state is this fingerprint's, else the store's brought up to date by
    reading only the files whose stats changed (``ImportIndex.refreshed``)."""
    packages, above = structure(root, files)
    index = ImportIndex(root, files, packages, above)
    if store is None:
        return ScanIndex(index, None, None)
    from ems.store import imports

    try:
        with _connection(store) as conn:
            state = imports.load_state(conn, root)
            if state is None:
                return ScanIndex(index, store, None)
            if state.fingerprint == index.fingerprint and not state.racy:
                index.answers = imports.load_answers(conn, state.fingerprint)
                index.loader = lambda: _stored_facts(store)
                return ScanIndex(index, store, state.fingerprint)
            old = ImportIndex(root, {}, state.packages, state.above, fingerprint=state.fingerprint)
            old.answers = imports.load_answers(conn, state.fingerprint)
            old.loader = lambda: _stored_facts(store)
            stats = imports.load_stats(conn)

            def fetch(rels: list[str]) -> dict[str, Facts]:
                return {rel: Facts(*row) for rel, row in imports.load_facts(conn, rels).items()}

            fresh, changed = old.refreshed(files, packages, above, stats, fetch)
    except (sqlite3.Error, OSError):
        return ScanIndex(index, None, None)
    return ScanIndex(fresh, store, state.fingerprint, frozenset(changed - set(files)), True)


def keep_scan_index(scan: ScanIndex) -> bool:
    """Store what the scan found out (facts read, answers asked); False if not stored."""
    if scan.store is None:
        return False
    from ems.store import imports

    index = scan.index
    if scan.base == index.fingerprint and not index.learned and not index.parsed:
        return True  # nothing new
    answers = index.answers if scan.replace or scan.base is None else index.learned
    if scan.base is None:
        # The stored facts must cover every file of the stored state (a later diff finds
        # removed files among them): read those no question needed (workers asked them).
        for rel in index.files:
            if rel not in index.facts and index.facts_of(rel).stat is None:
                answers = {}  # changed since the scan saw it: what the answers read is unknown
    facts = {rel: (f.stat, f.words, f.imports) for rel, f in index.parsed.items()}
    racy = any(f.stat is None for f in index.facts.values()) if scan.replace or scan.base is None else False
    racy = racy or any(f.stat is None for f in index.parsed.values())
    state = imports.StoredState(index.fingerprint, racy, index.packages, index.above)
    try:
        with _connection(scan.store) as conn:
            return imports.save(
                conn, index.root, scan.base, state, facts, scan.removed, answers, scan.replace
            )
    except (sqlite3.Error, OSError):
        return False


def adopt(scan: ScanIndex, found: Learned | None) -> None:
    """Keep what a worker found out from the same index (``learned``)."""
    index = scan.index
    if found is None or found.fingerprint != index.fingerprint:
        return
    for rel, names in found.answers.items():
        if rel not in index.answers:
            index.answers[rel] = index.learned[rel] = names
    for rel, facts in found.facts.items():
        known = index.facts.get(rel)
        if (
            facts.stat is not None
            and facts.stat == index.files.get(rel)
            and (known is None or known.imports is None)
        ):
            index.facts[rel] = index.parsed[rel] = facts


def _stored_facts(store: Path) -> dict[str, Facts]:
    """The stored facts (read on first need, in whichever process needs them)."""
    from ems.store import imports

    try:
        with _connection(store) as conn:
            return {rel: Facts(*row) for rel, row in imports.load_facts(conn).items()}
    except (sqlite3.Error, OSError):
        return {}


@contextmanager
def _connection(store: Path) -> Iterator[sqlite3.Connection]:
    """A connection of its own to the store (never one inherited across a fork); a store
    without the index's tables (an older one) is migrated first."""
    from ems.store.connection import connect

    conn = connect(store, STORE_TIMEOUT_S)
    try:
        try:
            conn.execute("SELECT 1 FROM import_state LIMIT 1")
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise
            from ems.store.db import Store, StoreError

            try:
                Store(store, timeout=STORE_TIMEOUT_S).close()
            except StoreError as error:
                raise OSError(str(error)) from None
        yield conn
    finally:
        conn.close()
