"""One project's ``from X import names`` statements, indexed once per scan.

Why: whether an unused import is a re-export (``ems.fixes.reexports``) depends on every
other module of the project. Asking the file system per judged file (a walk and a read of
every module) made a cold scan pay it per file and a warm scan re-ask it for every cached
row after any change. An ``ImportIndex`` holds, for one folder tree (the project root):

* every module file (``.py``) with its size and mtime, and which folders are packages;
* per file, its *facts*: the words right before an ``import`` keyword (a superset of the
  last component of every module it imports from: one ``bytes.find`` pass) and, once a
  question needed it, its parsed ``from ... import`` statements;
* per asked module, its *answer*: the names the other modules import from it (``*`` when
  one star-imports it).

An answer only reads the files whose words name the module (or that sit inside it, for a
dots-only relative import). A changed file can only change the answers of the modules its
old or new words name (or that it sits inside): ``refreshed`` re-reads the changed files
and drops exactly those answers, so a warm run after one edit re-asks almost nothing. The
store keeps facts and answers between runs (``ems.store.imports``), keyed by the
``fingerprint`` of the files' stats: equal fingerprints, equal answers.
"""

from __future__ import annotations

import ast
import bisect
import hashlib
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from ems.core.reading import read_regular

Raw = tuple[tuple[int, str, tuple[str, ...]], ...]  # (level, module or "", names) per statement
Stat = tuple[int, int]  # size, mtime_ns
RACY_NS = 2_000_000_000  # a file written this recently may change again unseen: not trusted

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


_BLOCKS = ("body", "orelse", "finalbody", "handlers", "cases")
# Statements that hold no statement list: skipped without reading their fields.
_SIMPLE = frozenset(
    {
        ast.Expr,
        ast.Assign,
        ast.AugAssign,
        ast.AnnAssign,
        ast.Return,
        ast.Pass,
        ast.Break,
        ast.Continue,
        ast.Import,
        ast.Raise,
        ast.Delete,
        ast.Global,
        ast.Nonlocal,
        ast.Assert,
    }
)


def import_froms(data: bytes) -> Raw:
    """``(level, module, names)`` of every ``from ... import`` statement, at any depth (only
    statement lists are walked: an import is a statement); a star import's name is ``*``
    (the module's public names are all imported: ``names_imported_from``). A file that
    does not parse imports nothing."""
    try:
        tree = ast.parse(data)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return ()
    return tree_from_imports(tree)


def tree_from_imports(tree: ast.Module) -> Raw:
    """``import_froms`` of an already parsed module."""
    found: list[ast.ImportFrom] = []
    stack: list[ast.AST] = list(tree.body)
    pop, extend = stack.pop, stack.extend
    while stack:
        node = pop()
        cls = node.__class__
        if cls in _SIMPLE:
            continue
        if cls is ast.ImportFrom:
            found.append(node)  # type: ignore[arg-type]
            continue
        for name in _BLOCKS:
            block = getattr(node, name, None)
            if block:
                extend(block)
    return from_imports(found)


def from_imports(nodes: Iterable[ast.ImportFrom]) -> Raw:
    """``import_froms``' answer from the module's ``from ... import`` statements, all of
    them in any order (a scope model collects them: ``ScopeModel.import_froms``)."""
    found = [(node.level, node.module or "", tuple(alias.name for alias in node.names)) for node in nodes]
    found.sort()
    return tuple(found)


@dataclass(frozen=True)
class Facts:
    """What one file contributes to the index."""

    stat: Stat | None  # the stat the facts were read under; None: read again next time
    words: frozenset[bytes]
    imports: Raw | None = None  # None: not parsed yet (no question needed it)


def _trusted(before: os.stat_result, after: os.stat_result, now_ns: int) -> Stat | None:
    """The stat to record with facts read between ``before`` and ``after``: None when the
    file changed meanwhile or was written too recently to rule out a second, unseen write."""
    if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns):
        return None
    if now_ns - after.st_mtime_ns < RACY_NS or now_ns - after.st_ctime_ns < RACY_NS:
        return None
    return (after.st_size, after.st_mtime_ns)


def read_facts(full: str, parse: bool = False) -> Facts:
    """The facts of the file at ``full`` (its imports too with ``parse``)."""
    data, before = read_regular(full)  # a FIFO named *.py must not block the scan
    if before is None or isinstance(data, str):
        return Facts(None, frozenset(), ())
    try:
        after = os.stat(full)
    except OSError:
        return Facts(None, frozenset(), ())
    import time

    stat = _trusted(before, after, time.time_ns())
    return Facts(stat, words_before_import(data), import_froms(data) if parse else None)


def scanned_facts(
    data: bytes, before: os.stat_result, after: os.stat_result, imports: Raw | None
) -> tuple[Stat, Facts] | None:
    """The facts of a file read elsewhere (a scan's analysis), with the stat they were read
    under: its bytes ``data`` read between the stats ``before`` and ``after``, and its
    imports if the reader had them (``tree_from_imports``; None: parsed here when a
    question needs them). None when the file changed during the read. As ``facts_of``
    does, facts of a file written too recently to trust are used but not kept (stat None)."""
    import time

    read_under = (before.st_size, before.st_mtime_ns)
    if read_under != (after.st_size, after.st_mtime_ns):
        return None
    return read_under, Facts(_trusted(before, after, time.time_ns()), words_before_import(data), imports)


def _module_word(parts: tuple[str, ...]) -> bytes | None:
    """The word a ``from`` import of the module has before ``import`` (its last component);
    None for a name that is not ASCII (``words_before_import`` only sees ASCII words)."""
    last = parts[-1]
    return last.encode() if last.isascii() else None


@dataclass
class ImportIndex:
    """The import facts of the module files under ``root`` (see the module docstring).

    ``files``: each module file's path relative to ``root`` (``os.sep``) and its stat.
    ``packages``: the relative folders holding an ``__init__.py`` ("" is ``root`` itself);
    ``above``: the packages enclosing ``root``, outermost first (when ``root`` is inside one).
    """

    root: str
    files: Mapping[str, Stat]
    packages: frozenset[str]
    above: tuple[str, ...]
    facts: dict[str, Facts] = field(default_factory=dict)
    answers: dict[str, frozenset[str]] = field(default_factory=dict)
    fingerprint: str = ""
    # Loads the facts not in ``facts`` yet (from the store) on first need; None: read files.
    loader: Callable[[], Mapping[str, Facts]] | None = None
    owner: int = field(default_factory=os.getpid)  # the process that built it (not a fork)
    learned: dict[str, frozenset[str]] = field(default_factory=dict)  # answers computed here
    parsed: dict[str, Facts] = field(default_factory=dict)  # facts read or parsed here
    _sorted: list[str] | None = None
    _known: frozenset[str] | None = None
    _by_word: dict[bytes, list[str]] | None = None
    _resolved: dict[str, tuple[tuple[str, frozenset[str]], ...]] = field(default_factory=dict)
    _module: dict[str, tuple[tuple[str, ...], bool] | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.fingerprint:
            self.fingerprint = fingerprint_of(self.root, self.files, self.packages, self.above)

    # --- the question ---

    def answer(self, rel: str) -> frozenset[str]:
        """The names the other module files import from the module at ``rel`` (relative to
        ``root``, need not be one of ``files``)."""
        known = self.answers.get(rel)
        if known is not None:
            return known
        located = self.module_of(rel)
        found: set[str] = set()
        if located is not None and located[0]:
            parts = located[0]
            module = ".".join(parts)
            for candidate in self._candidates(rel, parts, located[1]):
                for source, names in self._resolved_imports(candidate):
                    if source == module:
                        found.update(names)
        result = frozenset(found)
        self.answers[rel] = result
        self.learned[rel] = result
        return result

    def _candidates(self, rel: str, parts: tuple[str, ...], is_package: bool) -> list[str]:
        """The files that can import from the module: those whose words name it, and those
        inside it (only they can write ``from . import x`` of it)."""
        word = _module_word(parts)
        found = set(self._files_with_word(word)) if word is not None else set(self.files)
        inside = _inside(rel, is_package)
        ordered = self._sorted_files()
        at = bisect.bisect_left(ordered, inside)
        while at < len(ordered) and ordered[at].startswith(inside):
            found.add(ordered[at])
            at += 1
        return sorted(found)

    def _sorted_files(self) -> list[str]:
        if self._sorted is None:
            self._sorted = sorted(self.files)
        return self._sorted

    def _files_with_word(self, word: bytes) -> list[str]:
        if self._by_word is None:
            by_word: dict[bytes, list[str]] = {}
            for rel in self.files:
                for each in self.facts_of(rel).words:
                    by_word.setdefault(each, []).append(rel)
            self._by_word = by_word
        return self._by_word.get(word, [])

    # --- facts ---

    def facts_of(self, rel: str, parse: bool = False) -> Facts:
        """The facts of one of ``files`` (read now if not known, parsed too with ``parse``)."""
        if self.loader is not None:
            loaded, self.loader = self.loader(), None
            for key, stored in loaded.items():
                known = self.files.get(key)
                if known is not None and stored.stat == known and key not in self.facts:
                    self.facts[key] = stored
        facts = self.facts.get(rel)
        if facts is None or (parse and facts.imports is None):
            full = os.path.join(self.root, rel)
            if facts is None:
                facts = read_facts(full, parse)
                if facts.stat != self.files.get(rel):  # changed since the scan saw it
                    facts = Facts(None, facts.words, facts.imports)
            else:
                fresh = read_facts(full, True)
                stat = facts.stat if fresh.stat == facts.stat and fresh.words == facts.words else None
                facts = Facts(stat, facts.words, fresh.imports)
            self.facts[rel] = facts
            self.parsed[rel] = facts
        return facts

    def offer(self, rel: str, read_under: Stat, facts: Facts) -> bool:
        """Take ``facts`` of the file at ``rel`` read elsewhere (a scan's analysis of it:
        ``scanned_facts``) if they were read under the stat this index has for it and add
        to what is known; True if taken. Kept as if read here (``parsed``)."""
        if self.files.get(rel) != read_under:
            return False
        known = self.facts.get(rel)
        if known is not None and (known.imports is not None or facts.imports is None):
            return False
        self.facts[rel] = self.parsed[rel] = facts
        return True

    def _resolved_imports(self, rel: str) -> tuple[tuple[str, frozenset[str]], ...]:
        """``(absolute source module, names)`` per ``from`` import of the file, except those
        from the file's own module."""
        known = self._resolved.get(rel)
        if known is not None:
            return known
        imports = self.facts_of(rel, parse=True).imports or ()
        located = self.module_of(rel)
        found: list[tuple[str, frozenset[str]]] = []
        if located is not None:
            parts, is_package = located
            here = ".".join(parts)
            for level, module, names in imports:
                source = _absolute(level, module, list(parts), is_package)
                if source is not None and source != here:
                    found.append((source, frozenset(names)))
        result = tuple(found)
        self._resolved[rel] = result
        return result

    # --- module names ---

    def is_package(self, folder: str) -> bool:
        """Whether the relative ``folder`` holds an ``__init__.py`` (asked of the disk only
        for a folder no module file of the index is in: an asked file outside ``files``)."""
        if folder in self.packages:
            return True
        if folder in self._folders():
            return False
        return os.path.isfile(os.path.join(self.root, folder, "__init__.py"))

    def _folders(self) -> frozenset[str]:
        if self._known is None:
            self._known = frozenset(os.path.dirname(rel) for rel in self.files) | {""}
        return self._known

    def module_of(self, rel: str) -> tuple[tuple[str, ...], bool] | None:
        """(the dotted name's parts, whether it is a package's ``__init__``) of the module
        file at ``rel``; None for a file that is not a module."""
        if rel in self._module:
            return self._module[rel]
        folder, name = os.path.split(rel)
        stem, suffix = os.path.splitext(name)
        located: tuple[tuple[str, ...], bool] | None = None
        if suffix in (".py", ".pyi"):
            is_init = stem == "__init__"
            parts: list[str] = [] if is_init else [stem]
            current = folder
            while self.is_package(current):
                parts.insert(0, os.path.basename(current) if current else os.path.basename(self.root))
                if not current:
                    parts[:0] = self.above
                    break
                current = os.path.dirname(current)
            located = (tuple(parts), is_init)
        self._module[rel] = located
        return located

    # --- after a change ---

    def refreshed(
        self,
        files: Mapping[str, Stat],
        packages: frozenset[str],
        above: tuple[str, ...],
        stats: Mapping[str, Stat | None] | None = None,
        fetch: Callable[[list[str]], Mapping[str, Facts]] | None = None,
    ) -> tuple[ImportIndex, set[str]]:
        """The index of the files as they are now (``files``, ``packages``, ``above``), from
        this one as it was: its answers, and the facts it read (``stats``: the stat each
        file's facts were read under, ``fetch``: those facts, for the files asked; default:
        this index's ``facts``). Changed files are read again, only the answers they can
        change are dropped, and the other facts are taken over when first needed (this
        index's ``loader``). Also returns the files that changed (added, removed, edited)."""
        if stats is None:
            stats = {rel: facts.stat for rel, facts in self.facts.items()}
        if fetch is None:
            fetch = lambda rels: {rel: self.facts[rel] for rel in rels if rel in self.facts}  # noqa: E731
        fresh = ImportIndex(self.root, files, packages, above)
        fresh.loader = self.loader if self.loader is not None else (lambda: dict(self.facts))
        answers = dict(self.answers)
        if packages != self.packages or above != self.above:  # module names moved: ask anew
            answers.clear()
        changed = {rel for rel, stat in files.items() if stat is None or stats.get(rel) != stat}
        changed |= {rel for rel in stats if rel not in files}
        old_facts = fetch(sorted(changed)) if changed else {}
        words: set[bytes] = set()
        touched: list[str] = []
        for rel in sorted(changed):
            old = old_facts.get(rel)
            if rel not in files:  # removed
                answers.pop(rel, None)
                words |= old.words if old is not None else frozenset()
                touched.append(rel)
                if old is None:
                    answers.clear()  # what it imported is unknown: ask anew
                continue
            new = read_facts(os.path.join(self.root, rel), parse=old is not None and old.imports is not None)
            if new.stat != files[rel]:
                new = Facts(None, new.words, new.imports)
            fresh.facts[rel] = new
            fresh.parsed[rel] = new
            if old is not None and old.imports is not None and new.imports == old.imports:
                continue  # the same statements: no answer can change
            words |= new.words | (old.words if old is not None else frozenset())
            touched.append(rel)
        if touched and answers:
            for asked in list(answers):
                located = fresh.module_of(asked)
                if located is None or not located[0]:
                    continue
                word = _module_word(located[0])
                inside = _inside(asked, located[1])
                if word is None or word in words or any(t.startswith(inside) for t in touched):
                    del answers[asked]
        fresh.answers = answers
        return fresh, changed


def _inside(rel: str, is_package: bool) -> str:
    """The prefix of the files inside the module at ``rel`` (a package's own folder)."""
    if is_package:
        return os.path.join(os.path.dirname(rel), "")
    return os.path.join(os.path.splitext(rel)[0], "")


def _absolute(level: int, module: str, parts: list[str], is_package: bool) -> str | None:
    """The module a ``from ... import`` reads from, as an absolute dotted name."""
    if not level:
        return module
    package = parts if is_package else parts[:-1]
    if level - 1 > len(package):
        return None
    anchor = package[: len(package) - (level - 1)]
    return ".".join([*anchor, *([module] if module else [])])


def fingerprint_of(
    root: str, files: Mapping[str, Stat], packages: Iterable[str], above: tuple[str, ...]
) -> str:
    """A digest of everything the answers depend on: which module files there are, their
    stats, and which folders are packages."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(repr((root, above, sorted(packages))).encode("utf-8", "surrogateescape"))
    for rel in sorted(files):
        size, mtime = files[rel]
        digest.update(f"\0{rel}\0{size}\0{mtime}".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def structure(root: str, rels: Iterable[str]) -> tuple[frozenset[str], tuple[str, ...]]:
    """(the relative folders holding an ``__init__.py`` among those of ``rels`` and their
    ancestors, the packages enclosing ``root`` outermost first)."""
    folders: set[str] = set()
    for rel in rels:
        folder = os.path.dirname(rel)
        while folder not in folders:
            folders.add(folder)
            if not folder:
                break
            folder = os.path.dirname(folder)
    folders.add("")
    packages = frozenset(f for f in folders if os.path.isfile(os.path.join(root, f, "__init__.py")))
    above: list[str] = []
    if "" in packages:
        current = os.path.dirname(root)
        while current != os.path.dirname(current) and os.path.isfile(os.path.join(current, "__init__.py")):
            above.insert(0, os.path.basename(current))
            current = os.path.dirname(current)
    return packages, tuple(above)
