"""Configuration: ``[tool.ems]`` in pyproject.toml or the top level of ems.toml.

The nearest configuration file to each analysed file wins (ems.toml before
pyproject.toml in the same folder). Every key and rule code is validated; an error
names the file, the key and the valid choices.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from ems.core.model import Severity

CONFIG_FILES = ("ems.toml", "pyproject.toml")
DEFAULT_EXCLUDE = (
    ".git",
    ".hg",
    ".svn",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "__pycache__",
    "node_modules",
    "build",
    "dist",
    ".ems",
    "site-packages",
)
KNOWN_KEYS = (
    "select",
    "extend-select",
    "ignore",
    "extend-ignore",
    "per-file-ignores",
    "exclude",
    "extend-exclude",
    "force-exclude",
    "severity",
    "fixable",
    "extend-fixable",
    "unfixable",
    "unsafe-fixes",
    "respect-gitignore",
    "ignore-noqa",
    "monitor",  # [tool.ems.monitor]: the process monitor's settings (ems.runtime.settings)
)


class ConfigError(ValueError):
    """A configuration value is wrong. The message says where and what would be right."""


class LazyCodes(Sequence[str]):
    """Rule codes, produced on first use.

    Producing them means importing every rule, and most runs never look: codes are needed
    only to validate a selector (``--select``, ``select = [...]``), which many projects
    never write. A warm ``ems check`` that prints cached results imports no rule.
    """

    def __init__(self, produce: Callable[[], Iterable[str]]) -> None:
        self._produce: Callable[[], Iterable[str]] | None = produce
        self._codes: tuple[str, ...] = ()

    def _all(self) -> tuple[str, ...]:
        if self._produce is not None:
            self._codes, self._produce = tuple(self._produce()), None
        return self._codes

    def __getitem__(self, index: int) -> str:  # type: ignore[override]
        return self._all()[index]

    def __len__(self) -> int:
        return len(self._all())

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __contains__(self, code: object) -> bool:
        return code in self._all()


def _codes(known_codes: Iterable[str]) -> Sequence[str]:
    """``known_codes`` as a sequence, without producing ``LazyCodes`` early."""
    return known_codes if isinstance(known_codes, LazyCodes) else tuple(known_codes)


@dataclass(frozen=True)
class Config:
    select: tuple[str, ...] = ("ALL",)
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: tuple[str, ...] = ()
    # Exclusions apply to files named on the command line too (ruff's setting): pre-commit
    # names every changed file, and an excluded one would otherwise be checked.
    force_exclude: bool = False
    severity: tuple[tuple[str, Severity], ...] = ()
    # Which rules' fixes ``ems fix``, fix-all and quick fixes may apply (ruff's settings of
    # the same names): a team keeps F401 reported but never removed while code is typed.
    fixable: tuple[str, ...] = ("ALL",)
    extend_fixable: tuple[str, ...] = ()
    unfixable: tuple[str, ...] = ()
    unsafe_fixes: bool = False
    respect_gitignore: bool = True
    # Suppression comments (noqa, ems: ignore, ems: skip-file) read as plain comments, as
    # ruff's `--ignore-noqa` does: an audit of what the project's suppressions hide.
    ignore_noqa: bool = False
    root: Path = field(default_factory=Path.cwd)
    source: Path | None = None

    def selected(self, known_codes: Iterable[str], path: str | None = None) -> frozenset[str]:
        """The rule codes enabled for ``path`` (relative to ``root`` or absolute)."""
        codes = tuple(known_codes)
        chosen = {c for c in codes if _matches_any(c, self.select + self.extend_select)}
        chosen -= {c for c in codes if _matches_any(c, self.ignore)}
        if path is not None and self.per_file_ignores:
            rel = self.relative(path)
            for pattern, ignored in self.per_file_ignores:
                if _path_matches(rel, pattern):
                    chosen -= {c for c in codes if _matches_any(c, ignored)}
        return frozenset(chosen)

    def severity_of(self, code: str, default: Severity) -> Severity:
        if not self.severity:
            return default
        return self._severities.get(code, default)

    @functools.cached_property
    def _severities(self) -> dict[str, Severity]:
        """``severity`` as a map, built once per configuration (asked once per finding)."""
        return dict(self.severity)

    def can_fix(self, code: str) -> bool:
        """Whether the settings let ``code``'s fixes be applied (the rule may still have none)."""
        if not self.unfixable and self.fixable == ("ALL",):
            return True  # the default, decided without a lookup: asked once per finding
        decided = self._fix_decisions.get(code)
        if decided is None:
            decided = _matches_any(code, self.fixable + self.extend_fixable) and not _matches_any(
                code, self.unfixable
            )
            self._fix_decisions[code] = decided
        return decided

    @functools.cached_property
    def _fix_decisions(self) -> dict[str, bool]:
        """``can_fix``'s answers, per code, for this configuration."""
        return {}

    def relative(self, path: str | Path) -> str:
        p = Path(path)
        if p.is_absolute():
            try:
                return p.relative_to(self.root).as_posix()
            except ValueError:
                return p.as_posix()
        return PurePosixPath(p.as_posix()).as_posix()

    def is_excluded(self, path: str | Path) -> bool:
        rel = self.relative(path)
        parts = PurePosixPath(rel).parts
        for pattern in self.exclude + self.extend_exclude:
            if _path_matches(rel, pattern) or any(fnmatch.fnmatchcase(part, pattern) for part in parts):
                return True
        return False

    def skips_named(self, path: str | Path) -> bool:
        """Whether a file named explicitly (an argument, ``--stdin-filename``) is left out."""
        return self.force_exclude and self.is_excluded(os.path.abspath(path))

    def fingerprint(self) -> str:
        """A hash of everything that changes results (for caches and the store)."""
        payload: dict[str, object] = {
            "select": self.select,
            "extend_select": self.extend_select,
            "ignore": self.ignore,
            "per_file_ignores": self.per_file_ignores,
            "severity": [(c, s.value) for c, s in self.severity],
        }
        if self.unfixable or self.fixable != ("ALL",):
            # Only when set: a project without these settings keeps its cached results.
            payload["fixable"] = [self.fixable + self.extend_fixable, self.unfixable]
        if self.ignore_noqa:
            payload["ignore_noqa"] = True
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]

    def with_overrides(
        self,
        *,
        select: Iterable[str] | None = None,
        extend_select: Iterable[str] | None = None,
        ignore: Iterable[str] | None = None,
        fixable: Iterable[str] | None = None,
        extend_fixable: Iterable[str] | None = None,
        unfixable: Iterable[str] | None = None,
        unsafe_fixes: bool | None = None,
        force_exclude: bool | None = None,
        exclude: Iterable[str] | None = None,
        extend_exclude: Iterable[str] | None = None,
        respect_gitignore: bool | None = None,
        ignore_noqa: bool | None = None,
    ) -> Config:
        """Command-line and editor settings layered over the file's settings."""
        updated = self
        if select is not None:
            updated = replace(updated, select=tuple(select))
        if extend_select is not None:
            updated = replace(updated, extend_select=updated.extend_select + tuple(extend_select))
        if ignore is not None:
            updated = replace(updated, ignore=updated.ignore + tuple(ignore))
        if fixable is not None:
            updated = replace(updated, fixable=tuple(fixable))
        if extend_fixable is not None:
            updated = replace(updated, extend_fixable=updated.extend_fixable + tuple(extend_fixable))
        if unfixable is not None:
            updated = replace(updated, unfixable=updated.unfixable + tuple(unfixable))
        if unsafe_fixes is not None:
            updated = replace(updated, unsafe_fixes=unsafe_fixes)
        if force_exclude is not None:
            updated = replace(updated, force_exclude=force_exclude)
        if exclude is not None:
            updated = replace(updated, exclude=tuple(exclude))
        if extend_exclude is not None:
            updated = replace(updated, extend_exclude=updated.extend_exclude + tuple(extend_exclude))
        if respect_gitignore is not None:
            updated = replace(updated, respect_gitignore=respect_gitignore)
        if ignore_noqa is not None:
            updated = replace(updated, ignore_noqa=ignore_noqa)
        return updated


def _matches_any(code: str, selectors: Iterable[str]) -> bool:
    return any(sel == "ALL" or code.startswith(sel) for sel in selectors)


def _path_matches(rel: str, pattern: str) -> bool:
    pattern = pattern.rstrip("/")
    return (
        fnmatch.fnmatchcase(rel, pattern)
        or fnmatch.fnmatchcase(rel, pattern + "/*")
        or PurePosixPath(rel).match(pattern)
    )


def validate_selectors(values: Iterable[str], known_codes: Iterable[str], where: str) -> tuple[str, ...]:
    known = tuple(known_codes)
    result = []
    for value in values:
        sel = str(value).strip().upper()
        if sel != "ALL" and not any(code.startswith(sel) for code in known):
            raise ConfigError(
                f"{where}: unknown rule code or prefix {value!r}; valid codes: ALL, {', '.join(known)}"
            )
        result.append(sel)
    return tuple(result)


def _string_list(value: object, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: expected a list of strings, got {value!r}")
    return tuple(value)


def _bool(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    return value


def parse_table(
    table: Mapping[str, object], known_codes: Iterable[str], source: Path | None, root: Path
) -> Config:
    """Validate a ``[tool.ems]``-shaped mapping into a ``Config``."""
    known = _codes(known_codes)
    label = str(source) if source else "settings"
    for key in table:
        if key not in KNOWN_KEYS:
            raise ConfigError(f"{label}: unknown key {key!r}; valid keys: {', '.join(KNOWN_KEYS)}")

    def where(key: str) -> str:
        return f"{label}: key {key!r}"

    config = Config(root=root, source=source)
    if "select" in table:
        config = replace(
            config,
            select=validate_selectors(_string_list(table["select"], where("select")), known, where("select")),
        )
    if "extend-select" in table:
        config = replace(
            config,
            extend_select=validate_selectors(
                _string_list(table["extend-select"], where("extend-select")), known, where("extend-select")
            ),
        )
    ignore: tuple[str, ...] = ()
    for key in ("ignore", "extend-ignore"):
        if key in table:
            ignore += validate_selectors(_string_list(table[key], where(key)), known, where(key))
    config = replace(config, ignore=ignore)
    if "per-file-ignores" in table:
        pfi = table["per-file-ignores"]
        if not isinstance(pfi, Mapping):
            raise ConfigError(f"{where('per-file-ignores')}: expected a table of glob = [codes]")
        config = replace(
            config,
            per_file_ignores=tuple(
                (
                    str(glob),
                    validate_selectors(
                        _string_list(codes, where(f"per-file-ignores.{glob}")),
                        known,
                        where(f"per-file-ignores.{glob}"),
                    ),
                )
                for glob, codes in pfi.items()
            ),
        )
    if "exclude" in table:
        config = replace(config, exclude=_string_list(table["exclude"], where("exclude")))
    if "extend-exclude" in table:
        config = replace(
            config, extend_exclude=_string_list(table["extend-exclude"], where("extend-exclude"))
        )
    if "severity" in table:
        sev = table["severity"]
        if not isinstance(sev, Mapping):
            raise ConfigError(f'{where("severity")}: expected a table of CODE = "error|warning|info|hint"')
        pairs = []
        for code, level in sev.items():
            validate_selectors([code], known, where(f"severity.{code}"))
            if code.upper() not in known:
                raise ConfigError(
                    f"{where(f'severity.{code}')}: needs a full rule code; valid codes: {', '.join(known)}"
                )
            try:
                pairs.append((code.upper(), Severity.parse(str(level))))
            except ValueError as exc:
                raise ConfigError(f"{where(f'severity.{code}')}: {exc}") from None
        config = replace(config, severity=tuple(pairs))
    fix_lists = {
        key: validate_selectors(_string_list(table[key], where(key)), known, where(key))
        for key in ("fixable", "extend-fixable", "unfixable")
        if key in table
    }
    if fix_lists:
        config = replace(
            config,
            fixable=fix_lists.get("fixable", config.fixable),
            extend_fixable=fix_lists.get("extend-fixable", config.extend_fixable),
            unfixable=fix_lists.get("unfixable", config.unfixable),
        )
    if "monitor" in table and not isinstance(table["monitor"], Mapping):
        raise ConfigError(f"{where('monitor')}: expected a table ([tool.ems.monitor])")
    if "unsafe-fixes" in table:
        config = replace(config, unsafe_fixes=_bool(table["unsafe-fixes"], where("unsafe-fixes")))
    if "force-exclude" in table:
        config = replace(config, force_exclude=_bool(table["force-exclude"], where("force-exclude")))
    if "respect-gitignore" in table:
        config = replace(
            config, respect_gitignore=_bool(table["respect-gitignore"], where("respect-gitignore"))
        )
    if "ignore-noqa" in table:
        config = replace(config, ignore_noqa=_bool(table["ignore-noqa"], where("ignore-noqa")))
    return config


def inline_settings(text: str, known_codes: Iterable[str]) -> dict[str, object]:
    """ruff's inline ``--config 'KEY = VALUE'``: the ``Config`` fields the TOML text sets,
    validated as a settings file's would be. Each replaces the settings file's value, except
    ``extend-ignore``, returned as ``extend_ignore`` for the caller to add."""
    import tomllib

    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"--config {text!r}: neither a settings file nor a valid `KEY = VALUE` TOML setting ({exc})"
        ) from None
    if "monitor" in table:
        raise ConfigError("--config: the monitor's settings are read from the settings file only")
    try:
        parsed = parse_table(table, known_codes, None, Path.cwd())
    except ConfigError as exc:  # parse_table names no file here: say where the value came from
        raise ConfigError(f"--config: {str(exc).removeprefix('settings: ')}") from None
    fields: dict[str, object] = {}
    for key in table:
        if key == "extend-ignore":
            fields["extend_ignore"] = parsed.ignore
        else:
            name = key.replace("-", "_")
            fields[name] = getattr(parsed, name)
    return fields


def read_config_file(path: Path, known_codes: Iterable[str]) -> Config | None:
    """The config in ``path``, or None for a pyproject.toml without ``[tool.ems]``."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    # A file of blanks and comments (``ems.toml`` marking a project's root, default
    # settings) is the empty table; tomllib, costly at start-up (~26 M instructions), only
    # for a file with settings.
    data: dict[str, Any] = {}
    if not _blank_toml(text):
        import tomllib

        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    if path.name == "pyproject.toml":
        table = data.get("tool", {}).get("ems")
        if table is None:
            return None
        if not isinstance(table, Mapping):
            raise ConfigError(f"{path}: [tool.ems] must be a table")
    else:
        table = data
    return parse_table(table, known_codes, path, path.parent)


def _blank_toml(text: str) -> bool:
    """Whether ``text`` (newlines read as "\n") holds only what TOML skips: blanks, and
    comments without the control characters it forbids in them (tomllib judges the rest)."""
    import re

    forbidden = re.compile("[\x00-\x08\x0a-\x1f\x7f]")
    for line in text.split("\n"):
        content = line.lstrip(" \t")
        if content and (content[0] != "#" or forbidden.search(content) is not None):
            return False
    return True


def find_config_file(start: Path) -> Path | None:
    """The nearest ems.toml, or pyproject.toml with a [tool.ems] table, at or above ``start``."""
    directory = start if start.is_dir() else start.parent
    for folder in (directory, *directory.parents):
        for name in CONFIG_FILES:
            candidate = folder / name
            if candidate.is_file():
                if name == "pyproject.toml" and not _has_ems_table(candidate):
                    continue
                return candidate
    return None


def _has_ems_table(path: Path) -> bool:
    try:
        return "[tool.ems" in path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


class ConfigResolver:
    """Finds and caches the nearest config per folder (one instance per run or server)."""

    def __init__(
        self,
        known_codes: Iterable[str],
        overrides: Mapping[str, object] | None = None,
        explicit: Path | None = None,
        default_root: Path | None = None,
        isolated: bool = False,
        settings: Mapping[str, object] | None = None,
    ) -> None:
        """``isolated``: no settings file is read (ruff's ``--isolated``); every file gets the
        defaults plus ``overrides``, and ``default_root`` is the root. ``settings``: ``Config``
        fields that replace every settings file's (``inline_settings``), under ``overrides``."""
        if isolated and explicit is not None:
            raise ConfigError("a settings file cannot be used in isolation (--config with --isolated)")
        self.known_codes = _codes(known_codes)
        self.overrides = dict(overrides or {})
        self.explicit = explicit
        self.isolated = isolated
        self.settings = dict(settings or {})
        self.default_root = default_root or Path.cwd()
        self._by_file: dict[Path, Config] = {}
        self._by_dir: dict[Path, Path | None] = {}

    def for_path(self, path: Path) -> Config:
        if "\0" in str(path):  # names no file (an editor's odd URI): the defaults apply
            return self._with_overrides(Config(root=self.default_root))
        try:
            resolved = path.resolve()
        except (OSError, RuntimeError):  # a symlink loop: look from where the link itself is
            resolved = Path(os.path.abspath(path))
        return self._in(resolved.parent if not path.is_dir() else resolved)

    def for_folder(self, folder: Path) -> Config:
        """The config of the files directly in ``folder``: what a project's settings hash is
        taken from (recorded with scans and history runs)."""
        try:
            resolved = folder.resolve()
        except (OSError, RuntimeError):
            resolved = Path(os.path.abspath(folder))
        return self._in(resolved)

    def _in(self, directory: Path) -> Config:
        """The config that applies in the (resolved) ``directory``."""
        config_file = None if self.isolated else self.explicit or self._nearest(directory)
        if config_file is None:
            base = Config(root=self.default_root)
        elif config_file in self._by_file:
            base = self._by_file[config_file]
        else:
            base = read_config_file(config_file, self.known_codes) or Config(root=config_file.parent)
            self._by_file[config_file] = base
        return self._with_overrides(base)

    def _with_overrides(self, base: Config) -> Config:
        if self.settings:
            base = replace(base, **self.settings)  # type: ignore[arg-type]
        return base.with_overrides(**self.overrides) if self.overrides else base  # type: ignore[arg-type]

    def _nearest(self, directory: Path) -> Path | None:
        if directory not in self._by_dir:
            self._by_dir[directory] = find_config_file(directory)
        return self._by_dir[directory]

    def invalidate(self) -> None:
        self._by_file.clear()
        self._by_dir.clear()


def effective_settings(
    config: Config, known_codes: Iterable[str], path: Path | None = None
) -> dict[str, object]:
    """What applies to ``path`` (a file, or a folder's files when None), keyed as the
    settings file spells it: how ``ems check --show-settings`` explains a file's findings."""
    return {
        "settings file": str(config.source) if config.source is not None else None,
        "root": str(config.root),
        "select": list(config.select),
        "extend-select": list(config.extend_select),
        "ignore": list(config.ignore),
        "per-file-ignores": {pattern: list(codes) for pattern, codes in config.per_file_ignores},
        "exclude": list(config.exclude),
        "extend-exclude": list(config.extend_exclude),
        "force-exclude": config.force_exclude,
        "severity": {code: level.value for code, level in config.severity},
        "fixable": list(config.fixable),
        "extend-fixable": list(config.extend_fixable),
        "unfixable": list(config.unfixable),
        "unsafe-fixes": config.unsafe_fixes,
        "respect-gitignore": config.respect_gitignore,
        "ignore-noqa": config.ignore_noqa,
        "rules enabled": sorted(config.selected(known_codes, None if path is None else str(path))),
    }
