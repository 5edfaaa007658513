"""Which files a project scan analyses, and how each is shown.

Discovery honours ``exclude``/``extend-exclude`` and ``.gitignore``; a path named
explicitly on the command line is always analysed. Symlink loops are walked once.
Display paths are relative to the current folder (as the user typed them) when inside it.
"""

from __future__ import annotations

import fnmatch
import functools
import os
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from ems.core.config import CONFIG_FILES, Config, ConfigResolver

if TYPE_CHECKING:
    import pathspec

PYTHON_SUFFIXES = (".py", ".pyi")


def display_path(path: Path, base: Path | None = None) -> str:
    base = base or Path.cwd()
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):  # a dangling link or a loop: show the link itself
        resolved = Path(os.path.abspath(path))
    try:
        return resolved.relative_to(base.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _gitignore_spec(directory: Path) -> pathspec.PathSpec | None:
    ignore_file = directory / ".gitignore"
    try:
        lines = ignore_file.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    import pathspec  # costly at start-up: paid only where a .gitignore exists

    return pathspec.GitIgnoreSpec.from_lines(lines)  # git's own rules, re-inclusion included


def discover(paths: Sequence[Path], resolver: ConfigResolver, info: PathInfo | None = None) -> Iterator[Path]:
    """Python files under ``paths``, sorted per folder, without duplicates.

    ``info``: learns each folder's config and which files are symlinks on the way, so a
    scan does not resolve them a second time.
    """
    seen: set[str] = set()
    for root in paths:
        if not root.is_dir():
            key = os.path.abspath(root)
            if key not in seen:
                seen.add(key)
                if not resolver.for_path(root).skips_named(root):
                    yield root  # named explicitly: analysed (errors reported later)
            continue
        yield from _walk(root, resolver, seen, info)


class _Excluder:
    """``Config.is_excluded`` for the entries of one folder, without per-entry ``Path`` work.

    Discovery calls it for every entry of every folder, and the generic version (a
    ``Path`` and ~50 ``fnmatch`` calls per entry) cost more than a warm cached run's
    whole budget. Same answers: a pattern may match any part of the folder's path
    (checked once per folder), the entry's name, or the whole relative path or it plus
    ``/*``. Literal patterns (all the defaults) are set lookups; patterns with ``*?[``
    are compiled into regular expressions (compiling the defaults cost more than the
    rest of discovery). Patterns with a ``/`` inside, or empty ones, use
    ``Config.is_excluded`` itself.
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        patterns = config.exclude + config.extend_exclude
        stripped = [p.rstrip("/") for p in patterns]
        self.generic = any("/" in p or p in ("", ".") for p in stripped)
        self.root = config.root.as_posix()
        if not self.generic:
            literal = [p for p in patterns if not _GLOB_CHARS.intersection(p)]
            globs = tuple(p for p in patterns if _GLOB_CHARS.intersection(p))
            bare = [p.rstrip("/") for p in literal]
            self.part_names = frozenset(literal)  # a path part never holds a "/"
            self.last_names = frozenset((*literal, *bare))
            self.whole_names = frozenset(bare)  # the path itself, or a folder at its start
            self.part = _union(globs) if globs else None
            self.last = _union((*globs, *(p.rstrip("/") for p in globs))) if globs else None
            self.whole = (
                _union((*(p.rstrip("/") for p in globs), *(p.rstrip("/") + "/*" for p in globs)))
                if globs
                else None
            )

    def folder(self, directory: Path) -> tuple[str, bool]:
        """(the folder's path relative to the root, whether one of its parts is excluded)."""
        absolute = (directory if directory.is_absolute() else Path.cwd() / directory).as_posix()
        if absolute == self.root:
            return "", False
        prefix = self.root.rstrip("/") + "/"
        rel = absolute[len(prefix) :] if absolute.startswith(prefix) else absolute
        if self.generic:
            return rel, False
        parts = PurePosixPath(rel).parts
        hit = not self.part_names.isdisjoint(parts) or (
            self.part is not None and any(self.part.match(part) for part in parts)
        )
        return rel, hit

    def excluded(self, folder: tuple[str, bool], name: str, path: Path) -> bool:
        if self.generic:
            return self.config.is_excluded(path if path.is_absolute() else Path.cwd() / path)
        rel_dir, dir_hit = folder
        if dir_hit or name in self.last_names or (self.last is not None and self.last.match(name)):
            return True
        rel = f"{rel_dir}/{name}" if rel_dir else name
        head, slash, _ = rel.partition("/")
        if rel in self.whole_names or (slash and head in self.whole_names):
            return True
        return self.whole is not None and self.whole.match(rel) is not None


_GLOB_CHARS = frozenset("*?[")


@functools.lru_cache(maxsize=64)
def _union(patterns: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns) or "(?!)")


def _ancestor_gitignores(root: Path) -> list[tuple[Path, pathspec.PathSpec]]:
    """The .gitignore files above ``root`` up to its repository's top, which git applies to
    ``root`` too (``ems check sub/`` must skip what the top-level .gitignore ignores).
    Outside a git repository there are none, and at its top too: an outer repository's
    rules stop at a nested repository (``.ems-demo/`` inside this checkout)."""
    start = Path(os.path.abspath(root))
    if (start / ".git").exists():
        return []
    chain: list[Path] = []
    for folder in start.parents:
        chain.append(folder)
        if (folder / ".git").exists():
            break
    else:
        return []
    specs = []
    for folder in reversed(chain):
        spec = _gitignore_spec(folder)
        if spec is not None:
            specs.append((folder, spec))
    return specs


def _walk(root: Path, resolver: ConfigResolver, seen: set[str], info: PathInfo | None) -> Iterator[Path]:
    specs: list[tuple[Path, pathspec.PathSpec]] = []
    if resolver.for_folder(root).respect_gitignore:
        specs.extend(_ancestor_gitignores(root))
    visited_dirs: set[tuple[int, int]] = set()
    excluders: dict[Config, _Excluder] = {}  # by value: the resolver may build equal copies
    # A plain ConfigResolver gives a folder without a config file of its own (and not a
    # symlink) its parent's config: asking it again resolves the whole path per folder.
    inherit = type(resolver) is ConfigResolver
    inherited: dict[str, Config] = {}  # folder -> config, for subfolders that inherit it
    stack = [root]
    while stack:
        directory = stack.pop()
        where = str(directory)
        try:
            st = os.stat(where)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) in visited_dirs:
            continue  # symlink loop
        visited_dirs.add((st.st_dev, st.st_ino))
        try:
            entries = sorted(os.scandir(where), key=lambda e: e.name)
        except OSError:
            entries = None
        names = {e.name for e in entries} if entries is not None else None
        config = inherited.pop(where, None)
        if config is None or names is None or not names.isdisjoint(CONFIG_FILES):
            config = resolver.for_folder(directory)
        if info is not None:
            info.learn_folder(where, config)
        excluder = excluders.get(config)
        if excluder is None:
            excluder = excluders[config] = _Excluder(config)
        folder = excluder.folder(directory)
        if config.respect_gitignore and (names is None or ".gitignore" in names):
            spec = _gitignore_spec(directory)
            if spec is not None:
                specs.append((directory, spec))
        if entries is None:
            continue
        subdirs = []
        check_ignored = config.respect_gitignore and bool(specs)
        absolute = os.path.join(os.path.abspath(where), "")  # abspath per folder, not per file
        for entry in entries:
            name = entry.name
            try:
                is_dir = entry.is_dir()
            except OSError:  # a symlink loop: not a folder; a .py name gets its E902 later
                is_dir = False
            if not is_dir and not name.endswith(PYTHON_SUFFIXES):
                continue  # neither a folder nor a Python file: exclusion cannot matter
            path = _child(directory, name) if _child is not None else Path(entry.path)
            if excluder.excluded(folder, name, path) or (
                check_ignored and _ignored(path, is_dir, specs, config)
            ):
                continue
            if is_dir:
                subdirs.append(path)
                if inherit and not _is_link(entry):
                    inherited[str(path)] = config
            else:
                key = absolute + name
                if key not in seen:
                    seen.add(key)
                    if info is not None:
                        info.learn_file(str(path), _is_link(entry))
                    yield path
        stack.extend(reversed(subdirs))


def _child_without_parsing() -> Callable[[Path, str], Path] | None:
    """``Path._make_child_relpath`` (3.11, 3.12), if it gives what ``Path(folder/name)`` does.

    ``Path(entry.path)`` parses the whole path again for each of the ~2,000 files of a
    scan, a tenth of discovery; the private helper appends the name to the parsed parts.
    Checked once here; without it (other versions) discovery uses ``Path``.
    """
    child = getattr(Path, "_make_child_relpath", None)
    if child is None:
        return None
    try:
        cases = (
            (Path("."), "a.py", "a.py"),
            (Path("src/pkg"), "m.py", "src/pkg/m.py"),
            (Path("/r"), "x", "/r/x"),
        )
        if all(
            child(folder, name) == Path(want) and str(child(folder, name)) == want
            for folder, name, want in cases
        ):
            return child
    except Exception:  # a changed private API: use the public one
        return None
    return None


_child = _child_without_parsing() if os.sep == "/" else None


def _is_link(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_symlink()
    except OSError:
        return True  # unknown: the slow, careful path


def _ignored(path: Path, is_dir: bool, specs: list[tuple[Path, pathspec.PathSpec]], config: Config) -> bool:
    if not config.respect_gitignore:
        return False
    absolute: Path | None = None
    for base, spec in specs:
        try:
            rel = path.relative_to(base).as_posix()
        except ValueError:
            if absolute is None:
                absolute = Path(os.path.abspath(path))
            try:  # ancestor .gitignore files are keyed by absolute folders
                rel = absolute.relative_to(base).as_posix()
            except ValueError:
                continue
        if spec.match_file(rel + "/" if is_dir else rel):
            return True
    return False


class PathInfo:
    """Per-run memo of display paths and configs: both depend mostly on the folder.

    Discovery tells it (``learn_*``) each folder's config and which files are symlinks,
    so a warm run neither resolves a folder twice nor ``lstat``s every file again.
    """

    def __init__(self, resolver: ConfigResolver) -> None:
        self.resolver = resolver
        self.cwd = Path.cwd().resolve()
        cwd = str(self.cwd)
        self._cwd_prefix = cwd if cwd.endswith(os.sep) else cwd + os.sep
        self._prefixes: dict[str, str | None] = {}  # folder as given -> display prefix
        self._configs: dict[str, Config] = {}
        self._links: dict[str, bool] = {}

    def learn_folder(self, folder: str, config: Config) -> None:
        self._configs.setdefault(folder, config)

    def learn_file(self, path: str, is_link: bool) -> None:
        self._links[path] = is_link

    def _is_link(self, path: str) -> bool:
        known = self._links.get(path)
        return os.path.islink(path) if known is None else known

    def display(self, path: Path, text: str | None = None) -> str:
        """What users see for ``path``; ``text``: ``str(path)``, if the caller has it."""
        text = str(path) if text is None else text
        if self._is_link(text):
            return display_path(path, self.cwd)
        if os.sep != "/":  # the string shortcut below assumes POSIX paths
            try:
                return (path.parent.resolve() / path.name).relative_to(self.cwd).as_posix()
            except ValueError:
                return path.as_posix()
        head, name = os.path.split(text)
        prefix = self._prefixes.get(head, "")
        if prefix == "":
            # The folder resolved, relative to the cwd: what Path.relative_to gives, in strings.
            resolved = os.path.realpath(head or os.curdir)
            if resolved == str(self.cwd):
                prefix = "."
            elif resolved.startswith(self._cwd_prefix):
                prefix = resolved[len(self._cwd_prefix) :] + "/"
            else:
                prefix = None
            self._prefixes[head] = prefix
        if prefix is None:
            return path.as_posix()
        return name if prefix == "." else prefix + name

    def config(self, path: Path, text: str | None = None) -> Config:
        text = str(path) if text is None else text
        if self.resolver.explicit is None and self._is_link(text):
            return self.resolver.for_path(path)
        parent = os.path.dirname(text) or os.curdir  # the keys of learn_folder: str(folder)
        config = self._configs.get(parent)
        if config is None:
            config = self._configs[parent] = self.resolver.for_path(path)
        return config
