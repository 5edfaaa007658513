"""Editor settings (the ``ems`` section) and how they combine with project config files.

Settings arrive three ways: ``initializationOptions`` (at start), ``workspace/configuration``
(pulled per workspace folder when the client supports it) and
``workspace/didChangeConfiguration`` (pushed). All three go through ``parse_settings``, which
never raises: a bad value is replaced by its default and reported back as a warning, so a
typo in an editor's settings cannot stop diagnostics.

``configurationPreference`` decides who wins for rule selection:

* ``editorFirst`` (default): the editor's ``select``/``ignore`` are layered over the nearest
  ``ems.toml``/``pyproject.toml`` (like command-line flags).
* ``filesystemFirst``: a file with a config file uses only that; editor settings apply to
  files that have none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from ems.core.config import Config, ConfigError, ConfigResolver, validate_selectors

RUN_ON_TYPE = "onType"
RUN_ON_SAVE = "onSave"
EDITOR_FIRST = "editorFirst"
FILESYSTEM_FIRST = "filesystemFirst"
DEFAULT_DEBOUNCE_MS = 150
MAX_DEBOUNCE_MS = 10_000
DEFAULT_FIX_IDLE_MS = 500  # unchanged this long, a document's fixes are judged ahead
MAX_FIX_IDLE_MS = 600_000


@dataclass(frozen=True)
class Settings:
    select: tuple[str, ...] | None = None  # None: whatever the config file says
    ignore: tuple[str, ...] = ()
    run: str = RUN_ON_TYPE
    debounce_ms: int = DEFAULT_DEBOUNCE_MS
    fix_idle_ms: int = DEFAULT_FIX_IDLE_MS
    unsafe_fixes: bool | None = None  # None: whatever the config file says
    configuration_preference: str = EDITOR_FIRST
    coverage_hints: bool = False  # uncovered lines of the latest `ems test` run as hints
    warnings: tuple[str, ...] = field(default=(), compare=False)


def _section(raw: object) -> Mapping[str, object]:
    """Accept ``{...}``, ``{"ems": {...}}`` or ``{"settings": {...}}`` (clients differ)."""
    if not isinstance(raw, Mapping):
        return {}
    for key in ("ems", "settings"):
        inner = raw.get(key)
        if isinstance(inner, Mapping):
            return inner
    return raw


def parse_settings(raw: object, known_codes: tuple[str, ...], base: Settings | None = None) -> Settings:
    """Validate a settings object over ``base``; unknown keys are ignored, bad values warned."""
    data = _section(raw)
    settings = base or Settings()
    warnings: list[str] = []

    def codes(key: str) -> tuple[str, ...] | None:
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            warnings.append(f"setting ems.{key}: expected a list of rule codes, got {value!r}")
            return None
        good: list[str] = []
        for item in value:
            try:
                good.extend(validate_selectors([item], known_codes, f"setting ems.{key}"))
            except ConfigError as exc:
                warnings.append(str(exc))
        return tuple(good)

    select = codes("select")
    if select is not None:
        settings = replace(settings, select=select or None)
    ignore = codes("ignore")
    if ignore is not None:
        settings = replace(settings, ignore=ignore)
    if "run" in data:
        if data["run"] in (RUN_ON_TYPE, RUN_ON_SAVE):
            settings = replace(settings, run=str(data["run"]))
        else:
            warnings.append(f"setting ems.run: expected 'onType' or 'onSave', got {data['run']!r}")
    if "debounceMs" in data:
        value = data["debounceMs"]
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_DEBOUNCE_MS:
            settings = replace(settings, debounce_ms=value)
        else:
            warnings.append(
                f"setting ems.debounceMs: expected an integer 0..{MAX_DEBOUNCE_MS}, got {value!r}"
            )
    if "fixIdleMs" in data:
        value = data["fixIdleMs"]
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_FIX_IDLE_MS:
            settings = replace(settings, fix_idle_ms=value)
        else:
            warnings.append(f"setting ems.fixIdleMs: expected an integer 0..{MAX_FIX_IDLE_MS}, got {value!r}")
    if "unsafeFixes" in data:
        if isinstance(data["unsafeFixes"], bool):
            settings = replace(settings, unsafe_fixes=data["unsafeFixes"])
        elif data["unsafeFixes"] is not None:
            warnings.append(f"setting ems.unsafeFixes: expected true or false, got {data['unsafeFixes']!r}")
    if "configurationPreference" in data:
        value = data["configurationPreference"]
        if value in (EDITOR_FIRST, FILESYSTEM_FIRST):
            settings = replace(settings, configuration_preference=str(value))
        else:
            warnings.append(
                f"setting ems.configurationPreference: expected 'editorFirst' or 'filesystemFirst', got {value!r}"
            )
    if "coverageHints" in data:
        if isinstance(data["coverageHints"], bool):
            settings = replace(settings, coverage_hints=data["coverageHints"])
        else:
            warnings.append(
                f"setting ems.coverageHints: expected true or false, got {data['coverageHints']!r}"
            )
    return replace(settings, warnings=tuple(warnings))


class FolderConfigs:
    """One ``ConfigResolver`` per workspace folder; each file gets its nearest config."""

    def __init__(self, known_codes: tuple[str, ...]) -> None:
        self.known_codes = known_codes
        self.folders: list[Path] = []
        self._resolvers: dict[Path | None, ConfigResolver] = {}
        # ``Config.is_excluded`` per file and exclusion settings: asked on every keystroke.
        self._excluded: dict[tuple[Path, Path, tuple[str, ...]], bool] = {}

    def set_folders(self, folders: list[Path]) -> None:
        # Longest first, so a nested folder wins over its parent.
        self.folders = sorted({f.resolve() for f in folders}, key=lambda p: len(p.parts), reverse=True)
        self._resolvers.clear()

    def folder_of(self, path: Path) -> Path | None:
        try:
            resolved = path.resolve()
        except (OSError, ValueError, RuntimeError):  # a NUL byte or a symlink loop in the URI
            return None
        for folder in self.folders:
            if resolved == folder or folder in resolved.parents:
                return folder
        return None

    def resolver(self, folder: Path | None) -> ConfigResolver:
        if folder not in self._resolvers:
            self._resolvers[folder] = ConfigResolver(self.known_codes, default_root=folder or Path.cwd())
        return self._resolvers[folder]

    def invalidate(self) -> None:
        for resolver in self._resolvers.values():
            resolver.invalidate()
        self._excluded.clear()

    def config_for(self, path: Path, settings: Settings) -> Config:
        """The file's config with the editor settings layered as the preference says.

        Raises ``ConfigError`` when the nearest config file is invalid.
        """
        folder = self.folder_of(path)
        base = self.resolver(folder).for_path(path)
        if folder is None and base.source is None:
            base = replace(base, root=path.parent)
        config = self._layered(base, settings)
        key = (path, config.root, config.exclude + config.extend_exclude)
        excluded = self._excluded.get(key)
        if excluded is None:
            excluded = self._excluded[key] = config.is_excluded(path)
        if excluded:
            # What ``exclude`` leaves out of a check is not linted in the editor either (as
            # ruff's server does): a vendored or generated file opened, a library's source
            # reached by go-to-definition. No rule runs on it.
            return replace(config, select=(), extend_select=())
        return config

    def config_in(self, directory: Path, settings: Settings) -> Config:
        """``config_for`` of the files directly in ``directory``."""
        folder = self.folder_of(directory)
        base = self.resolver(folder).for_folder(directory)
        if folder is None and base.source is None:
            base = replace(base, root=directory)
        return self._layered(base, settings)

    @staticmethod
    def _layered(base: Config, settings: Settings) -> Config:
        if settings.configuration_preference == FILESYSTEM_FIRST and base.source is not None:
            return base
        return base.with_overrides(
            select=settings.select,
            ignore=settings.ignore or None,
            unsafe_fixes=settings.unsafe_fixes,
        )
