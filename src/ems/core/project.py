"""Project scans: which files to analyse, and their reports, in a stable order.

File discovery honours ``exclude``/``extend-exclude`` and ``.gitignore``; a path named
explicitly on the command line is always analysed. Special files (FIFOs, devices),
unreadable files and symlink loops become E902 results instead of hanging or crashing.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pathspec

from ems.core.analyse import analyse
from ems.core.config import Config, ConfigResolver
from ems.core.model import Finding, Range, Report, Severity
from ems.core.registry import RuleSet, load_rules

PYTHON_SUFFIXES = (".py", ".pyi")
IO_ERROR_CODE = "E902"
MAX_FILE_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class FileResult:
    path: Path  # as found (absolute or relative to the working directory)
    display: str  # what users see and fingerprints use
    report: Report
    source: bytes | None = None  # the bytes analysed, kept only when asked for


def display_path(path: Path, base: Path | None = None) -> str:
    base = base or Path.cwd()
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):  # a symlink loop: show where the link itself is
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
    return pathspec.PathSpec.from_lines("gitwildmatch", lines)


def discover(paths: Sequence[Path], resolver: ConfigResolver) -> Iterator[Path]:
    """Python files under ``paths``, sorted per folder, without duplicates."""
    seen: set[Path] = set()
    for root in paths:
        if not root.is_dir():
            key = Path(os.path.abspath(root))
            if key not in seen:
                seen.add(key)
                yield root  # named explicitly: always analysed (errors reported later)
            continue
        yield from _walk(root, resolver, seen)


def _walk(root: Path, resolver: ConfigResolver, seen: set[Path]) -> Iterator[Path]:
    specs: list[tuple[Path, pathspec.PathSpec]] = []
    visited_dirs: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        directory = stack.pop()
        try:
            info = directory.stat()
        except OSError:
            continue
        if (info.st_dev, info.st_ino) in visited_dirs:
            continue  # symlink loop
        visited_dirs.add((info.st_dev, info.st_ino))
        config = resolver.for_path(directory / "__probe__.py")
        if config.respect_gitignore:
            spec = _gitignore_spec(directory)
            if spec is not None:
                specs.append((directory, spec))
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            continue
        subdirs = []
        for entry in entries:
            path = Path(entry.path)
            try:
                is_dir = entry.is_dir()
            except OSError:  # a symlink loop: not a folder; a .py name gets its E902 later
                is_dir = False
            if config.is_excluded(path if path.is_absolute() else Path.cwd() / path) or _ignored(path, is_dir, specs, config):
                continue
            if is_dir:
                subdirs.append(path)
            elif entry.name.endswith(PYTHON_SUFFIXES):
                key = Path(os.path.abspath(path))
                if key not in seen:
                    seen.add(key)
                    yield path
        stack.extend(reversed(subdirs))


def _ignored(path: Path, is_dir: bool, specs: list[tuple[Path, pathspec.PathSpec]], config: Config) -> bool:
    if not config.respect_gitignore:
        return False
    for base, spec in specs:
        try:
            rel = path.relative_to(base).as_posix()
        except ValueError:
            continue
        if spec.match_file(rel + "/" if is_dir else rel):
            return True
    return False


def read_source(path: Path) -> bytes | str:
    """The file's bytes, or an error message; never blocks on a FIFO or device."""
    try:
        info = path.stat()
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or exc}"
    if stat.S_ISDIR(info.st_mode):
        return f"{path} is a directory, not a Python file"
    if not stat.S_ISREG(info.st_mode):
        return f"{path} is not a regular file (FIFO, socket or device); skipped"
    if info.st_size > MAX_FILE_BYTES:
        return f"{path} is {info.st_size} bytes, over the {MAX_FILE_BYTES}-byte limit; skipped"
    try:
        return path.read_bytes()
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or exc}"


def io_error_report(display: str, message: str) -> Report:
    finding = Finding(
        code=IO_ERROR_CODE,
        name="io-error",
        severity=Severity.ERROR,
        range=Range.of(1, 0, 1, 0),
        message=message,
        path=display,
    )
    return Report(display, (finding,), syntax_error=True)


def analyse_path(path: Path, config: Config, ruleset: RuleSet, display: str, keep_source: bool = False) -> FileResult:
    data = read_source(path)
    if isinstance(data, str):
        return FileResult(path, display, io_error_report(display, data))
    report = analyse(data, display, config, ruleset)
    return FileResult(path, display, report, data if keep_source else None)


def scan(
    paths: Sequence[Path],
    resolver: ConfigResolver,
    *,
    ruleset: RuleSet | None = None,
    jobs: int | None = None,
    use_cache: bool = True,
    keep_source: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[FileResult]:
    """Analyse every file under ``paths``; results come in discovery (file) order."""
    ruleset = ruleset or load_rules()
    files = list(discover(paths, resolver))
    total = len(files)
    for done, path in enumerate(files, 1):
        config = resolver.for_path(path)
        yield analyse_path(path, config, ruleset, display_path(path), keep_source)
        if progress:
            progress(done, total)


def iter_findings(results: Iterable[FileResult]) -> Iterator[Finding]:
    for result in results:
        yield from result.report.findings
